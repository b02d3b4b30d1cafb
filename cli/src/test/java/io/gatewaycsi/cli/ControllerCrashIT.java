package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller (unprivileged, as in its Deployment) SIGKILLed in the middle of a CreateVolume storm and
 * of a DeleteVolume storm (16 callers), then started again: the external-provisioner's retries (every call
 * repeated until OK, bounded) converge, and the gateway holds exactly what it should — every volume's
 * directory and a ready record after the creates, nothing at all (no directory, no record, no half-written
 * record) after the deletes.
 */
@ExtendWith(TestGateway.class)
class ControllerCrashIT {

    private static final int NOBODY = 65534;

    @TempDir
    Path dir;

    private final TestGateway gateway = TestGateway.get();
    private final String area = "crash-" + UUID.randomUUID().toString().substring(0, 8);
    private DriverProcess controller;
    private ManagedChannel channel;
    private int starts;

    private void start() throws Exception {
        Path socket = dir.resolve("controller.sock");
        controller = DriverProcess.start(socket, dir.resolve("controller-" + (++starts) + ".log"), NOBODY,
                "controller", "--endpoint", "unix://" + socket);
        channel = controller.channel();
    }

    private void killAndRestart() throws Exception {
        ProcessHandle.of(controller.pid()).ifPresent(ProcessHandle::destroyForcibly);
        ProcessHandle.of(controller.pid()).ifPresent(h -> h.onExit().orTimeout(60, TimeUnit.SECONDS).join());
        channel.shutdownNow();
        controller.close();
        start();
    }

    private ControllerGrpc.ControllerBlockingStub stub() {
        return ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private CreateVolumeRequest create(String name) {
        return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(NodeRig.RWX)
                .putAllParameters(new TreeMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                        "subDir", area + "/${pv.metadata.name}", "nfsVersion", "4"))).build();
    }

    /** Repeats {@code call} until it succeeds, at most {@code bound}; returns the attempts it took. */
    private int untilOk(String what, Duration bound, Function<ControllerGrpc.ControllerBlockingStub, ?> call)
            throws InterruptedException {
        Instant end = Instant.now().plus(bound);
        List<String> failures = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            try {
                call.apply(stub());
                return attempt;
            } catch (StatusRuntimeException e) {
                failures.add(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
                if (Instant.now().isAfter(end)) {
                    throw new AssertionError(what + " did not succeed within " + bound + ": " + failures);
                }
                Thread.sleep(Math.min(1000, 100L * attempt));
            }
        }
    }

    /**
     * Fires every call on 16 callers and SIGKILLs the controller once {@code killAt} of them have succeeded
     * (with 16 more in flight); returns how many had succeeded by then.
     */
    private int storm(List<Function<ControllerGrpc.ControllerBlockingStub, ?>> calls, int killAt) throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(16);
        try {
            ControllerGrpc.ControllerBlockingStub stub = stub();
            List<CompletableFuture<Boolean>> futures = new ArrayList<>();
            for (Function<ControllerGrpc.ControllerBlockingStub, ?> call : calls) {
                futures.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        call.apply(stub);
                        return true;
                    } catch (StatusRuntimeException e) {
                        return false;
                    }
                }, callers));
            }
            Instant giveUp = Instant.now().plusSeconds(60);
            while (futures.stream().filter(f -> f.isDone() && f.join()).count() < killAt
                    && Instant.now().isBefore(giveUp)) {
                Thread.sleep(2);
            }
            int doneBeforeKill = (int) futures.stream().filter(f -> f.isDone() && f.join()).count();
            killAndRestart();
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            return doneBeforeKill;
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void aControllerKilledDuringCreateAndDeleteStormsConvergesOnRetries() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        int volumes = Reliability.pick(60, 300);
        int rounds = Reliability.pick(1, 3);
        start();
        try {
            for (int round = 0; round < rounds; round++) {
                // a warm controller (its gateway session open), as in a cluster
                String warm = "warm-" + round;
                untilOk("warm-up", Duration.ofSeconds(60), s -> s.deleteVolume(DeleteVolumeRequest.newBuilder()
                        .setVolumeId(s.createVolume(create(warm)).getVolume().getVolumeId()).build()));
                List<String> names = new ArrayList<>();
                for (int i = 0; i < volumes; i++) {
                    names.add("pvc-" + round + "-" + i);
                }
                // CreateVolume storm, killed in the middle
                int createdBeforeKill = storm(names.stream().<Function<ControllerGrpc.ControllerBlockingStub, ?>>map(
                        n -> s -> s.createVolume(create(n))).toList(),
                        ThreadLocalRandom.current().nextInt(volumes / 5, volumes / 2));
                Map<String, String> ids = new LinkedHashMap<>();
                int createAttempts = 0;
                for (String name : names) {
                    createAttempts = Math.max(createAttempts, untilOk("CreateVolume " + name, Duration.ofSeconds(120),
                            s -> ids.put(name, s.createVolume(create(name)).getVolume().getVolumeId())));
                }
                for (String name : names) {
                    Path record = record(name);
                    assertThat(gateway.local("/" + area + "/" + name)).as(name).isDirectory();
                    assertThat(Files.readString(record)).as("record of " + name).contains("ready=true");
                }
                // DeleteVolume storm, killed in the middle
                int deletedBeforeKill = storm(names.stream().<Function<ControllerGrpc.ControllerBlockingStub, ?>>map(
                        n -> s -> s.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(ids.get(n)).build()))
                        .toList(), ThreadLocalRandom.current().nextInt(volumes / 5, volumes / 2));
                int deleteAttempts = 0;
                for (String name : names) {
                    deleteAttempts = Math.max(deleteAttempts, untilOk("DeleteVolume " + name, Duration.ofSeconds(120),
                            s -> s.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(ids.get(name)).build())));
                }
                for (String name : names) {
                    assertThat(gateway.local("/" + area + "/" + name)).as(name).doesNotExist();
                    assertThat(record(name)).as("record of " + name).doesNotExist();
                    assertThat(Path.of(record(name) + ".tmp")).as("half-written record of " + name).doesNotExist();
                }
                // the area is a parent the driver made for the volumes: removed with the last one
                if (Files.exists(gateway.local("/" + area))) {
                    try (var left = Files.list(gateway.local("/" + area))) {
                        assertThat(left.toList()).as("nothing left in the area").isEmpty();
                    }
                }
                Reliability.report("fault.controller-kill round=" + round + " volumes=" + volumes + " callers=16"
                        + " created_before_kill=" + createdBeforeKill + " max_create_attempts=" + createAttempts
                        + " deleted_before_kill=" + deletedBeforeKill + " max_delete_attempts=" + deleteAttempts
                        + " left_dirs=0 left_records=0 uid=" + NOBODY);
            }
        } finally {
            if (channel != null) {
                channel.shutdownNow();
            }
            if (controller != null) {
                controller.close();
            }
        }
    }

    private Path record(String name) {
        return gateway.local("/.gateway-csi/volumes/" + VolumeId.digestOf(area + "/" + name));
    }
}
