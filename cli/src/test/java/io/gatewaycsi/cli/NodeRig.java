package io.gatewaycsi.cli;

import io.gatewaycsi.common.testing.TestCapabilities;
import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.mounthelper.v1.ListRequest;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The node DaemonSet pod as separate processes — a mount helper and a node plugin, the packaged driver
 * started by {@link DriverProcess} — in one directory of their own, with what the reliability tests do to them
 * (kill and restart either) and ask of them (stage, publish, unpublish, unstage with kubelet-style retries),
 * and what they check afterwards: the mount table and the helper's mounts hold exactly what they should.
 * Closing it stops both processes and detaches whatever is still mounted in its directory, also after a
 * failure.
 */
final class NodeRig implements AutoCloseable {

    static final VolumeCapability RWX = TestCapabilities.RWX;
    /** The deadline of one call to the node plugin: generous, but a call that hangs past it fails the test. */
    static final Duration CALL_DEADLINE = Duration.ofSeconds(120);

    final Path dir;
    private final TestGateway gateway;
    private DriverProcess helper;
    private DriverProcess node;
    private ManagedChannel nodeChannel;
    private int starts;

    private final List<String> nodeArgs;

    NodeRig(Path dir, TestGateway gateway) throws Exception {
        this(dir, gateway, new String[0]);
    }

    /** As above, with further flags for the node plugin. */
    NodeRig(Path dir, TestGateway gateway, String... nodeArgs) throws Exception {
        this.dir = Files.createDirectories(dir);
        this.gateway = gateway;
        this.nodeArgs = List.of(nodeArgs);
        helper = startHelper();
        node = startNode();
    }

    Path helperSocket() {
        return dir.resolve("helper.sock");
    }

    Path nodeSocket() {
        return dir.resolve("node.sock");
    }

    Path stateDir() {
        return dir.resolve("state");
    }

    DriverProcess helper() {
        return helper;
    }

    DriverProcess node() {
        return node;
    }

    private DriverProcess startHelper() throws Exception {
        return DriverProcess.start(helperSocket(), dir.resolve("helper-" + (++starts) + ".log"), -1,
                "mount-helper", "--endpoint", "unix://" + helperSocket());
    }

    private DriverProcess startNode() throws Exception {
        List<String> args = new ArrayList<>(List.of("node", "--endpoint", "unix://" + nodeSocket(), "--node-id",
                "reliability-node", "--mount-helper-endpoint", "unix://" + helperSocket(), "--state-dir",
                stateDir().toString(), "--allowed-dir", dir.toString()));
        args.addAll(nodeArgs);
        DriverProcess started = DriverProcess.start(nodeSocket(), dir.resolve("node-" + (++starts) + ".log"), -1,
                args.toArray(String[]::new));
        if (nodeChannel != null) {
            nodeChannel.shutdownNow();
        }
        nodeChannel = started.channel();
        return started;
    }

    /** SIGKILLs the node plugin (its mounts stay: the helper serves them) and waits for it to be gone. */
    void killNode() throws Exception {
        kill(node);
    }

    /** Sends the node plugin SIGKILL without waiting (see {@link #awaitNodeExit}). */
    void sigkillNode() {
        ProcessHandle.of(node.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** Waits for the node plugin's process to be gone. */
    void awaitNodeExit(Duration bound) {
        ProcessHandle.of(node.pid()).ifPresent(h -> h.onExit().orTimeout(bound.toSeconds(), TimeUnit.SECONDS).join());
    }

    void restartNode() throws Exception {
        node.close();
        node = startNode();
    }

    /** SIGKILLs the mount helper (its FUSE mounts die with it: ENOTCONN). */
    void killHelper() throws Exception {
        kill(helper);
    }

    void restartHelper() throws Exception {
        helper.close();
        helper = startHelper();
    }

    private static void kill(DriverProcess process) throws Exception {
        ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
        ProcessHandle.of(process.pid()).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
    }

    /** A stub of the node plugin now running, with {@link #CALL_DEADLINE}. */
    NodeGrpc.NodeBlockingStub stub() {
        return NodeGrpc.newBlockingStub(nodeChannel).withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The volume context of a volume at {@code subDir} of the gateway's share, plus {@code extra}. */
    Map<String, String> context(String subDir, String... extra) {
        Map<String, String> context = new LinkedHashMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                "subDir", subDir, "nfsVersion", "4"));
        for (int i = 0; i < extra.length; i += 2) {
            context.put(extra[i], extra[i + 1]);
        }
        return context;
    }

    NodeStageVolumeRequest stageRequest(String volumeId, Path staging, Map<String, String> context) {
        return NodeStageVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
                .setVolumeCapability(RWX).putAllVolumeContext(context).build();
    }

    NodePublishVolumeRequest publishRequest(String volumeId, Path staging, Path target, boolean readOnly) {
        return NodePublishVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
                .setTargetPath(target.toString()).setVolumeCapability(RWX).setReadonly(readOnly).build();
    }

    void stage(String volumeId, Path staging, Map<String, String> context) throws Exception {
        Files.createDirectories(staging);
        untilOk("NodeStageVolume " + volumeId, Duration.ofSeconds(120),
                n -> n.nodeStageVolume(stageRequest(volumeId, staging, context)));
    }

    void publish(String volumeId, Path staging, Path target) throws Exception {
        untilOk("NodePublishVolume " + target, Duration.ofSeconds(120),
                n -> n.nodePublishVolume(publishRequest(volumeId, staging, target, false)));
    }

    void unpublish(String volumeId, Path target) throws Exception {
        untilOk("NodeUnpublishVolume " + target, Duration.ofSeconds(120), n -> n.nodeUnpublishVolume(
                NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId).setTargetPath(target.toString()).build()));
    }

    void unstage(String volumeId, Path staging) throws Exception {
        untilOk("NodeUnstageVolume " + staging, Duration.ofSeconds(120), n -> n.nodeUnstageVolume(
                NodeUnstageVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
                        .build()));
    }

    /**
     * Repeats {@code call} as kubelet does — after any error, a pause and again — until it succeeds or
     * {@code bound} has passed (then the test fails with every error seen). Every single call must end within
     * {@link #CALL_DEADLINE}. Returns how many attempts it took.
     */
    int untilOk(String what, Duration bound, Function<NodeGrpc.NodeBlockingStub, ?> call) throws Exception {
        Instant end = Instant.now().plus(bound);
        List<String> failures = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            Instant started = Instant.now();
            try {
                call.apply(stub());
                return attempt;
            } catch (StatusRuntimeException e) {
                Duration took = Duration.between(started, Instant.now());
                assertThat(took).as(what + " returned within its deadline").isLessThan(CALL_DEADLINE.plusSeconds(5));
                failures.add(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
                if (Instant.now().isAfter(end)) {
                    throw new AssertionError(what + " did not succeed within " + bound + "; attempts: " + failures);
                }
                Thread.sleep(Math.min(2000, 200L * attempt));
            }
        }
    }

    /** The mounts the helper serves, by staging path. */
    List<MountInfo> helperMounts() {
        ManagedChannel channel = helper.channel();
        try {
            return MountHelperGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .list(ListRequest.getDefaultInstance()).getMountsList();
        } finally {
            channel.shutdownNow();
        }
    }

    /** Mount points in this rig's directory, each as often as it is mounted (stacked mounts count twice). */
    List<Path> mountsHere() throws IOException {
        List<Path> here = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
            String[] fields = line.split(" ");
            Path mountPoint = Path.of(fields[4].replace("\\040", " "));
            if (mountPoint.startsWith(dir)) {
                here.add(mountPoint);
            }
        }
        return here;
    }

    /**
     * Processes other than the node plugin and the mount helper now running whose command line names this
     * rig's directory (a mount command, a workload, an earlier node plugin or helper that did not go away).
     */
    List<String> strayProcesses() throws IOException {
        List<String> stray = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                long pid = Long.parseLong(proc.getFileName().toString());
                if (pid == self || pid == node.pid() || pid == helper.pid()) {
                    continue;
                }
                String cmdline;
                try {
                    cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                } catch (IOException e) {
                    continue; // gone meanwhile
                }
                if (cmdline.contains(dir.toString())) {
                    stray.add(pid + ": " + cmdline.strip());
                }
            }
        }
        return stray;
    }

    /** What the state directory records: one file per staging mount. */
    List<Path> stateRecords() throws IOException {
        if (!Files.isDirectory(stateDir())) {
            return List.of();
        }
        try (var files = Files.list(stateDir())) {
            return files.filter(f -> f.getFileName().toString().endsWith(".properties")).toList();
        }
    }

    /**
     * After a failed test: stops both processes, detaches whatever is mounted in the rig, forgets the node's
     * records, and starts both again, so that the next test starts clean.
     */
    void reset() throws Exception {
        node.close();
        helper.close();
        detachAll(dir);
        for (Path record : stateRecords()) {
            Files.deleteIfExists(record);
        }
        helper = startHelper();
        node = startNode();
    }

    /** Stops both processes and detaches whatever is still mounted below the rig's directory. */
    @Override
    public void close() throws Exception {
        try {
            if (nodeChannel != null) {
                nodeChannel.shutdownNow();
            }
            if (node != null) {
                node.close();
            }
        } finally {
            try {
                if (helper != null) {
                    helper.close();
                }
            } finally {
                detachAll(dir);
            }
        }
    }

    /** Lazily unmounts every mount below {@code dir}, deepest first, until none is left. */
    static void detachAll(Path dir) throws IOException, InterruptedException {
        for (int pass = 0; pass < 32; pass++) {
            List<Path> left = new ArrayList<>();
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                Path mountPoint = Path.of(line.split(" ")[4].replace("\\040", " "));
                if (mountPoint.startsWith(dir)) {
                    left.add(mountPoint);
                }
            }
            if (left.isEmpty()) {
                return;
            }
            left.sort((a, b) -> b.getNameCount() - a.getNameCount());
            for (Path mountPoint : left) {
                new ProcessBuilder("umount", "-l", mountPoint.toString()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Whether {@code path} exists (a symbolic link counts as itself). */
    static boolean exists(Path path) {
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }

    /** The status code a call ends with. */
    static Status.Code codeOf(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }
}
