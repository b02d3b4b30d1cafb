package io.gatewaycsi.controller;

import io.gatewaycsi.common.testing.CheckedCalls;
import io.gatewaycsi.common.testing.TestCapabilities;
import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.testing.LogCapture;
import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.common.testing.ReliabilityTries;
import io.gatewaycsi.csi.v1.CapacityRange;
import io.gatewaycsi.csi.v1.ControllerExpandVolumeRequest;
import io.gatewaycsi.csi.v1.ControllerGetVolumeRequest;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.CreateVolumeResponse;
import io.gatewaycsi.csi.v1.DeleteSnapshotRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.GetCapacityRequest;
import io.gatewaycsi.csi.v1.GetSnapshotRequest;
import io.gatewaycsi.csi.v1.ListSnapshotsRequest;
import io.gatewaycsi.csi.v1.ValidateVolumeCapabilitiesRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.csi.v1.VolumeContentSource;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Hostile input through the real Controller service (gRPC in process, the real gateway behind it): every
 * field a caller controls — names, volume IDs, snapshot IDs, parameters, capabilities with their mount flags,
 * capacity ranges, content sources, secrets — with generated values (jqwik) and a corpus of hand-written ones.
 * Whatever arrives, the answer is OK or a status the CSI spec names for a bad request (INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, ABORTED for a bad listing token, OUT_OF_RANGE for capacity; FAILED_PRECONDITION for a
 * CreateVolume whose subDir lies inside or around another volume's tree), never INTERNAL or
 * UNKNOWN; UNAVAILABLE only where the request names a gateway that does not answer (the loopback address, or
 * NFSv3, which the test gateway does not serve). Every call returns within its bound; nothing outside the
 * test's area of the share changes (a victim tree beside it, and the driver's own records); a volume that is
 * created lies inside the area; and no secret reaches a log line or an error message.
 *
 * <p>Tries scale with {@link Reliability} ({@link ReliabilityTries}). Servers are only ever the test gateway,
 * the loopback address or strings no resolver accepts, so no test traffic leaves the machine.
 */
@AddLifecycleHook(ReliabilityTries.class)
class ControllerHostileInputTest {

    static final String SECRET_MARK = "Zq9SECRET";
    private static final Duration CALL_BOUND = Duration.ofSeconds(60);
    private static final Set<Status.Code> BAD_REQUEST = EnumSet.of(Status.Code.OK, Status.Code.INVALID_ARGUMENT,
            Status.Code.NOT_FOUND, Status.Code.ALREADY_EXISTS, Status.Code.ABORTED, Status.Code.OUT_OF_RANGE);

    /** Hand-written nasty values, tried in every field. */
    static final List<String> CORPUS = List.of("", " ", ".", "..", "../..", "../../etc", "/", "/etc/passwd", "a/../../b",
            "a//b", "a/./b", "./a", "a/", "\0", "a\0b", "\n", "a\nb", "\r\n", "\t", "${pv.metadata.name}",
            "${pvc.metadata.namespace}/../x", "${env:HOME}", "${", "}", "$(id)", "`id`", ";id", "|id", "-o", "--bind",
            "-oremount", "x,remount", "ro,bind", "nconnect=8,exec", "vers=4 -o exec", "a b", "%", "%7C", "%25",
            "%2e%2e", "%00", "|", "||||||", "gw1|delete|4|127.0.0.1|/export|x", "gs1|4|127.0.0.1|/export|x", "~root",
            "\\..\\..", "C:\\Windows", ".gateway-csi", ".gateway-csi/volumes", "/.gateway-csi", "..%2f..%2f",
            "\u202e", "\uFEFF", "é", "日本語", "x".repeat(255), "x".repeat(256), "x".repeat(4097), "a/".repeat(600),
            "0", "-1", "99999999999999999999", "0777", "07777", "true", "TRUE", "hard", "soft", "delete", "archive",
            // nested subDirs: inside the kept baseline volume, two levels, a namespace-shaped template
            "baseline/inner", "team/pvc", "a/b/c", "${pvc.metadata.namespace}/${pvc.metadata.name}",
            // values with a port, white space or a trailing newline, taken as given
            "10.0.0.2:2049", "[fd00::1]:2049", " 600", "600\n", "/export\n",
            // altered IDs: another onDelete, version or host than the volume was made with
            "gw1|retain|4|localhost|/export|x", "gw1|delete|4.1|[::1]|/export|x", "gs1|4|localhost|/export|x");

    private static TestGateway gateway;
    private static String area;
    private static String baselineId;
    private static Path victim;
    private static Map<String, String> victimBefore;
    private static InProcessController driver;
    private static ControllerGrpc.ControllerBlockingStub controller;
    private static LogCapture logs;
    private static final CheckedCalls calls = new CheckedCalls(CALL_BOUND);

    @BeforeContainer
    static void start() throws IOException {
        gateway = TestGateway.get();
        area = "hostile-" + UUID.randomUUID().toString().substring(0, 8);
        // The area is made by the driver (as the parent of the volumes' subDirs): a directory made by hand
        // would be someone else's, and no volume may be made inside it.
        victim = gateway.local("/" + area + "-victim");
        Files.createDirectories(victim.resolve("team/pvc-v"));
        Files.writeString(victim.resolve("team/pvc-v/model.bin"), "must survive");
        Files.writeString(victim.resolve("top.txt"), "must survive too");
        victimBefore = fingerprint(victim);
        logs = new LogCapture();
        driver = new InProcessController(NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(10)));
        controller = driver.stub;
        // One volume made, so the driver's own directories exist (a fresh gateway has none yet) and every check
        // after a hostile call can require them still there; kept to the end, so the area stays a parent
        // directory of volumes (a hostile subDir naming the area itself must not become a volume).
        baselineId = controller.createVolume(CreateVolumeRequest.newBuilder().setName("baseline")
                .addVolumeCapabilities(TestCapabilities.RWX).putAllParameters(Map.of("server", gateway.server(),
                        "share", gateway.share(), "subDir", area + "/${pv.metadata.name}", "nfsVersion", "4")).build())
                .getVolume().getVolumeId();
    }

    @AfterContainer
    static void stop() throws IOException {
        try {
            assertThat(logs.text()).as("no secret in any log line").doesNotContain(SECRET_MARK);
            assertThat(calls.errors()).as("no secret in any error message").noneMatch(e -> e.contains(SECRET_MARK));
            assertThat(fingerprint(victim)).as("nothing outside the test's area changed").isEqualTo(victimBefore);
            assertThat(gateway.local("/.gateway-csi/volumes")).isDirectory();
            Reliability.report("hostile.controller calls=" + calls.count() + " log_lines=" + logs.lines().size()
                    + " secrets_in_logs=0");
        } finally {
            controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(baselineId).build());
            logs.close();
            driver.close();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Generators

    /** Any string at all, the corpus, path-ish and separator-ish strings; never the secret mark. */
    @Provide
    static Arbitrary<String> hostile() {
        return Arbitraries.oneOf(
                Arbitraries.of(CORPUS),
                Arbitraries.strings().all().ofMaxLength(64),
                Arbitraries.strings().withChars("./-_|%${}\\\0\n ,=:abc").ofMaxLength(40),
                Arbitraries.strings().withChars("ab/.").ofMinLength(1).ofMaxLength(20),
                Arbitraries.strings().alpha().ofMinLength(250).ofMaxLength(300))
                .map(ControllerHostileInputTest::wire).filter(s -> !s.contains(SECRET_MARK));
    }

    /**
     * {@code s} as it arrives over a real connection: the in-process transport hands the message over without
     * encoding it, so a string with an unpaired surrogate (which UTF-8 cannot carry; protobuf writes `?`)
     * would reach the service as no real client can send it.
     */
    static String wire(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }

    /** A server the controller may contact: the gateway, loopback, or something no resolver accepts. */
    static Arbitrary<String> server() {
        return Arbitraries.oneOf(Arbitraries.just(gateway.server()), Arbitraries.just("127.0.0.1"),
                hostile().map(s -> s + "/!"));
    }

    static Arbitrary<String> share() {
        return Arbitraries.oneOf(Arbitraries.just(gateway.share()), Arbitraries.just(gateway.share()),
                hostile(), hostile().map(s -> gateway.share() + "/" + s));
    }

    static Arbitrary<String> subDir() {
        return Arbitraries.oneOf(hostile().map(s -> area + "/" + s), Arbitraries.of(CORPUS).filter(ControllerHostileInputTest::refusedAsSubDir),
                Arbitraries.just(area + "/${pv.metadata.name}"), Arbitraries.just(area + "/${pvc.metadata.name}"));
    }

    /** Corpus values tried as a subDir without the area in front: only those that must be refused. */
    private static boolean refusedAsSubDir(String s) {
        String stripped = s.strip().replaceAll("/+$", "");
        return stripped.isEmpty() || stripped.startsWith("/") || List.of(stripped.split("/", -1)).contains("..")
                || stripped.indexOf('\0') >= 0;
    }

    @Provide
    static Arbitrary<Map<String, String>> parameters() {
        Arbitrary<String> key = Arbitraries.oneOf(Arbitraries.of("server", "share", "subDir", "nfsVersion", "mountMode",
                "timeo", "retrans", "nconnect", "rsize", "wsize", "readOnlyCache", "encryptInTransit", "mountBackend",
                "onDelete", "mountPermissions", "mountOptions", "csi.storage.k8s.io/pvc/name",
                "csi.storage.k8s.io/pvc/namespace", "csi.storage.k8s.io/pv/name"), hostile());
        Arbitrary<Map<String, String>> changes = Combinators.combine(key, hostile()).as(Map::entry)
                .list().ofMaxSize(3).map(list -> {
                    Map<String, String> map = new LinkedHashMap<>();
                    list.forEach(e -> map.put(e.getKey(), e.getValue()));
                    return map;
                });
        return Combinators.combine(server(), share(), subDir(), Arbitraries.of("4", "4.1", "4.2", "3"), changes)
                .as((server, share, subDir, version, more) -> {
                    Map<String, String> map = new TreeMap<>(Map.of("server", server, "share", share, "subDir", subDir,
                            "nfsVersion", version));
                    // a generated server is made unresolvable: no test traffic may leave the machine
                    more.forEach((k, v) -> map.put(k, k.equals("subDir") ? area + "/" + v
                            : k.equals("server") ? v + "/!" : v));
                    return map;
                });
    }

    @Provide
    static Arbitrary<VolumeCapability> capability() {
        Arbitrary<VolumeCapability.AccessMode.Mode> modes = Arbitraries.of(VolumeCapability.AccessMode.Mode.values())
                .filter(m -> m != VolumeCapability.AccessMode.Mode.UNRECOGNIZED);
        return Combinators.combine(modes, hostile().list().ofMaxSize(3), Arbitraries.of("", "", "nfs", "ext4", "xfs"),
                Arbitraries.integers().between(0, 9)).as((mode, flags, fsType, kind) -> TestCapabilities.ofKind(mode, flags, fsType, kind));
    }

    @Provide
    static Arbitrary<String> volumeId() {
        Arbitrary<String> onDelete = Arbitraries.of("delete", "retain", "archive", "wipe", "");
        Arbitrary<String> subDir = Arbitraries.oneOf(Arbitraries.of(area + "-victim", area + "-victim/team",
                area + "-victim/team/pvc-v", ".gateway-csi", ".gateway-csi/volumes", ".gateway-csi/snapshots",
                area, area + "/gone"), hostile(), hostile().map(s -> area + "/" + s));
        Arbitrary<String> crafted = Combinators.combine(Arbitraries.of("gw1", "gw1h", "gw2"), onDelete,
                Arbitraries.of("4", "4.1", "3", "5"), server(), share(), subDir)
                .as((prefix, od, version, server, share, dir) -> String.join("|", prefix, od, version, server, share,
                        prefix.equals("gw1h") ? io.gatewaycsi.common.volume.VolumeId.digestOf(dir) : dir));
        return Arbitraries.oneOf(crafted, crafted, hostile());
    }

    @Provide
    static Arbitrary<String> snapshotId() {
        Arbitrary<String> digest = Arbitraries.strings().withChars("0123456789abcdef").ofLength(32);
        Arbitrary<String> crafted = Combinators.combine(Arbitraries.of("gs1", "gs2"), Arbitraries.of("4", "3", "x"),
                server(), share(), Arbitraries.oneOf(digest, hostile()))
                .as((prefix, version, server, share, d) -> String.join("|", prefix, version, server, share, d));
        return Arbitraries.oneOf(crafted, hostile());
    }

    @Provide
    static Arbitrary<Map<String, String>> secrets() {
        return Combinators.combine(hostile(), Arbitraries.strings().all().ofMaxLength(40))
                .as((k, v) -> Map.entry(k, SECRET_MARK + wire(v))).list().ofMaxSize(3).map(list -> {
                    Map<String, String> map = new LinkedHashMap<>();
                    list.forEach(e -> map.put(e.getKey(), e.getValue()));
                    return map;
                });
    }

    // ---------------------------------------------------------------------------------------------
    // Properties

    @Property(tries = 120)
    void createVolumeAnswersEveryRequestWithAnAllowedCodeAndStaysInsideTheArea(@ForAll("hostile") String name,
            @ForAll("parameters") Map<String, String> parameters, @ForAll("capability") VolumeCapability capability,
            @ForAll("secrets") Map<String, String> secrets, @ForAll("volumeId") String sourceId,
            @ForAll("hostile") String mutableKey) {
        CreateVolumeRequest.Builder request = CreateVolumeRequest.newBuilder().setName(name)
                .putAllParameters(parameters).addVolumeCapabilities(capability).putAllSecrets(secrets);
        if (name.length() % 7 == 3) {
            request.setVolumeContentSource(VolumeContentSource.newBuilder().setVolume(
                    VolumeContentSource.VolumeSource.newBuilder().setVolumeId(sourceId)));
        }
        if (name.length() % 11 == 5) {
            request.putModifiableParameters(mutableKey, "x");
        }
        if (name.length() % 5 == 1) {
            request.setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(name.length() - 3L)
                    .setLimitBytes(name.length() % 3 - 1L));
        }
        CreateVolumeResponse[] response = new CreateVolumeResponse[1];
        Status.Code code = call("CreateVolume", allowedFor(parameters),
                () -> response[0] = controller.createVolume(request.build()));
        if (code == Status.Code.OK) {
            checkCreatedAndDelete(response[0]);
        }
        checkNothingOutsideChanged();
    }

    @Property(tries = 150)
    void everyCallTakingAVolumeIdAnswersWithAnAllowedCodeAndTouchesNothingOutsideIt(
            @ForAll("volumeId") String volumeId, @ForAll("capability") VolumeCapability capability,
            @ForAll("secrets") Map<String, String> secrets, @ForAll("hostile") String name,
            @ForAll("parameters") Map<String, String> parameters) {
        Set<Status.Code> allowed = allowedFor(volumeId);
        call("DeleteVolume", allowed, () -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(volumeId).putAllSecrets(secrets).build()));
        call("ControllerGetVolume", allowed, () -> controller.controllerGetVolume(ControllerGetVolumeRequest
                .newBuilder().setVolumeId(volumeId).build()));
        call("ValidateVolumeCapabilities", allowed, () -> controller.validateVolumeCapabilities(
                ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(volumeId).addVolumeCapabilities(capability)
                        .putAllParameters(parameters).putAllVolumeContext(parameters).putAllSecrets(secrets).build()));
        call("ControllerExpandVolume", allowed, () -> controller.controllerExpandVolume(ControllerExpandVolumeRequest
                .newBuilder().setVolumeId(volumeId).setCapacityRange(CapacityRange.newBuilder()
                        .setRequiredBytes(name.length() * 1024L)).putAllSecrets(secrets).build()));
        Status.Code snapshot = call("CreateSnapshot", allowed, () -> controller.createSnapshot(CreateSnapshotRequest
                .newBuilder().setName(name).setSourceVolumeId(volumeId).putAllSecrets(secrets).build()));
        assertThat(snapshot).as("no snapshot of a volume that is not one of ours").isNotEqualTo(Status.Code.OK);
        call("ListSnapshots", allowed, () -> controller.listSnapshots(ListSnapshotsRequest.newBuilder()
                .setSourceVolumeId(volumeId).setStartingToken(name.length() % 2 == 0 ? "" : name)
                .setMaxEntries(name.length() % 5 - 2).build()));
        checkNothingOutsideChanged();
    }

    @Property(tries = 100)
    void everyCallTakingASnapshotIdAnswersWithAnAllowedCode(@ForAll("snapshotId") String snapshotId,
            @ForAll("secrets") Map<String, String> secrets, @ForAll("parameters") Map<String, String> parameters,
            @ForAll("hostile") String name) {
        Set<Status.Code> allowed = allowedFor(snapshotId);
        call("DeleteSnapshot", allowed, () -> controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder()
                .setSnapshotId(snapshotId).putAllSecrets(secrets).build()));
        call("GetSnapshot", allowed, () -> controller.getSnapshot(GetSnapshotRequest.newBuilder()
                .setSnapshotId(snapshotId).putAllSecrets(secrets).build()));
        call("ListSnapshots", allowed, () -> controller.listSnapshots(ListSnapshotsRequest.newBuilder()
                .setSnapshotId(snapshotId).putAllSecrets(secrets).build()));
        Status.Code restored = call("CreateVolume", allowedFor(parameters), () -> controller.createVolume(
                CreateVolumeRequest.newBuilder().setName(name).putAllParameters(parameters).addVolumeCapabilities(TestCapabilities.RWX)
                        .setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
                                VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(snapshotId)))
                        .build()));
        assertThat(restored).as("no volume from a snapshot that does not exist").isNotEqualTo(Status.Code.OK);
        call("GetCapacity", allowedFor(parameters), () -> controller.getCapacity(GetCapacityRequest.newBuilder()
                .putAllParameters(parameters).addVolumeCapabilities(TestCapabilities.RWX).build()));
        checkNothingOutsideChanged();
    }

    @Example
    void everyCorpusValueInEveryFieldAnswersWithAnAllowedCode() {
        Map<String, String> base = new TreeMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                "subDir", area + "/${pv.metadata.name}", "nfsVersion", "4"));
        for (String value : CORPUS) {
            createAndDelete(value, base, TestCapabilities.RWX);
            for (String key : List.of("share", "subDir", "nfsVersion", "mountMode", "timeo", "retrans", "nconnect",
                    "rsize", "wsize", "readOnlyCache", "encryptInTransit", "mountBackend", "onDelete",
                    "mountPermissions", "mountOptions", value)) {
                Map<String, String> parameters = new TreeMap<>(base);
                parameters.put(key, key.equals("subDir") ? area + "/" + value : value);
                createAndDelete("corpus-" + Integer.toHexString((key + "=" + value).hashCode()), parameters, TestCapabilities.RWX);
            }
            Map<String, String> badServer = new TreeMap<>(base);
            badServer.put("server", value + "/!");
            createAndDelete("corpus-server", badServer, TestCapabilities.RWX);
            createAndDelete("corpus-flag", base, VolumeCapability.newBuilder()
                    .setMount(VolumeCapability.MountVolume.newBuilder().addMountFlags(value))
                    .setAccessMode(TestCapabilities.RWX.getAccessMode()).build());
            for (String id : List.of(value, "gw1|delete|4|" + gateway.server() + "|" + gateway.share() + "|" + value,
                    "gw1|delete|4|" + gateway.server() + "|" + gateway.share() + "|" + area + "/" + value,
                    "gs1|4|" + gateway.server() + "|" + gateway.share() + "|" + value)) {
                Set<Status.Code> allowed = allowedFor(id);
                call("DeleteVolume", allowed, () -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                        .setVolumeId(id).build()));
                call("CreateSnapshot", allowed, () -> controller.createSnapshot(CreateSnapshotRequest.newBuilder()
                        .setName("corpus-snap").setSourceVolumeId(id).build()));
                call("DeleteSnapshot", allowed, () -> controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder()
                        .setSnapshotId(id).build()));
                call("ControllerGetVolume", allowed, () -> controller.controllerGetVolume(
                        ControllerGetVolumeRequest.newBuilder().setVolumeId(id).build()));
                call("ListSnapshots", allowed, () -> controller.listSnapshots(ListSnapshotsRequest.newBuilder()
                        .setSourceVolumeId(id).setStartingToken(value).build()));
            }
            checkNothingOutsideChanged();
        }
    }

    @Example
    void alteredIdsNameNoVolumeAndChangeNothing() throws IOException {
        CreateVolumeResponse kept = controller.createVolume(CreateVolumeRequest.newBuilder().setName("altered-target")
                .addVolumeCapabilities(TestCapabilities.RWX).putAllParameters(Map.of("server", gateway.server(),
                        "share", gateway.share(), "subDir", area + "/${pv.metadata.name}", "nfsVersion", "4",
                        "onDelete", "retain")).build());
        String id = kept.getVolume().getVolumeId();
        Path dir = gateway.local("/" + area + "/altered-target");
        Files.writeString(dir.resolve("ckpt"), "must survive");
        String[] fields = id.split("\\|", -1);
        List<String> altered = new java.util.ArrayList<>();
        for (String[] change : new String[][] {{"1", "delete"}, {"1", "archive"}, {"2", "4.1"}, {"2", "3"},
                {"3", "localhost"}, {"3", "127.0.0.1"}, {"3", "[::1]"}, {"4", "/"}, {"4", gateway.share() + "/x"},
                {"5", area}, {"5", area + "/altered-target/inner"}, {"0", "gw1h"}}) {
            String[] copy = fields.clone();
            int at = Integer.parseInt(change[0]);
            copy[at] = change[1];
            if (change[1].equals("gw1h")) {
                copy[5] = "0".repeat(32);
            }
            altered.add(String.join("|", copy));
        }
        for (String other : altered) {
            Set<Status.Code> allowed = allowedFor(other);
            assertThat(call("ControllerGetVolume", allowed, () -> controller.controllerGetVolume(
                    ControllerGetVolumeRequest.newBuilder().setVolumeId(other).build())))
                    .as("GetVolume %s", other).isIn(Status.Code.NOT_FOUND, Status.Code.UNAVAILABLE);
            call("DeleteVolume", allowed, () -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                    .setVolumeId(other).build()));
            call("CreateSnapshot", allowed, () -> controller.createSnapshot(CreateSnapshotRequest.newBuilder()
                    .setName("altered-snap").setSourceVolumeId(other).build()));
            assertThat(call("ControllerGetVolume", BAD_REQUEST, () -> controller.controllerGetVolume(
                    ControllerGetVolumeRequest.newBuilder().setVolumeId(id).build())))
                    .as("the volume after a call with %s", other).isEqualTo(Status.Code.OK);
            assertThat(dir.resolve("ckpt")).hasContent("must survive");
        }
        call("DeleteVolume", BAD_REQUEST, () -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(id).build()));
        checkNothingOutsideChanged();
    }

    @Example
    void aPodsDeepTreeNeverMakesItsVolumeUndeletable() throws IOException {
        CreateVolumeResponse created = controller.createVolume(CreateVolumeRequest.newBuilder().setName("deep-tree")
                .addVolumeCapabilities(TestCapabilities.RWX).putAllParameters(Map.of("server", gateway.server(),
                        "share", gateway.share(), "subDir", area + "/${pv.metadata.name}", "nfsVersion", "4"))
                .build());
        Path dir = gateway.local("/" + area + "/deep-tree");
        Path deepest = dir;
        for (int level = 0; level < 128; level++) {
            deepest = deepest.resolve(level % 2 == 0 ? "a" : "b");
            Files.createDirectory(deepest);
            Files.createDirectory(deepest.resolve("side"));
        }
        Files.writeString(deepest.resolve("bottom"), "x");
        String[] snapshotId = new String[1];
        assertThat(call("CreateSnapshot", BAD_REQUEST, () -> snapshotId[0] = controller.createSnapshot(
                CreateSnapshotRequest.newBuilder().setName("deep-snap-" + area)
                        .setSourceVolumeId(created.getVolume().getVolumeId()).build()).getSnapshot().getSnapshotId()))
                .isEqualTo(Status.Code.OK);
        assertThat(call("DeleteSnapshot", BAD_REQUEST, () -> controller.deleteSnapshot(DeleteSnapshotRequest
                .newBuilder().setSnapshotId(snapshotId[0]).build()))).isEqualTo(Status.Code.OK);
        assertThat(call("DeleteVolume", BAD_REQUEST, () -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(created.getVolume().getVolumeId()).build()))).isEqualTo(Status.Code.OK);
        assertThat(dir).doesNotExist();
        checkNothingOutsideChanged();
    }

    /** CreateVolume with an allowed answer; a volume it made must lie in the area, and is deleted again. */
    private static void createAndDelete(String name, Map<String, String> parameters, VolumeCapability capability) {
        CreateVolumeResponse[] response = new CreateVolumeResponse[1];
        Status.Code code = call("CreateVolume", allowedFor(parameters), () -> response[0] = controller.createVolume(
                CreateVolumeRequest.newBuilder().setName(name).putAllParameters(parameters)
                        .addVolumeCapabilities(capability).build()));
        if (code == Status.Code.OK) {
            checkCreatedAndDelete(response[0]);
        }
    }

    /** The volume lies in the area, exists, and DeleteVolume removes it. */
    private static void checkCreatedAndDelete(CreateVolumeResponse response) {
        String subDir = response.getVolume().getVolumeContextMap().get("subDir");
        assertThat(subDir).as("a created volume lies in the test's area").startsWith(area + "/");
        assertThat(subDir.split("/")).doesNotContain("..", ".", "");
        boolean representable = subDir.chars().allMatch(c -> c >= 32 && c < 127);
        Path dir = representable ? gateway.local("/" + subDir) : null;
        if (representable) {
            // (names this JVM's file-name encoding cannot represent are checked through the gateway only)
            assertThat(dir).isDirectory();
            assertThat(realPath(dir)).startsWith(realPath(gateway.local("/" + area)) + "/");
        }
        assertThat(call("ControllerGetVolume", BAD_REQUEST, () -> controller.controllerGetVolume(
                ControllerGetVolumeRequest.newBuilder().setVolumeId(response.getVolume().getVolumeId()).build())))
                .isEqualTo(Status.Code.OK);
        assertThat(call("DeleteVolume", BAD_REQUEST, () -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(response.getVolume().getVolumeId()).build()))).isEqualTo(Status.Code.OK);
        assertThat(call("ControllerGetVolume", BAD_REQUEST, () -> controller.controllerGetVolume(
                ControllerGetVolumeRequest.newBuilder().setVolumeId(response.getVolume().getVolumeId()).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        if (representable) {
            assertThat(dir).doesNotExist();
        }
    }

    // ---------------------------------------------------------------------------------------------


    /** The codes allowed for a request naming these parameters: UNAVAILABLE only for a gateway that cannot answer. */
    private static Set<Status.Code> allowedFor(Map<String, String> parameters) {
        Set<Status.Code> allowed = EnumSet.copyOf(BAD_REQUEST);
        // a subDir inside, or around, another volume's tree (or someone else's directory)
        allowed.add(Status.Code.FAILED_PRECONDITION);
        String server = parameters.getOrDefault("server", "");
        if (server.equals("127.0.0.1") || "3".equals(parameters.get("nfsVersion"))) {
            allowed.add(Status.Code.UNAVAILABLE);
        }
        if (!gateway.share().equals(parameters.get("share"))) {
            // e.g. "/", the gateway's read-only NFSv4 pseudo root: the gateway refuses to create anything there
            allowed.add(Status.Code.PERMISSION_DENIED);
        }
        return allowed;
    }

    private static Set<Status.Code> allowedFor(String id) {
        Set<Status.Code> allowed = EnumSet.copyOf(BAD_REQUEST);
        String[] fields = id.split("\\|", -1);
        if (id.contains("127.0.0.1") || (fields.length > 2 && (fields[2].equals("3") || fields[1].equals("3")))) {
            allowed.add(Status.Code.UNAVAILABLE);
        }
        return allowed;
    }

    private static Status.Code call(String method, Set<Status.Code> allowed, Runnable body) {
        return calls.call(method, allowed, body);
    }

    private static void checkNothingOutsideChanged() {
        try {
            assertThat(fingerprint(victim)).as("the victim tree beside the area").isEqualTo(victimBefore);
            assertThat(gateway.local("/.gateway-csi/volumes")).isDirectory();
            assertThat(gateway.local("/.gateway-csi")).isDirectory();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String realPath(Path path) {
        try {
            return path.toRealPath().toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Relative path → file content, "dir", or "-> target" for a symlink. */
    static Map<String, String> fingerprint(Path root) throws IOException {
        Map<String, String> result = new TreeMap<>();
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return result;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                String key = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    result.put(key, "-> " + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    result.put(key, "dir");
                } else {
                    result.put(key, Files.readString(p));
                }
            }
        }
        return result;
    }
}
