package io.gatewaycsi.node;

import io.gatewaycsi.common.testing.CheckedCalls;
import io.gatewaycsi.common.testing.TestCapabilities;
import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.CsiServer;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.RpcLogInterceptor;
import io.gatewaycsi.common.testing.LogCapture;
import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.common.testing.ReliabilityTries;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsRequest;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.HealthResponse;
import io.gatewaycsi.mounthelper.v1.ListRequest;
import io.gatewaycsi.mounthelper.v1.ListResponse;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountRequest;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.gatewaycsi.mounthelper.v1.UnmountRequest;
import io.gatewaycsi.mounthelper.v1.UnmountResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Hostile input through the real Node service (gRPC in process) with real mounts: volume IDs, volume
 * contexts, mount flags, staging and target paths (relative, {@code ..}, NUL, over-long, in /proc, outside the
 * allowed directory, through symbolic links planted where a target should be or inside a published volume)
 * and secrets. The kernel mount runs a stand-in for mount(8) that records its argv and fails as this
 * machine's does ("No such device"), so the node falls back to a stand-in mount helper that records what it
 * receives: both are checked for smuggled options and arguments. Requirements: only OK or the spec's codes for
 * a bad request or state (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION), never
 * INTERNAL or UNKNOWN; nothing created or mounted outside the allowed directory; no secret in a log line or
 * an error message. Tries scale with {@link Reliability}.
 */
@AddLifecycleHook(ReliabilityTries.class)
class NodeHostileInputTest {

    static final String SECRET_MARK = "Zq9SECRET";
    private static final Set<Status.Code> ALLOWED = EnumSet.of(Status.Code.OK, Status.Code.INVALID_ARGUMENT,
            Status.Code.NOT_FOUND, Status.Code.ALREADY_EXISTS, Status.Code.ABORTED, Status.Code.FAILED_PRECONDITION);
    private static final Duration CALL_BOUND = Duration.ofSeconds(30);
    /** nfs(5) and mount(8) option names the driver knows (and ro, which read-only adds). */
    private static final Set<String> KNOWN_OPTIONS = Set.of("vers", "nfsvers", "hard", "soft", "softerr", "timeo",
            "retrans", "nconnect", "max_connect", "rsize", "wsize", "actimeo", "acregmin", "acregmax", "acdirmin",
            "acdirmax", "ac", "noac", "cto", "nocto", "lookupcache", "xprtsec", "resvport", "noresvport", "proto",
            "port", "sec", "lock", "nolock", "local_lock", "sharecache", "nosharecache", "fsc", "nofsc", "rw", "ro",
            "atime", "noatime", "relatime", "norelatime", "strictatime", "diratime", "nodiratime", "suid", "nosuid",
            "dev", "nodev", "exec", "noexec", "intr", "nointr", "retry");
    private static final Pattern OPTION = Pattern.compile("[a-z][a-z0-9_]{0,31}(=[A-Za-z0-9._:/+-]{1,256})?");

    static final List<String> CORPUS = List.of("", " ", ".", "..", "../..", "/", "//", "/etc", "/etc/passwd",
            "/proc/self", "/sys/kernel", "/dev/null", "/dev/shm/x", "relative/path", "./x", "a\0b", "\0", "\n", "a b",
            "-o", "--bind", "x,remount", "ro,bind", "nconnect=8,exec", "vers=4 -o exec", "vers=4\n-o", "%", "|", "$(id)",
            "`id`", ";id", "${HOME}", "\u202e", "é", "x".repeat(255), "x".repeat(256), "/" + "y".repeat(4100),
            "/a/".repeat(1100), "0", "-1", "99999999999", "true", "hard", "soft", "auto", "sidecar", "kernel");

    private static Path base;
    private static Path allowed;
    private static Path outside;
    private static Path export;
    private static Path staged;
    private static Path argvFile;
    private static Server server;
    private static ManagedChannel channel;
    private static NodeGrpc.NodeBlockingStub node;
    private static CsiServer fakeHelper;
    private static SidecarBackend sidecar;
    private static final List<MountRequest> helperRequests = new CopyOnWriteArrayList<>();
    private static final CheckedCalls calls = new CheckedCalls(CALL_BOUND);
    private static final AtomicInteger kernelArgvChecked = new AtomicInteger();
    private static final AtomicInteger helperRequestsChecked = new AtomicInteger();
    private static final AtomicInteger serial = new AtomicInteger();
    private static LogCapture logs;
    private static final Mounter mounter = new Mounter(Duration.ofSeconds(5));

    /** Records every Mount; answers OK (nothing is mounted: the node only needs an answer). */
    static final class FakeHelper extends MountHelperGrpc.MountHelperImplBase {
        @Override
        public void mount(MountRequest request, StreamObserver<MountResponse> responses) {
            helperRequests.add(request);
            responses.onNext(MountResponse.getDefaultInstance());
            responses.onCompleted();
        }

        @Override
        public void unmount(UnmountRequest request, StreamObserver<UnmountResponse> responses) {
            responses.onNext(UnmountResponse.getDefaultInstance());
            responses.onCompleted();
        }

        @Override
        public void list(ListRequest request, StreamObserver<ListResponse> responses) {
            responses.onNext(ListResponse.getDefaultInstance());
            responses.onCompleted();
        }

        @Override
        public void health(HealthRequest request, StreamObserver<HealthResponse> responses) {
            responses.onNext(HealthResponse.newBuilder().setReady(true).build());
            responses.onCompleted();
        }
    }

    @BeforeContainer
    static void start() throws IOException {
        base = Files.createTempDirectory("node-hostile-");
        allowed = Files.createDirectories(base.resolve("kubelet"));
        outside = Files.createDirectories(base.resolve("outside"));
        Files.writeString(outside.resolve("keep.txt"), "must survive");
        export = Files.createDirectories(base.resolve("export"));
        staged = Files.createDirectories(allowed.resolve("plugins/staged"));
        argvFile = base.resolve("argv");
        Path fakeMount = base.resolve("fake-mount");
        Files.writeString(fakeMount, "#!/bin/sh\nprintf '%s\\0' \"$@\" > '" + argvFile + "'\n"
                + "echo 'mount.nfs: No such device' >&2\nexit 32\n");
        Files.setPosixFilePermissions(fakeMount, PosixFilePermissions.fromString("rwx------"));
        Endpoint helperEndpoint = Endpoint.parse("unix://" + base.resolve("helper.sock"));
        fakeHelper = CsiServer.start(helperEndpoint, List.of(new FakeHelper()));
        Teardown teardown = new Teardown(mounter);
        sidecar = new SidecarBackend(helperEndpoint, Duration.ofSeconds(10), teardown);
        NodeService service = new NodeService(new NodeConfig("node-hostile", Map.of(), Set.of(), List.of(allowed)),
                new KernelBackend(fakeMount.toString(), Duration.ofSeconds(10), teardown), Optional.of(sidecar),
                mounter, new StagingState(base.resolve("state")));
        String name = "hostile-node-" + UUID.randomUUID();
        logs = new LogCapture();
        server = InProcessServerBuilder.forName(name).addService(service).intercept(new RpcLogInterceptor())
                .build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        node = NodeGrpc.newBlockingStub(channel);
        // A real staging mount for the publish tests: a bind mount of a local directory.
        mounter.bind(export, staged);
        Files.writeString(export.resolve("data.txt"), "volume data");
    }

    @AfterContainer
    static void stop() throws IOException {
        try {
            assertThat(logs.text()).as("no secret in any log line").doesNotContain(SECRET_MARK);
            assertThat(calls.errors()).as("no secret in any error message").noneMatch(e -> e.contains(SECRET_MARK));
            assertThat(Files.readString(outside.resolve("keep.txt"))).isEqualTo("must survive");
            Reliability.report("hostile.node calls=" + calls.count() + " kernel_argv_checked=" + kernelArgvChecked.get()
                    + " helper_requests_checked=" + helperRequestsChecked.get() + " log_lines=" + logs.lines().size()
                    + " secrets_in_logs=0");
        } finally {
            logs.close();
            channel.shutdownNow();
            server.shutdownNow();
            sidecar.close();
            fakeHelper.shutdown(Duration.ZERO);
            detachEverythingUnder(base);
            deleteTree(base);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Generators

    @Provide
    static Arbitrary<String> hostile() {
        return Arbitraries.oneOf(Arbitraries.of(CORPUS), Arbitraries.strings().all().ofMaxLength(40),
                Arbitraries.strings().withChars("./-_,= \0\n:abc").ofMaxLength(30))
                .map(NodeHostileInputTest::wire).filter(s -> !s.contains(SECRET_MARK));
    }

    /**
     * {@code s} as it arrives over a real connection: the in-process transport hands the message over without
     * encoding it, so a string with an unpaired surrogate (which UTF-8 cannot carry; protobuf writes `?`)
     * would reach the service as no real client can send it.
     */
    static String wire(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }

    @Provide
    static Arbitrary<String> volumeId() {
        return Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.strings().alpha().numeric().withChars("-|%.")
                .ofMinLength(1).ofMaxLength(40).map(x -> "vol-" + x)), Tuple.of(1, hostile()));
    }

    /** A path: a fresh one below the allowed directory, one with hostile parts, or anything at all. */
    @Provide
    static Arbitrary<String> path() {
        Arbitrary<String> fresh = Arbitraries.just("").map(x -> allowed.resolve("pods/p" + serial.incrementAndGet()
                + "/mount").toString());
        return Arbitraries.oneOf(fresh, fresh, fresh, fresh, fresh,
                hostile().map(s -> allowed + "/pods/" + s),
                hostile().map(s -> allowed + "/" + s + "/x"),
                hostile().map(s -> allowed + "/../" + s),
                hostile().map(s -> outside + "/" + s),
                hostile());
    }

    /** Values that may well be valid for a key — where a smuggled option or argument would have to hide. */
    static Arbitrary<String> plausible(String key) {
        Arbitrary<String> segment = Arbitraries.strings().withChars("abcXYZ019 ,=-_:$%{}@+é").ofMinLength(1)
                .ofMaxLength(12).filter(x -> !x.equals(".") && !x.equals(".."));
        return switch (key) {
            case "server" -> Arbitraries.of("gateway.test", "10.0.0.2", "fd00::2", "[fd00::2]", "gw-1.example.com",
                    "GW.EXAMPLE.COM");
            case "share" -> segment.list().ofMinSize(0).ofMaxSize(3).map(l -> "/" + String.join("/", l));
            case "subDir" -> segment.list().ofMinSize(1).ofMaxSize(4).map(l -> String.join("/", l));
            case "nfsVersion" -> Arbitraries.of("3", "4", "4.0", "4.1", "4.2");
            case "mountMode" -> Arbitraries.of("hard", "soft", "HARD");
            case "timeo" -> Arbitraries.integers().between(1, 6000).map(String::valueOf);
            case "retrans" -> Arbitraries.integers().between(0, 100).map(String::valueOf);
            case "nconnect" -> Arbitraries.integers().between(1, 16).map(String::valueOf);
            case "rsize", "wsize" -> Arbitraries.integers().between(1, 1024).map(k -> String.valueOf(k * 1024));
            case "readOnlyCache", "encryptInTransit" -> Arbitraries.of("true", "false");
            case "mountBackend" -> Arbitraries.of("auto", "kernel", "sidecar");
            case "mountOptions" -> mountOptions();
            default -> hostile();
        };
    }

    /** Comma-separated nfs(5) options, sometimes with something appended. */
    static Arbitrary<String> mountOptions() {
        Arbitrary<String> option = Arbitraries.oneOf(Arbitraries.of("hard", "soft", "nocto", "noac", "noresvport",
                        "nolock", "noatime", "ro", "rw", "noexec", "nosuid", "nodev", "intr", "fsc"),
                Arbitraries.of("timeo=10", "timeo=600", "retrans=3", "nconnect=8", "port=2049", "actimeo=30",
                        "vers=4.1", "nfsvers=4", "lookupcache=pos", "sec=sys", "proto=tcp", "xprtsec=none",
                        "local_lock=none", "retry=2", "acregmin=1", "rsize=1048576"),
                Arbitraries.of(KNOWN_OPTIONS));
        return Combinators.combine(option.list().ofMinSize(1).ofMaxSize(4), Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just("")), Tuple.of(1, hostile()))).as((list, tail) -> String.join(",", list) + tail);
    }

    @Provide
    static Arbitrary<Map<String, String>> context() {
        Arbitrary<String> key = Arbitraries.oneOf(Arbitraries.of("server", "share", "subDir", "nfsVersion",
                "mountMode", "timeo", "retrans", "nconnect", "rsize", "wsize", "readOnlyCache", "encryptInTransit",
                "mountBackend", "onDelete", "mountPermissions", "mountOptions", "csi.storage.k8s.io/pvc/name",
                "csi.storage.k8s.io/pvc/namespace"), hostile());
        Arbitrary<Map.Entry<String, String>> change = key.flatMap(k -> Arbitraries.frequencyOf(
                Tuple.of(3, plausible(k)), Tuple.of(1, hostile())).map(v -> Map.entry(k, v)));
        return change.list().ofMaxSize(4).map(changes -> {
            Map<String, String> map = new TreeMap<>(Map.of("server", "gateway.test", "share", "/export",
                    "subDir", "vol", "nfsVersion", "4"));
            changes.forEach(e -> map.put(e.getKey(), e.getValue()));
            return map;
        });
    }

    @Provide
    static Arbitrary<VolumeCapability> capability() {
        return Combinators.combine(Arbitraries.of(VolumeCapability.AccessMode.Mode.values())
                        .filter(m -> m != VolumeCapability.AccessMode.Mode.UNRECOGNIZED),
                Arbitraries.frequencyOf(Tuple.of(3, mountOptions()), Tuple.of(1, hostile())).list().ofMaxSize(3),
                Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.just("")), Tuple.of(1, Arbitraries.of("nfs", "nfs4",
                        "ext4"))), Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0)), Tuple.of(1, Arbitraries.just(1)),
                        Tuple.of(8, Arbitraries.integers().between(2, 9))))
                .as((mode, flags, fsType, kind) -> TestCapabilities.ofKind(mode, flags, fsType, kind));
    }

    @Provide
    static Arbitrary<Map<String, String>> secrets() {
        return Combinators.combine(hostile(), Arbitraries.strings().all().ofMaxLength(30))
                .as((k, v) -> Map.entry(k, SECRET_MARK + wire(v))).list().ofMaxSize(3).map(list -> {
                    Map<String, String> map = new LinkedHashMap<>();
                    list.forEach(e -> map.put(e.getKey(), e.getValue()));
                    return map;
                });
    }

    // ---------------------------------------------------------------------------------------------
    // Properties

    /**
     * A NodeStageVolume request: plausible values everywhere (so that many are accepted and reach mount(8) or
     * the mount helper, where a smuggled option or argument would show), one field made hostile in most.
     */
    @Provide
    static Arbitrary<NodeStageVolumeRequest> stageRequest() {
        Arbitrary<VolumeCapability> valid = Combinators.combine(Arbitraries.of(
                        VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER,
                        VolumeCapability.AccessMode.Mode.MULTI_NODE_READER_ONLY,
                        VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER),
                mountOptions().list().ofMaxSize(2), Arbitraries.of("", "nfs", "nfs4"))
                .as((mode, flags, fsType) -> VolumeCapability.newBuilder()
                        .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode))
                        .setMount(VolumeCapability.MountVolume.newBuilder().setFsType(fsType).addAllMountFlags(flags))
                        .build());
        Arbitrary<Map<String, String>> plausibleContext = Arbitraries.of("server", "share", "subDir", "nfsVersion",
                "mountMode", "timeo", "retrans", "nconnect", "rsize", "wsize", "readOnlyCache", "mountBackend",
                "mountOptions").flatMap(k -> plausible(k).map(v -> Map.entry(k, v))).list().ofMaxSize(4)
                .map(changes -> {
                    Map<String, String> map = new TreeMap<>(Map.of("server", "gateway.test", "share", "/export",
                            "subDir", "vol", "nfsVersion", "4"));
                    changes.forEach(e -> map.put(e.getKey(), e.getValue()));
                    return map;
                });
        Arbitrary<NodeStageVolumeRequest.Builder> base = Combinators.combine(volumeId(), valid, plausibleContext)
                .as((id, capability, context) -> NodeStageVolumeRequest.newBuilder().setVolumeId(id)
                        .setStagingTargetPath(allowed.resolve("plugins/s" + serial.incrementAndGet() + "/globalmount")
                                .toString())
                        .setVolumeCapability(capability).putAllVolumeContext(context));
        return Combinators.combine(base, Arbitraries.integers().between(0, 6), hostile(), path(), context(),
                capability(), secrets()).as((b, field, bad, badPath, badContext, badCapability, secrets) -> {
                    switch (field) {
                        case 1 -> b.setVolumeId(bad);
                        case 2 -> b.setStagingTargetPath(badPath);
                        case 3 -> b.clearVolumeContext().putAllVolumeContext(badContext);
                        case 4 -> b.setVolumeCapability(badCapability);
                        case 5 -> b.setVolumeCapability(b.getVolumeCapability().toBuilder().setMount(
                                b.getVolumeCapability().getMount().toBuilder().addMountFlags(bad)));
                        case 6 -> b.putVolumeContext(b.getVolumeContextMap().keySet().stream().skip(
                                Math.abs(bad.hashCode()) % b.getVolumeContextCount()).findFirst().orElseThrow(), bad);
                        default -> { } // no hostile field: all plausible
                    }
                    return b.putAllSecrets(secrets).build();
                });
    }

    @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
    void stageNeverSmugglesAnOptionOrArgumentAndNeverLeavesTheAllowedDirectory(
            @ForAll("stageRequest") NodeStageVolumeRequest request) throws IOException {
        String staging = request.getStagingTargetPath();
        boolean existedBefore = exists(staging);
        helperRequests.clear();
        Files.deleteIfExists(argvFile);
        Status.Code code = call("NodeStageVolume", () -> node.nodeStageVolume(request));
        Path normalized = normalizedOrNull(staging);
        if (Files.exists(argvFile)) {
            checkKernelArgv(normalized);
        }
        for (MountRequest sent : helperRequests) {
            checkHelperRequest(sent, normalized);
        }
        if (code == Status.Code.OK) {
            assertThat(normalized).as("a staging path used lies below the allowed directory").isNotNull();
            assertThat(normalized.startsWith(allowed) && !normalized.equals(allowed)).isTrue();
            assertThat(helperRequests.size() + (Files.exists(argvFile) ? 1 : 0)).as("mounted by someone").isPositive();
            call("NodeUnstageVolume", () -> node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder()
                    .setVolumeId(request.getVolumeId()).setStagingTargetPath(staging).build()));
        } else if (!existedBefore && normalized != null && !normalized.startsWith(allowed)) {
            assertThat(exists(staging)).as("nothing is created outside the allowed directory: " + staging).isFalse();
        }
        checkNothingOutside();
    }

    @Property(tries = 150)
    void publishAndUnpublishNeverMountOrRemoveOutsideTheAllowedDirectory(@ForAll("path") String target,
            @ForAll("hostile") String volumeId, @ForAll("capability") VolumeCapability capability,
            @ForAll("secrets") Map<String, String> secrets, @ForAll boolean readOnly) throws IOException {
        Set<Path> mountsOutsideBefore = mountsOutsideAllowed();
        boolean existedBefore = exists(target);
        boolean hadContent = existedBefore && hasContent(target);
        Status.Code code = call("NodePublishVolume", () -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder()
                .setVolumeId(volumeId.isEmpty() ? "v" : volumeId).setStagingTargetPath(staged.toString())
                .setTargetPath(target).setVolumeCapability(capability).setReadonly(readOnly)
                .putAllSecrets(secrets).build()));
        Path normalized = normalizedOrNull(target);
        if (code == Status.Code.OK) {
            assertThat(normalized.startsWith(allowed) && !normalized.equals(allowed)).isTrue();
            assertThat(MountTable.read().isMountPoint(normalized)).isTrue();
            assertThat(normalized.resolve("data.txt")).hasContent("volume data");
        }
        assertThat(mountsOutsideAllowed()).as("no mount outside the allowed directory").isEqualTo(mountsOutsideBefore);
        Status.Code unpublished = call("NodeUnpublishVolume", () -> node.nodeUnpublishVolume(
                NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId.isEmpty() ? "v" : volumeId)
                        .setTargetPath(target).build()));
        if (code == Status.Code.OK) {
            assertThat(MountTable.read().isMountPoint(normalized)).isFalse();
            if (hadContent) {
                // published over a directory with content: unmounted, but the directory is not removed
                assertThat(unpublished).isEqualTo(Status.Code.FAILED_PRECONDITION);
            } else {
                assertThat(unpublished).isEqualTo(Status.Code.OK);
                assertThat(Files.exists(normalized, LinkOption.NOFOLLOW_LINKS)).isFalse();
            }
        }
        if (existedBefore && normalized != null && !normalized.startsWith(allowed)) {
            assertThat(exists(target)).as("nothing outside the allowed directory is removed: " + target).isTrue();
        }
        call("NodeGetVolumeStats", () -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId("v").setVolumePath(target).build()));
        checkNothingOutside();
    }

    @Example
    void symbolicLinksPlantedOnTheWayAreNeverFollowed() throws IOException {
        Path victim = Files.createDirectories(outside.resolve("victim-" + serial.incrementAndGet()));
        Files.writeString(victim.resolve("keep.txt"), "victim data");
        Path pods = Files.createDirectories(allowed.resolve("pods/sym-" + serial.incrementAndGet()));
        Set<Path> mountsBefore = mountsOutsideAllowed();

        // 1. a link planted where the target path should be
        Path linkTarget = pods.resolve("mount");
        Files.createSymbolicLink(linkTarget, victim);
        assertThat(publish(linkTarget)).isEqualTo(Status.Code.INVALID_ARGUMENT);
        // 2. a link planted on a directory leading to the target
        Path linkDir = pods.resolve("volumes");
        Files.createSymbolicLink(linkDir, victim);
        assertThat(publish(linkDir.resolve("mount"))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(victim.resolve("mount")).doesNotExist();
        // 3. a link a pod planted inside its published volume, used as (a directory on the way to) a target
        Path podVolume = pods.resolve("pod-a/volume");
        String evil = "evil-" + serial.incrementAndGet();
        assertThat(publish(podVolume)).isEqualTo(Status.Code.OK);
        try {
            Files.createSymbolicLink(export.resolve(evil), victim);
            assertThat(Files.isSymbolicLink(podVolume.resolve(evil))).isTrue();
            assertThat(publish(podVolume.resolve(evil))).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(publish(podVolume.resolve(evil + "/x"))).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(victim.resolve("x")).doesNotExist();
        } finally {
            assertThat(unpublish(podVolume)).isEqualTo(Status.Code.OK);
            Files.deleteIfExists(export.resolve(evil));
        }
        // 4. unpublish through a link on the way removes nothing there
        Files.createDirectories(victim.resolve("mount"));
        assertThat(unpublish(linkDir.resolve("mount"))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(victim.resolve("mount")).isDirectory();
        // unpublish of a link at the target removes the link only
        assertThat(unpublish(linkTarget)).isEqualTo(Status.Code.OK);
        assertThat(Files.exists(linkTarget, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(victim.resolve("keep.txt")).hasContent("victim data");
        // 5. a staging path that is a link, or passes through one
        helperRequests.clear();
        Path stagingLink = Files.createSymbolicLink(allowed.resolve("plugins/stage-link-" + serial.incrementAndGet()),
                victim);
        assertThat(stage(stagingLink)).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(stage(stagingLink.resolve("globalmount"))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(helperRequests).as("nothing was asked of the mount helper").isEmpty();
        assertThat(victim.resolve("globalmount")).doesNotExist();
        assertThat(mountsOutsideAllowed()).isEqualTo(mountsBefore);
    }

    @Example
    void pathsOfTheWrongShapeOrPlaceAreInvalidArgumentAndUntouched() throws IOException {
        Path file = Files.writeString(allowed.resolve("a-file-" + serial.incrementAndGet()), "not a directory");
        Path full = Files.createDirectories(allowed.resolve("full-" + serial.get()));
        Files.writeString(full.resolve("content.txt"), "someone's data");
        for (String target : List.of("/", "/proc/self/root", "/sys/fs/x", "/dev/shm/x", allowed.toString(),
                allowed + "/../outside", outside + "/x", "relative/x", allowed + "/a\0b", allowed + "/" + "n".repeat(256),
                allowed + "/" + "d/".repeat(2100) + "x", file.toString(), file + "/below")) {
            assertThat(publish(Path.of("/").resolve(target.replace("\0", "")).toString().equals(target) ? Path.of(target)
                    : null, target)).as(target).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(stage(target)).as(target).isEqualTo(Status.Code.INVALID_ARGUMENT);
        }
        assertThat(file).hasContent("not a directory");
        assertThat(unpublish(full)).as("a non-empty directory that is no mount is not removed")
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(full.resolve("content.txt")).hasContent("someone's data");
        assertThat(call("NodeGetVolumeStats", () -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId("v").setVolumePath("/proc/self").build()))).isEqualTo(Status.Code.NOT_FOUND);
    }

    // ---------------------------------------------------------------------------------------------

    private static Status.Code publish(Path target) {
        return publish(target, target.toString());
    }

    private static Status.Code publish(Path ignored, String target) {
        return call("NodePublishVolume", () -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staged.toString()).setTargetPath(target)
                .setVolumeCapability(TestCapabilities.RWX).build()));
    }

    private static Status.Code unpublish(Path target) {
        return call("NodeUnpublishVolume", () -> node.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder()
                .setVolumeId("v").setTargetPath(target.toString()).build()));
    }

    private static Status.Code stage(Path staging) {
        return stage(staging.toString());
    }

    private static Status.Code stage(String staging) {
        return call("NodeStageVolume", () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("v")
                .setStagingTargetPath(staging).setVolumeCapability(TestCapabilities.RWX).putAllVolumeContext(Map.of("server",
                        "gateway.test", "share", "/export", "subDir", "vol")).build()));
    }


    /** What the stand-in mount(8) received: {@code -t TYPE [-o OPTIONS] SOURCE STAGING}, nothing else. */
    private static void checkKernelArgv(Path staging) throws IOException {
        String raw = Files.readString(argvFile, StandardCharsets.UTF_8);
        List<String> argv = List.of(raw.substring(0, Math.max(0, raw.length() - 1)).split("\0", -1));
        assertThat(argv.size()).as("argv " + argv).isIn(4, 6);
        assertThat(argv.get(0)).isEqualTo("-t");
        assertThat(argv.get(1)).isIn("nfs", "nfs4");
        int next = 2;
        if (argv.size() == 6) {
            assertThat(argv.get(2)).isEqualTo("-o");
            for (String option : argv.get(3).split(",", -1)) {
                assertThat(option).as("option in " + argv).matches(OPTION);
                assertThat(KNOWN_OPTIONS).as("option name in " + argv).contains(option.split("=", 2)[0]);
            }
            next = 4;
        }
        String source = argv.get(next);
        // one argv element whatever it holds (a space in a subDir is a space in a path, not a new argument)
        assertThat(source).as("source").doesNotStartWith("-").contains(":/").doesNotContain("\n", "\t", "\0");
        String sourcePath = source.substring(source.indexOf(":/") + 1);
        assertThat(sourcePath.split("/")).as("source path").doesNotContain("..", ".");
        assertThat(argv.getLast()).as("the staging path, last").isEqualTo(String.valueOf(staging));
        kernelArgvChecked.incrementAndGet();
    }

    /** What the stand-in mount helper received: the staging path asked for, safe fields, plain options. */
    private static void checkHelperRequest(MountRequest request, Path staging) {
        assertThat(request.getStagingPath()).isEqualTo(String.valueOf(staging));
        assertThat(request.getSubDir()).doesNotStartWith("/");
        assertThat(request.getSubDir().split("/")).doesNotContain("..", ".");
        assertThat(request.getShare()).startsWith("/");
        assertThat(request.getShare().split("/")).doesNotContain("..", ".");
        assertThat(request.getServer()).doesNotStartWith("-").matches("[A-Za-z0-9.:\\[\\]%_-]+");
        for (String option : request.getMountOptionsList()) {
            assertThat(option).matches(OPTION);
            assertThat(KNOWN_OPTIONS).contains(option.split("=", 2)[0]);
        }
        helperRequestsChecked.incrementAndGet();
    }

    private static Status.Code call(String method, Runnable body) {
        return calls.call(method, ALLOWED, body);
    }

    private static Path normalizedOrNull(String raw) {
        try {
            return raw.startsWith("/") && raw.indexOf('\0') < 0 ? Path.of(raw).normalize() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static boolean exists(String raw) {
        Path path = normalizedOrNull(raw);
        try {
            return path != null && Files.exists(path, LinkOption.NOFOLLOW_LINKS);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean hasContent(String raw) {
        try (var entries = Files.list(normalizedOrNull(raw))) {
            return entries.findAny().isPresent();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Mount points outside the allowed directory that show this test's export: the only tree the node can mount
     * here (its mount(8) and mount helper are stand-ins that mount nothing), so any such mount is one the node
     * made where it must not. Other mounts are left out: other users of the machine (a cluster, FUSE tests)
     * mount and unmount beside this test.
     */
    private static Set<Path> mountsOutsideAllowed() throws IOException {
        MountTable table = MountTable.read();
        MountEntry stagedMount = table.entries().stream().filter(e -> e.mountPoint().equals(staged)).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("the test's staging bind mount is gone: " + staged));
        return table.entries().stream().filter(e -> e.showsPartOf(stagedMount)).map(MountEntry::mountPoint)
                .filter(p -> !p.startsWith(allowed)).collect(Collectors.toSet());
    }

    private static void checkNothingOutside() throws IOException {
        assertThat(outside.resolve("keep.txt")).hasContent("must survive");
        try (var entries = Files.list(outside)) {
            assertThat(entries.map(p -> p.getFileName().toString()))
                    .as("nothing created in the directory beside the allowed one")
                    .allMatch(n -> n.equals("keep.txt") || n.startsWith("victim-"));
        }
    }

    private static void detachEverythingUnder(Path dir) throws IOException {
        for (int pass = 0; pass < 64; pass++) {
            List<MountEntry> under = MountTable.read().entries().stream()
                    .filter(e -> e.mountPoint().startsWith(dir)).toList();
            if (under.isEmpty()) {
                return;
            }
            for (MountEntry e : under.reversed()) {
                Libc.umount2(e.mountPoint().toString(), Libc.MNT_DETACH);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(walk.toList());
            java.util.Collections.reverse(all);
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        }
    }

    @SuppressWarnings("unused")
    private static void unusedImports(TimeUnit a, UncheckedIOException b) {
    }
}
