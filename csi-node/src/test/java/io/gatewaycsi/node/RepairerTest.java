package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.CsiServer;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.HealthResponse;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountRequest;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repair watcher and recorded staging mounts that are gone altogether (their mount helper took them along,
 * their directory vanished): they are mounted again, with the backend the record says, and a repair that keeps
 * failing backs off instead of running a mount every pass. The kernel mount is a script that counts its runs
 * and fails as this node's kernel would; the mount helper here answers Mount with a real bind mount of a local
 * directory (the real helper over a real gateway: RecoveryIT).
 */
class RepairerTest {

    @TempDir
    Path dir;

    private final Mounter mounter = new Mounter(Duration.ofSeconds(5));
    private final TestMounts mounts = new TestMounts();
    private final AtomicInteger helperMounts = new AtomicInteger();
    private Path kernelRuns;
    private Path export;
    private StagingState state;
    private CsiServer helper;
    private SidecarBackend sidecar;
    private NodeService node;

    /** A mount helper that "mounts" by bind-mounting {@link #export} at the staging path. */
    private final class BindingHelper extends MountHelperGrpc.MountHelperImplBase {
        @Override
        public void mount(MountRequest request, StreamObserver<MountResponse> responses) {
            helperMounts.incrementAndGet();
            int errno = Libc.mount(export.toString(), mounts.track(Path.of(request.getStagingPath())).toString(),
                    null, Libc.MS_BIND, null);
            if (errno != 0) {
                responses.onError(Status.INTERNAL.withDescription("bind: " + Errno.of(errno)).asRuntimeException());
                return;
            }
            responses.onNext(MountResponse.newBuilder().setEffectiveNfsVersion("4.0").addEffectiveOptions("vers=4.0")
                    .build());
            responses.onCompleted();
        }

        @Override
        public void health(HealthRequest request, StreamObserver<HealthResponse> responses) {
            responses.onNext(HealthResponse.newBuilder().setReady(true).build());
            responses.onCompleted();
        }
    }

    @BeforeEach
    void start() throws IOException {
        export = Files.createDirectories(dir.resolve("export"));
        Files.writeString(export.resolve("data"), "served");
        kernelRuns = dir.resolve("kernel-runs");
        Path fakeMount = dir.resolve("mount");
        Files.writeString(fakeMount, "#!/bin/sh\necho run >> '" + kernelRuns + "'\n"
                + "echo 'mount.nfs: access denied by server while mounting 127.0.0.1:/export/vol' >&2\nexit 32\n");
        Files.setPosixFilePermissions(fakeMount, PosixFilePermissions.fromString("rwx------"));
        Endpoint endpoint = Endpoint.parse("unix://" + dir.resolve("helper.sock"));
        helper = CsiServer.start(endpoint, List.of(new BindingHelper()));
        Teardown teardown = new Teardown(mounter);
        sidecar = new SidecarBackend(endpoint, Duration.ofSeconds(10), teardown);
        state = new StagingState(dir.resolve("state"));
        node = new NodeService(new NodeConfig("node-r", Map.of(), Set.of()),
                new KernelBackend(fakeMount.toString(), Duration.ofSeconds(10), teardown), Optional.of(sidecar),
                mounter, state);
    }

    @AfterEach
    void stop() throws IOException {
        node.close();
        mounts.close();
        sidecar.close();
        helper.close();
    }

    private int kernelRuns() throws IOException {
        return Files.exists(kernelRuns) ? Files.readAllLines(kernelRuns).size() : 0;
    }

    private NfsMountRequest recorded(Path staging, String volumeId) {
        return new NfsMountRequest("127.0.0.1", "/export", "vol", List.of("vers=4.1", "hard"), staging, false,
                volumeId);
    }

    @Test
    void aVanishedStagingMountThatFellBackIsMountedAgainByTheHelperWithoutTryingTheKernelAndItsDirectoryMadeAgain()
            throws IOException {
        Path staging = dir.resolve("plugins/staging-fell-back");
        state.save(recorded(staging, "vol-fell-back"), "auto", null, FallbackReason.NO_KERNEL_NFS);
        assertThat(staging).doesNotExist();

        assertThat(node.repairNow()).isEqualTo(1);
        assertThat(TestMounts.isMounted(staging)).isTrue();
        assertThat(staging.resolve("data")).hasContent("served");
        assertThat(helperMounts.get()).isEqualTo(1);
        assertThat(kernelRuns()).as("the kernel is not tried again for a volume recorded as falling back").isZero();
        assertThat(node.repairNow()).as("healthy now").isZero();
        assertThat(state.get(staging).orElseThrow().fallback()).isEqualTo(FallbackReason.NO_KERNEL_NFS);
    }

    @Test
    void aRepairThatKeepsFailingBacksOffInsteadOfMountingEveryPass() throws IOException {
        Path staging = dir.resolve("plugins/staging-refused");
        state.save(recorded(staging, "vol-refused"), "kernel", null, null);
        long start = System.nanoTime();
        for (int pass = 0; pass < 5; pass++) {
            assertThat(node.repairNow()).isZero();
        }
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        // A failed repair waits at least the 2 s interval before the next: however slow the passes, at most one
        // mount per 2 s elapsed (one mount per pass without it).
        assertThat(kernelRuns()).as("kernel mounts in 5 passes over %d ms", elapsedMillis)
                .isBetween(1, 1 + (int) (elapsedMillis / 2000));
        assertThat(staging).as("its directory made again").isDirectory();
    }

    @Test
    void theBackOffStaysAtTheIntervalForAFewFailuresThenDoublesUpToFiveMinutes() {
        Duration interval = Duration.ofSeconds(2);
        assertThat(Repairer.delayAfter(1, interval)).isEqualTo(interval);
        assertThat(Repairer.delayAfter(3, interval)).isEqualTo(interval);
        assertThat(Repairer.delayAfter(4, interval)).isEqualTo(Duration.ofSeconds(4));
        assertThat(Repairer.delayAfter(5, interval)).isEqualTo(Duration.ofSeconds(8));
        assertThat(Repairer.delayAfter(12, interval)).isEqualTo(Duration.ofMinutes(5));
        assertThat(Repairer.delayAfter(1000, interval)).isEqualTo(Duration.ofMinutes(5));
    }
}
