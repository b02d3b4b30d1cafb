package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KernelBackend with the real mount(8) and mount.nfs(8) of this machine (whose kernel has no NFS), and with
 * fake mount commands (shell scripts passed as the command path) for a hang, an output and a success. Servers
 * are on loopback only.
 */
class KernelBackendTest {

    private final Teardown teardown = new Teardown(new Mounter(Duration.ofSeconds(2)));

    @TempDir
    Path tmp;

    @Test
    void aRealKernelMountOnThisNodeFailsAsNotAvailableOnNode() throws IOException {
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        KernelBackend backend = new KernelBackend(KernelBackend.MOUNT, Duration.ofSeconds(30), teardown);
        NfsMountRequest request = new NfsMountRequest("127.0.0.1", "/export", "vol", List.of("vers=4.1", "hard"),
                staging, false);

        assertThatThrownBy(() -> backend.stage(request)).isInstanceOfSatisfying(KernelMountException.class, e -> {
            assertThat(e.isNotAvailableOnNode()).isTrue();
            assertThat(e.exitCode()).isEqualTo(32);
            assertThat(e.output()).isEqualTo("mount.nfs4: No such device");
            assertThat(e.timedOut()).isFalse();
            var csi = e.toCsiException();
            assertThat(csi.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(csi.getMessage())
                    .startsWith("this node cannot mount NFS in the kernel: `setsid -w mount -t nfs4 -o vers=4.1,hard,retry=0"
                            + " 127.0.0.1:/export/vol " + staging + "` exited 32: mount.nfs4: No such device. Fix: ")
                    .contains("mountBackend=auto", "mount helper");
        });
        assertThat(MountTable.read().isMountPoint(staging)).isFalse();
    }

    @Test
    void aRealNfs3MountWithNothingListeningIsGatewayUnreachable() throws IOException {
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        KernelBackend backend = new KernelBackend(KernelBackend.MOUNT, Duration.ofSeconds(30), teardown);
        NfsMountRequest request = new NfsMountRequest("127.0.0.1", "/export", "", List.of("vers=3", "nolock",
                "retry=0"), staging, true);

        assertThatThrownBy(() -> backend.stage(request)).isInstanceOfSatisfying(KernelMountException.class, e -> {
            assertThat(e.failure()).isEqualTo(MountFailure.GATEWAY_UNREACHABLE);
            assertThat(e.output()).isEqualTo("mount.nfs: Connection refused");
            assertThat(e.toCsiException().code()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.command()).contains("-t", "nfs", "vers=3,nolock,retry=0,ro");
        });
    }

    @Test
    void aRealMountNfsRetryingPastTheDeadlineIsKilledWithItsWholeGroup() throws IOException {
        // With retry=2 (asked; the backend's default is retry=0), mount.nfs keeps retrying the refused rpcbind
        // connection for two minutes.
        Path staging = Files.createDirectory(tmp.resolve("staging-retrying"));
        KernelBackend backend = new KernelBackend(KernelBackend.MOUNT, Duration.ofMillis(1500), teardown);
        NfsMountRequest request = new NfsMountRequest("127.0.0.1", "/export", "", List.of("vers=3", "nolock",
                "retry=2"), staging, false);
        long start = System.nanoTime();

        assertThatThrownBy(() -> backend.stage(request)).isInstanceOfSatisfying(KernelMountException.class, e -> {
            assertThat(e.timedOut()).isTrue();
            assertThat(e.failure()).isEqualTo(MountFailure.GATEWAY_UNREACHABLE);
            assertThat(e.toCsiException().code()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getMessage()).contains("did not finish within 1500 ms and was killed with its process group");
        });
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        assertThat(runningProcessesMentioning(staging.toString())).isEmpty();
    }

    @Test
    void aHangingMountCommandIsKilledWithItsChildrenAtTheDeadline() throws IOException {
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        Path pids = tmp.resolve("staging.pids");
        Path fake = script("hanging-mount", """
                #!/bin/sh
                for arg; do staging=$arg; done
                sleep 300 &
                echo "$$ $! $(cut -d' ' -f5 /proc/$$/stat)" > "$staging.pids"
                echo "mount.nfs4: still trying" >&2
                wait
                """);
        KernelBackend backend = new KernelBackend(fake.toString(), Duration.ofSeconds(1), teardown);
        long start = System.nanoTime();

        assertThatThrownBy(() -> backend.stage(new NfsMountRequest("127.0.0.1", "/export", "", List.of("vers=4.1"),
                staging, false))).isInstanceOfSatisfying(KernelMountException.class, e -> {
                    assertThat(e.timedOut()).isTrue();
                    assertThat(e.exitCode()).isEqualTo(-1);
                    assertThat(e.output()).isEqualTo("mount.nfs4: still trying");
                });

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        String[] ids = Files.readString(pids).strip().split(" ");
        long script = Long.parseLong(ids[0]);
        long sleeper = Long.parseLong(ids[1]);
        long group = Long.parseLong(ids[2]);
        assertThat(group).as("setsid made the command its own group's leader").isEqualTo(script);
        assertThat(ProcessGroup.isRunning(script)).isFalse();
        assertThat(ProcessGroup.isRunning(sleeper)).isFalse();
        assertThat(ProcessGroup.members(group)).isEmpty();
    }

    @Test
    void theCommandsErrorOutputAndExitCodeReachTheClassifier() throws IOException {
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        Path fake = script("denied-mount", """
                #!/bin/sh
                echo "mount.nfs4: access denied by server while mounting 10.0.0.2:/export" >&2
                exit 32
                """);
        KernelBackend backend = new KernelBackend(fake.toString(), Duration.ofSeconds(10), teardown);

        assertThatThrownBy(() -> backend.stage(new NfsMountRequest("10.0.0.2", "/export", "", List.of("vers=4.1"),
                staging, false))).isInstanceOfSatisfying(KernelMountException.class, e -> {
                    assertThat(e.exitCode()).isEqualTo(32);
                    assertThat(e.failure()).isEqualTo(MountFailure.REFUSED_BY_GATEWAY);
                    assertThat(e.toCsiException().getMessage())
                            .contains("exited 32: mount.nfs4: access denied by server while mounting 10.0.0.2:/export");
                });
    }

    @Test
    void aMissingMountCommandIsNotAvailableOnNode() throws IOException {
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        KernelBackend backend = new KernelBackend(tmp.resolve("no-such-mount").toString(), Duration.ofSeconds(10),
                teardown);

        assertThatThrownBy(() -> backend.stage(new NfsMountRequest("10.0.0.2", "/export", "", List.of(), staging,
                false))).isInstanceOfSatisfying(KernelMountException.class, e -> {
                    assertThat(e.isNotAvailableOnNode()).isTrue();
                    assertThat(e.exitCode()).isEqualTo(127);
                    assertThat(e.output()).contains("failed to execute");
                });
    }

    @Test
    void aSuccessfulMountIsStagedAndUnstagedThroughTeardown() throws IOException {
        Path export = Files.createDirectory(tmp.resolve("export"));
        Files.writeString(export.resolve("dataset.bin"), "data");
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        // Stands in for mount.nfs: mounts the "export" (a bind mount) at the staging path it is given.
        Path fake = script("bind-mount", """
                #!/bin/sh
                for arg; do staging=$arg; done
                exec mount --bind '%s' "$staging"
                """.formatted(export));
        KernelBackend backend = new KernelBackend(fake.toString(), Duration.ofSeconds(10), teardown);
        try (TestMounts mounts = new TestMounts()) {
            mounts.track(staging);

            backend.stage(new NfsMountRequest("10.0.0.2", "/export", "", List.of("vers=4.1"), staging, false));

            assertThat(staging.resolve("dataset.bin")).hasContent("data");
            Teardown.Result result = backend.unstage(staging);
            assertThat(result.step()).isEqualTo(TeardownStep.NORMAL);
            assertThat(MountTable.read().isMountPoint(staging)).isFalse();
            assertThat(staging).isDirectory();
            assertThat(backend.unstage(staging).step()).isEqualTo(TeardownStep.NOT_MOUNTED);
        }
    }

    private Path script(String name, String text) throws IOException {
        Path script = tmp.resolve(name);
        Files.writeString(script, text);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    /** Live processes whose command line contains {@code text}. */
    private static List<Long> runningProcessesMentioning(String text) throws IOException {
        List<Long> found = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path proc : procs) {
                try {
                    String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8);
                    long pid = Long.parseLong(proc.getFileName().toString());
                    if (cmdline.contains(text) && ProcessGroup.isRunning(pid)) {
                        found.add(pid);
                    }
                } catch (IOException | NumberFormatException e) {
                    // exited meanwhile
                }
            }
        }
        return found;
    }
}
