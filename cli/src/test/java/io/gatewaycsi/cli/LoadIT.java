package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Load on the real processes and the real gateway: CreateVolume/DeleteVolume pairs at 32 concurrent callers
 * against an unprivileged controller, and NodePublishVolume/NodeUnpublishVolume pairs at 64 concurrent callers
 * on volumes staged through the mount helper ({@link Reliability}: 100 and 200 pairs in the quick form, 1,000
 * and 2,000 in the full one). Every call must succeed (ABORTED is allowed only where two calls name the same
 * volume at once: a separate phase sends true duplicates), memory must be flat (heap after a full GC and RSS,
 * measured before and after, after a warm-up), and the final state exact: no directory, record or mount left.
 */
@ExtendWith(TestGateway.class)
class LoadIT {

    private static final int NOBODY = 65534;
    /** Allowed growth of the heap after a full GC over the run (the measure of a leak). */
    private static final long HEAP_TOLERANCE = 8L << 20;
    /** Allowed growth of the resident set (code cache, metaspace and malloc arenas settle after warm-up). */
    private static final long RSS_TOLERANCE = 48L << 20;

    @TempDir
    Path dir;

    private final TestGateway gateway = TestGateway.get();
    private final String area = "load-" + UUID.randomUUID().toString().substring(0, 8);

    @Test
    void createDeletePairsAtThirtyTwoCallersLeaveNothingAndKeepMemoryFlat() throws Exception {
        int pairs = Reliability.pick(100, 1000);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = dir.resolve("controller.sock");
        try (DriverProcess controller = DriverProcess.start(socket, dir.resolve("controller.log"), NOBODY,
                "controller", "--endpoint", "unix://" + socket)) {
            assertThat(controller.status("Uid")).startsWith(NOBODY + "\t");
            ManagedChannel channel = controller.channel();
            try {
                Runner runner = new Runner(32);
                runner.run(32, i -> pair(channel, "warm-" + i));
                JvmMemory before = JvmMemory.of(controller.pid(), NOBODY);
                long started = System.nanoTime();
                Runner load = new Runner(32);
                load.run(pairs, i -> pair(channel, "pvc-" + i));
                Duration took = Duration.ofNanos(System.nanoTime() - started);
                // True duplicates: the same CreateVolume (then DeleteVolume) twice at once may answer ABORTED.
                Runner duplicates = new Runner(32);
                duplicates.run(32, i -> duplicate(channel, "dup-" + (i / 2)));
                JvmMemory after = JvmMemory.of(controller.pid(), NOBODY);

                assertThat(load.errors).as("errors under load").isEmpty();
                assertThat(runner.errors).as("errors in the warm-up").isEmpty();
                assertThat(duplicates.errors).as("duplicates answer OK or ABORTED").isEmpty();
                // the area is a parent the driver made for the volumes: removed with the last one
                if (Files.exists(gateway.local("/" + area))) {
                    try (var left = Files.list(gateway.local("/" + area))) {
                        assertThat(left.toList()).as("no volume directory left").isEmpty();
                    }
                }
                for (String name : names(pairs)) {
                    Path record = gateway.local("/.gateway-csi/volumes/" + VolumeId.digestOf(area + "/" + name));
                    assertThat(record).as("no record left").doesNotExist();
                    assertThat(Path.of(record + ".tmp")).as("no half-written record left").doesNotExist();
                }
                Reliability.report("load.controller pairs=" + pairs + " callers=32 errors=0 aborted_duplicates="
                        + duplicates.aborted.get() + " seconds=" + took.toSeconds() + " pairs_per_second="
                        + String.format("%.1f", pairs / Math.max(0.001, took.toMillis() / 1000.0))
                        + " max_pair_ms=" + load.maxCallMillis.get() + " start_" + before + " end_" + after
                        + " uid=" + NOBODY);
                assertThat(after.heapAfterGcBytes()).as("heap after GC: " + before + " -> " + after)
                        .isLessThan(before.heapAfterGcBytes() + HEAP_TOLERANCE);
                assertThat(after.rssBytes()).as("RSS: " + before + " -> " + after)
                        .isLessThan(before.rssBytes() + RSS_TOLERANCE);
            } finally {
                channel.shutdownNow();
            }
        }
    }

    private List<String> names(int pairs) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            names.add("pvc-" + i);
        }
        for (int i = 0; i < 32; i++) {
            names.add("warm-" + i);
            names.add("dup-" + i / 2);
        }
        return names;
    }

    private CreateVolumeRequest create(String name) {
        return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(NodeRig.RWX)
                .putAllParameters(new TreeMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                        "subDir", area + "/${pv.metadata.name}", "nfsVersion", "4"))).build();
    }

    private static ControllerGrpc.ControllerBlockingStub controller(ManagedChannel channel) {
        return ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private void pair(ManagedChannel channel, String name) {
        Volume volume = controller(channel).createVolume(create(name)).getVolume();
        controller(channel).deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
    }

    /** One of two callers sending the same CreateVolume and DeleteVolume at the same time. */
    private void duplicate(ManagedChannel channel, String name) {
        Volume volume = null;
        for (int attempt = 0; volume == null; attempt++) {
            try {
                volume = controller(channel).createVolume(create(name)).getVolume();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ABORTED || attempt > 50) {
                    throw e;
                }
                Runner.ABORTED.get().incrementAndGet();
                sleep(20);
            }
        }
        for (int attempt = 0; ; attempt++) {
            try {
                controller(channel).deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                        .build());
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ABORTED || attempt > 50) {
                    throw e;
                }
                Runner.ABORTED.get().incrementAndGet();
                sleep(20);
            }
        }
    }

    @Test
    void publishUnpublishPairsAtSixtyFourCallersLeaveNothingAndKeepMemoryFlat() throws Exception {
        int pairs = Reliability.pick(200, 2000);
        int volumes = 8;
        try (NodeRig rig = new NodeRig(dir.resolve("rig"), gateway)) {
            List<Path> stagings = new ArrayList<>();
            for (int v = 0; v < volumes; v++) {
                Path volume = Files.createDirectories(gateway.local("/" + area + "/vol-" + v));
                Files.writeString(volume.resolve("hello.txt"), "volume " + v);
                Path staging = rig.dir.resolve("staging/vol-" + v);
                rig.stage("load-vol-" + v, staging, rig.context(area + "/vol-" + v));
                stagings.add(staging);
            }
            Path pods = Files.createDirectories(rig.dir.resolve("pods"));
            Runner warm = new Runner(64);
            warm.run(64, i -> publishPair(rig, stagings, pods, "warm-" + i, i % volumes));
            JvmMemory nodeBefore = JvmMemory.of(rig.node().pid(), -1);
            JvmMemory helperBefore = JvmMemory.of(rig.helper().pid(), -1);
            long started = System.nanoTime();
            Runner load = new Runner(64);
            load.run(pairs, i -> publishPair(rig, stagings, pods, "pod-" + i, i % volumes));
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            JvmMemory nodeAfter = JvmMemory.of(rig.node().pid(), -1);
            JvmMemory helperAfter = JvmMemory.of(rig.helper().pid(), -1);

            assertThat(warm.errors).as("errors in the warm-up").isEmpty();
            assertThat(load.errors).as("errors under load").isEmpty();
            assertThat(rig.mountsHere()).as("exactly the staging mounts, once each")
                    .containsExactlyInAnyOrderElementsOf(stagings);
            try (var left = Files.walk(pods)) {
                assertThat(left.filter(p -> p.getFileName().toString().equals("mount")).toList())
                        .as("no target directory left").isEmpty();
            }
            Reliability.report("load.node pairs=" + pairs + " callers=64 volumes=" + volumes + " errors=0 seconds="
                    + took.toSeconds() + " pairs_per_second="
                    + String.format("%.1f", pairs / Math.max(0.001, took.toMillis() / 1000.0)) + " max_pair_ms="
                    + load.maxCallMillis.get() + " node_start_" + nodeBefore + " node_end_" + nodeAfter
                    + " helper_start_" + helperBefore + " helper_end_" + helperAfter);
            for (int v = 0; v < volumes; v++) {
                rig.unstage("load-vol-" + v, stagings.get(v));
            }
            assertThat(rig.mountsHere()).as("no mount left").isEmpty();
            assertThat(rig.helperMounts()).as("the helper serves nothing").isEmpty();
            assertThat(rig.stateRecords()).as("the node records nothing").isEmpty();
            assertThat(rig.strayProcesses()).as("no process left behind").isEmpty();
            assertThat(nodeAfter.heapAfterGcBytes()).as("node heap: " + nodeBefore + " -> " + nodeAfter)
                    .isLessThan(nodeBefore.heapAfterGcBytes() + HEAP_TOLERANCE);
            assertThat(helperAfter.heapAfterGcBytes()).as("helper heap: " + helperBefore + " -> " + helperAfter)
                    .isLessThan(helperBefore.heapAfterGcBytes() + HEAP_TOLERANCE);
            assertThat(nodeAfter.rssBytes()).as("node RSS").isLessThan(nodeBefore.rssBytes() + RSS_TOLERANCE);
            assertThat(helperAfter.rssBytes()).as("helper RSS").isLessThan(helperBefore.rssBytes() + RSS_TOLERANCE);
        } finally {
            for (int v = 0; v < volumes; v++) {
                Path volume = gateway.local("/" + area + "/vol-" + v);
                Files.deleteIfExists(volume.resolve("hello.txt"));
                Files.deleteIfExists(volume);
            }
        }
    }

    private static void publishPair(NodeRig rig, List<Path> stagings, Path pods, String pod, int volume) {
        Path target = pods.resolve(pod).resolve("mount");
        rig.stub().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId("load-vol-" + volume)
                .setStagingTargetPath(stagings.get(volume).toString()).setTargetPath(target.toString())
                .setVolumeCapability(NodeRig.RWX).build());
        try {
            assertThat(Files.readString(target.resolve("hello.txt"))).isEqualTo("volume " + volume);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        rig.stub().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId("load-vol-" + volume)
                .setTargetPath(target.toString()).build());
        try {
            Files.deleteIfExists(pods.resolve(pod));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs numbered tasks on a fixed number of callers, collecting failures and the slowest call. */
    static final class Runner {
        static final ThreadLocal<AtomicLong> ABORTED = new ThreadLocal<>();
        final int callers;
        final ConcurrentMap<Integer, String> errors = new ConcurrentHashMap<>();
        final AtomicLong maxCallMillis = new AtomicLong();
        final AtomicLong aborted = new AtomicLong();

        Runner(int callers) {
            this.callers = callers;
        }

        void run(int tasks, IntConsumer task) throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(callers);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                int index = i;
                futures.add(pool.submit(() -> {
                    start.await();
                    ABORTED.set(aborted);
                    long began = System.nanoTime();
                    try {
                        task.accept(index);
                    } catch (RuntimeException | AssertionError e) {
                        errors.put(index, e.toString());
                    }
                    maxCallMillis.accumulateAndGet((System.nanoTime() - began) / 1_000_000, Math::max);
                    return null;
                }));
            }
            start.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(15, TimeUnit.MINUTES)).as("the load finished in bounded time").isTrue();
            for (Future<?> future : futures) {
                future.get();
            }
        }
    }
}
