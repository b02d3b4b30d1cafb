package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faults under a published target, as a storage system is tested: the node plugin and the mount helper run as
 * separate processes ({@link NodeRig}) against a private gateway ({@code gwrel2}, 10.213.32.0/30) whose link
 * the tests cut ("gateway" end: packets vanish, as in a partition) and which they restart.
 * <ul>
 *   <li>the link cut for 5 s (quick) or 60 s (full) during sequential reads and during fsynced writes, under
 *       {@code hard} and {@code soft} mounts: reads return the right bytes (hard: no error at all; soft: EIO
 *       within timeo × (retrans + 1) while the gateway is away, then the right bytes after a retry), and
 *       nothing fsynced before an error is lost;</li>
 *   <li>the gateway process stopped and started again while a reader and a writer run;</li>
 *   <li>the node plugin SIGKILLed in the middle of NodeStageVolume, NodePublishVolume and NodeUnpublishVolume
 *       (held in flight by a link cut), then started again: kubelet-style retries converge to exactly one
 *       mount where there should be one and none where there should be none;</li>
 *   <li>the mount helper SIGKILLed during fsynced writes, started again and repaired by the node plugin: the
 *       writer continues and nothing fsynced before the kill is lost.</li>
 * </ul>
 * After each, every call returned within a bound, and the rig's mount table, the helper's mounts and the
 * node's state records hold exactly what they should.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultsIT {

    static final String GATEWAY_NAME = "gwrel2";
    static final String GATEWAY_SUBNET = "10.213.32.0/30";
    private static final Duration CUT = Reliability.pick(Duration.ofSeconds(5), Duration.ofSeconds(60));
    private static final long FILE_BYTES = Reliability.pick(24, 64) * (1L << 20);
    /** How long a workload under a link cut takes without faults: it starts before the cut and ends after it. */
    private static final Duration SPAN = CUT.plusSeconds(5);

    @TempDir
    static Path dir;

    private TestGateway gateway;
    private NodeRig rig;
    private final ExecutorService pods = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("pod-", 0)
            .factory());

    @BeforeAll
    void start() throws Exception {
        gateway = TestGateway.startPrivate(GATEWAY_NAME, GATEWAY_SUBNET);
        rig = new NodeRig(dir.resolve("rig"), gateway);
    }

    @AfterAll
    void stop() throws Exception {
        try {
            pods.shutdownNow();
            if (rig != null) {
                rig.close();
            }
        } finally {
            if (gateway != null) {
                gateway.close();
            }
        }
    }

    @AfterEach
    void restoreLinkAndCleanUpAfterAFailure(org.junit.jupiter.api.TestInfo test) throws Exception {
        gateway.restoreLink();
        keepLogs(test.getDisplayName() + "-" + test.getTestMethod().map(m -> m.getName()).orElse(""));
        if (!rig.mountsHere().isEmpty() || !rig.stateRecords().isEmpty()) {
            rig.reset(); // a failed test left something: the next one starts clean
        }
    }

    /** How many repairs the node plugin now running has started (its log's repair events). */
    private int repairs() throws java.io.IOException {
        return rig.node().log().split("event=repair ", -1).length - 1;
    }

    /** Copies the processes' and workloads' logs to cli/target/reliability-logs/TEST for a post-mortem. */
    private void keepLogs(String test) throws java.io.IOException {
        Path into = Files.createDirectories(Path.of(System.getProperty("gatewaycsi.repo"), "cli", "target",
                "reliability-logs", test.replaceAll("[^A-Za-z0-9._-]", "_")));
        for (Path from : new Path[] {rig.dir, dir.resolve("workloads")}) {
            if (!Files.isDirectory(from)) {
                continue;
            }
            try (var files = Files.list(from)) {
                for (Path log : files.filter(f -> f.toString().endsWith(".log")).toList()) {
                    Files.copy(log, into.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** A fresh volume directory on the gateway with a file of seeded bytes; returns its subDir. */
    private String volumeWithFile(String prefix, long seed) throws Exception {
        String subDir = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        Path volume = Files.createDirectories(gateway.local("/" + subDir));
        Files.setPosixFilePermissions(volume, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        if (seed != 0) {
            Workloads.writeDirectly(volume.resolve("data.bin"), seed, FILE_BYTES);
        }
        return subDir;
    }

    /** Where workload processes keep their progress and results (never on a mount). */
    private Path workloads() throws java.io.IOException {
        return Files.createDirectories(dir.resolve("workloads"));
    }

    private Map<String, String> context(String subDir, String mode) {
        return mode.equals("soft") ? rig.context(subDir, "mountMode", "soft", "timeo", "10", "retrans", "1")
                : rig.context(subDir, "mountMode", "hard", "timeo", "30");
    }

    /** Stages and publishes {@code subDir}; returns the target. */
    private Path publish(String volumeId, String subDir, String mode) throws Exception {
        Path staging = staging(volumeId);
        rig.stage(volumeId, staging, context(subDir, mode));
        Path target = target(volumeId, "pod");
        rig.publish(volumeId, staging, target);
        return target;
    }

    private Path staging(String volumeId) {
        return rig.dir.resolve("staging").resolve(volumeId);
    }

    private Path target(String volumeId, String pod) {
        return rig.dir.resolve("pods").resolve(volumeId + "-" + pod).resolve("mount");
    }

    /** Unpublishes and unstages, then checks that the rig holds no mount, helper mount or record of it. */
    private void teardownAndCheck(String volumeId, Path... targets) throws Exception {
        for (Path target : targets) {
            rig.unpublish(volumeId, target);
            assertThat(NodeRig.exists(target)).as("target removed").isFalse();
        }
        rig.unstage(volumeId, staging(volumeId));
        assertThat(rig.mountsHere()).as("no mount left in the rig").isEmpty();
        assertThat(rig.helperMounts()).as("the helper serves nothing").isEmpty();
        assertThat(rig.stateRecords()).as("the node records nothing").isEmpty();
        assertThat(rig.strayProcesses()).as("no process left behind").isEmpty();
        assertThat(rig.helper().log()).doesNotContain("level=error");
    }

    private void cutFor(Duration duration) throws InterruptedException {
        gateway.cutLink("gateway");
        try {
            Thread.sleep(duration.toMillis());
        } finally {
            gateway.restoreLink();
        }
    }

    @ParameterizedTest(name = "{0} mount")
    @ValueSource(strings = {"hard", "soft"})
    void sequentialReadsThroughALinkCutReturnTheRightBytes(String mode) throws Exception {
        long seed = 11 + mode.length();
        String volumeId = "read-" + mode;
        Path target = publish(volumeId, volumeWithFile("read-" + mode, seed), mode);
        Duration bound = CUT.plusSeconds(180);
        Workloads.Running reading = Workloads.start("read", target.resolve("data.bin"), target.resolve("data.bin"),
                seed, FILE_BYTES, bound, workloads(), SPAN);
        reading.awaitProgress(FILE_BYTES * 3 / 10, Duration.ofSeconds(60));
        int repairsBefore = repairs();
        Instant cutAt = Instant.now();
        cutFor(CUT);
        Workloads.Outcome outcome = reading.await(bound.plusSeconds(30));
        assertThat(repairs()).as("a gateway away is no broken mount: nothing was remounted under the reader")
                .isEqualTo(repairsBefore);
        Duration total = Duration.between(cutAt, Instant.now());

        assertThat(outcome.sha).as("the bytes read").isEqualTo(Workloads.expectedSha(seed, FILE_BYTES));
        if (mode.equals("hard")) {
            assertThat(outcome.errors).as("a hard mount returns no error").isEmpty();
            assertThat(outcome.maxCallMillis).as("no read blocks much past the outage")
                    .isLessThan(CUT.plusSeconds(90).toMillis());
        } else {
            // timeo × (retrans + 1) = 2 s, plus the attempt in flight and a loaded machine
            assertThat(outcome.maxCallMillis).as("a soft mount's read returns within its bound").isLessThan(30_000);
        }
        Reliability.report("fault.link-cut.read mode=" + mode + " cut_s=" + CUT.toSeconds() + " bytes=" + FILE_BYTES
                + " errors_seen=" + outcome.errors.size() + " max_read_call_ms=" + outcome.maxCallMillis
                + " done_s_after_cut=" + total.toSeconds() + " checksum=ok");
        teardownAndCheck(volumeId, target);
    }

    @ParameterizedTest(name = "{0} mount")
    @ValueSource(strings = {"hard", "soft"})
    void fsyncedWritesThroughALinkCutAreNeverLost(String mode) throws Exception {
        long seed = 21 + mode.length();
        String volumeId = "write-" + mode;
        String subDir = volumeWithFile("write-" + mode, 0);
        Path target = publish(volumeId, subDir, mode);
        Duration bound = CUT.plusSeconds(180);
        Workloads.Running writing = Workloads.start("write", target.resolve("ckpt.bin"),
                gateway.local("/" + subDir + "/ckpt.bin"), seed, FILE_BYTES, bound, workloads(), SPAN);
        writing.awaitProgress(FILE_BYTES * 3 / 10, Duration.ofSeconds(60));
        long durableAtCut = writing.progress();
        int repairsBefore = repairs();
        cutFor(CUT);
        Workloads.Outcome outcome = writing.await(bound.plusSeconds(30));
        assertThat(repairs()).as("a gateway away is no broken mount: nothing was remounted under the writer")
                .isEqualTo(repairsBefore);

        assertThat(outcome.sha).as("the checkpoint on the gateway: " + Workloads.difference(
                gateway.local("/" + subDir + "/ckpt.bin"), seed, FILE_BYTES) + "; prefix checks " + outcome.prefixChecks
                + "; errors " + outcome.errors).isEqualTo(Workloads.expectedSha(seed, FILE_BYTES));
        assertThat(Files.size(gateway.local("/" + subDir + "/ckpt.bin"))).isEqualTo(FILE_BYTES);
        assertThat(outcome.prefixChecks).as("data fsynced before an error, checked on the gateway after it")
                .allMatch(check -> check.endsWith(":intact"));
        if (mode.equals("hard")) {
            assertThat(outcome.errors).as("a hard mount returns no error").isEmpty();
            assertThat(outcome.maxCallMillis).isLessThan(CUT.plusSeconds(90).toMillis());
        } else {
            assertThat(outcome.maxCallMillis).as("a soft mount's call returns within its bound").isLessThan(30_000);
        }
        Reliability.report("fault.link-cut.write mode=" + mode + " cut_s=" + CUT.toSeconds() + " bytes=" + FILE_BYTES
                + " fsynced_at_cut=" + durableAtCut + " errors_seen=" + outcome.errors.size() + " prefix_checks="
                + outcome.prefixChecks + " max_call_ms=" + outcome.maxCallMillis + " lost_bytes=0 checksum=ok");
        teardownAndCheck(volumeId, target);
    }

    @Test
    void readsAndWritesContinueThroughAGatewayRestart() throws Exception {
        long readSeed = 31;
        long writeSeed = 32;
        String subDir = volumeWithFile("restart", readSeed);
        String volumeId = "restart";
        Path target = publish(volumeId, subDir, "hard");
        Duration bound = Duration.ofSeconds(240);
        Workloads.Running reading = Workloads.start("read", target.resolve("data.bin"), target.resolve("data.bin"),
                readSeed, FILE_BYTES, bound, workloads(), Duration.ofSeconds(8));
        Workloads.Running writing = Workloads.start("write", target.resolve("ckpt.bin"),
                gateway.local("/" + subDir + "/ckpt.bin"), writeSeed, FILE_BYTES, bound, workloads(),
                Duration.ofSeconds(8));
        writing.awaitProgress(FILE_BYTES / 4, Duration.ofSeconds(60));
        Instant restarted = Instant.now();
        gateway.restart();
        Duration restartTook = Duration.between(restarted, Instant.now());
        Workloads.Outcome readOutcome = reading.await(bound.plusSeconds(30));
        Workloads.Outcome writeOutcome = writing.await(bound.plusSeconds(30));

        assertThat(readOutcome.sha).isEqualTo(Workloads.expectedSha(readSeed, FILE_BYTES));
        assertThat(writeOutcome.sha).isEqualTo(Workloads.expectedSha(writeSeed, FILE_BYTES));
        assertThat(readOutcome.errors).as("hard mount: no read error").isEmpty();
        assertThat(writeOutcome.errors).as("hard mount: no write error").isEmpty();
        Reliability.report("fault.gateway-restart restart_ms=" + restartTook.toMillis() + " read_bytes=" + FILE_BYTES
                + " written_bytes=" + FILE_BYTES + " errors=0 max_read_call_ms=" + readOutcome.maxCallMillis
                + " max_write_call_ms=" + writeOutcome.maxCallMillis + " lost_bytes=0 checksums=ok");
        teardownAndCheck(volumeId, target);
    }

    /** Sends {@code call} from another thread, waits, SIGKILLs the node plugin while it is in flight. */
    private void killNodeDuring(java.util.function.Consumer<NodeGrpc.NodeBlockingStub> call, boolean holdWithLinkCut,
            Duration after) throws Exception {
        NodeGrpc.NodeBlockingStub stub = rig.stub();
        if (holdWithLinkCut) {
            gateway.cutLink("gateway");
        }
        try {
            CompletableFuture<Void> inFlight = CompletableFuture.runAsync(() -> call.accept(stub), pods);
            Thread.sleep(after.toMillis());
            boolean wasInFlight = !inFlight.isDone();
            // SIGKILL now; the process may only go once the link is back: a thread of it blocked in a FUSE call
            // the helper has taken on waits uninterruptibly for the helper's answer, which waits for the gateway.
            rig.sigkillNode();
            Reliability.report("fault.node-kill in_flight=" + wasInFlight + " after_ms=" + after.toMillis()
                    + " held_by_link_cut=" + holdWithLinkCut);
        } finally {
            if (holdWithLinkCut) {
                gateway.restoreLink();
            }
        }
        rig.awaitNodeExit(Duration.ofSeconds(120));
        rig.restartNode();
    }

    @Test
    void aNodePluginKilledInTheMiddleOfStagePublishAndUnpublishConvergesOnRetries() throws Exception {
        int rounds = Reliability.pick(2, 6);
        for (int round = 0; round < rounds; round++) {
            boolean held = round % 2 == 0;
            Duration after = held ? Duration.ofMillis(1500) : Duration.ofMillis(ThreadLocalRandom.current().nextInt(5, 300));
            String subDir = volumeWithFile("kill-" + round, 41 + round);
            String volumeId = "kill-" + round;
            Path staging = staging(volumeId);
            Files.createDirectories(staging);
            Map<String, String> context = context(subDir, "hard");

            // NodeStageVolume
            killNodeDuring(n -> n.nodeStageVolume(rig.stageRequest(volumeId, staging, context)), held, after);
            int stageAttempts = rig.untilOk("NodeStageVolume after a kill", Duration.ofSeconds(120),
                    n -> n.nodeStageVolume(rig.stageRequest(volumeId, staging, context)));
            assertThat(rig.mountsHere()).as("exactly one staging mount").containsExactly(staging);
            List<MountInfo> served = rig.helperMounts();
            assertThat(served).extracting(MountInfo::getStagingPath).containsExactly(staging.toString());
            assertThat(Workloads.sha(staging.resolve("data.bin"), FILE_BYTES))
                    .isEqualTo(Workloads.expectedSha(41 + round, FILE_BYTES));

            // NodePublishVolume
            Path target = target(volumeId, "pod");
            killNodeDuring(n -> n.nodePublishVolume(rig.publishRequest(volumeId, staging, target, false)), held, after);
            int publishAttempts = rig.untilOk("NodePublishVolume after a kill", Duration.ofSeconds(120),
                    n -> n.nodePublishVolume(rig.publishRequest(volumeId, staging, target, false)));
            assertThat(rig.mountsHere()).as("the staging mount and exactly one target mount")
                    .containsExactlyInAnyOrder(staging, target);
            assertThat(Files.size(target.resolve("data.bin"))).isEqualTo(FILE_BYTES);

            // NodeUnpublishVolume
            NodeUnpublishVolumeRequest unpublish = NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId)
                    .setTargetPath(target.toString()).build();
            killNodeDuring(n -> n.nodeUnpublishVolume(unpublish), held, after);
            int unpublishAttempts = rig.untilOk("NodeUnpublishVolume after a kill", Duration.ofSeconds(120),
                    n -> n.nodeUnpublishVolume(unpublish));
            assertThat(NodeRig.exists(target)).as("target removed").isFalse();
            assertThat(rig.mountsHere()).as("only the staging mount").containsExactly(staging);
            assertThat(Workloads.sha(staging.resolve("data.bin"), FILE_BYTES))
                    .isEqualTo(Workloads.expectedSha(41 + round, FILE_BYTES));
            Reliability.report("fault.node-kill round=" + round + " held_by_link_cut=" + held + " attempts_to_converge"
                    + " stage=" + stageAttempts + " publish=" + publishAttempts + " unpublish=" + unpublishAttempts
                    + " mounts=exact");
            teardownAndCheck(volumeId);
        }
    }

    @Test
    void aMountHelperKilledDuringFsyncedWritesLosesNothingFsynced() throws Exception {
        long seed = 51;
        String subDir = volumeWithFile("helper-kill", 0);
        String volumeId = "helper-kill";
        Path target = publish(volumeId, subDir, "hard");
        Duration bound = Duration.ofSeconds(240);
        Workloads.Running writing = Workloads.start("write", target.resolve("ckpt.bin"),
                gateway.local("/" + subDir + "/ckpt.bin"), seed, FILE_BYTES, bound, workloads(), Duration.ofSeconds(8));
        writing.awaitProgress(FILE_BYTES * 2 / 5, Duration.ofSeconds(60));
        long fsyncedAtKill = writing.progress();
        rig.killHelper();
        Thread.sleep(1000);
        Instant restarted = Instant.now();
        rig.restartHelper();
        Workloads.Outcome outcome = writing.await(bound.plusSeconds(30));

        assertThat(outcome.sha).as("the checkpoint on the gateway: " + Workloads.difference(
                gateway.local("/" + subDir + "/ckpt.bin"), seed, FILE_BYTES) + "; prefix checks " + outcome.prefixChecks
                + "; errors " + outcome.errors).isEqualTo(Workloads.expectedSha(seed, FILE_BYTES));
        assertThat(outcome.errors).as("the writer saw the dead mount").isNotEmpty();
        assertThat(outcome.prefixChecks).as("checked after the errors").isNotEmpty()
                .allMatch(check -> check.endsWith(":intact"));
        assertThat(rig.node().log()).contains("event=repaired");
        Reliability.report("fault.helper-kill fsynced_at_kill=" + fsyncedAtKill + " errors_seen=" + outcome.errors.size()
                + " prefix_checks=" + outcome.prefixChecks + " resumed_within_s="
                + Duration.between(restarted, Instant.now()).toSeconds() + " lost_bytes=0 checksum=ok");
        teardownAndCheck(volumeId, target);
    }
}
