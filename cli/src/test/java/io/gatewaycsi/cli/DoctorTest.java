package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.CsiServer;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.mounthelper.MountHelperService;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gateway-csi doctor} on this machine, against the real test gateway and a real mount helper served
 * in-process on a unix socket. This machine has no NFS in the kernel, so the kernel check fails; with the
 * helper the verdict is the mount helper fallback (exit 0), without it no mount works (exit 1).
 */
@ExtendWith(TestGateway.class)
class DoctorTest {

    @TempDir
    Path dir;

    private final TestGateway gateway = TestGateway.get();
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int doctor(String... extra) {
        List<String> args = new ArrayList<>(List.of("doctor", "--gateway", gateway.server() + ":" + gateway.share(),
                "--nfs-version", "4", "--mount-helper-endpoint", "unix://" + dir.resolve("helper.sock"),
                "--timeout", "10"));
        args.addAll(List.of(extra));
        int code = GatewayCsi.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        System.out.println(out);
        return code;
    }

    @Test
    void withAMountHelperTheVerdictIsTheFallbackAndExitZero() throws Exception {
        assertThat(Files.readString(Path.of("/proc/filesystems"))).as("this machine has no NFS in the kernel")
                .doesNotContain("\tnfs");
        MountHelperService helper = new MountHelperService(Path.of("/dev/fuse"), NfsClient.libnfs());
        try (CsiServer ignored = CsiServer.start(Endpoint.parse("unix://" + dir.resolve("helper.sock")),
                List.of(helper))) {
            assertThat(doctor("--mount-option", "nconnect=4")).as(out.toString()).isZero();
        } finally {
            helper.close();
        }
        String report = out.toString();
        assertThat(report).contains("[FAIL] kernel NFS        /proc/filesystems lists neither nfs nor nfs4")
                .contains("fix:              load the kernel's NFS client")
                .contains("[ ok ] mount options     vers=4,hard,timeo=600,retrans=2,nconnect=4")
                .contains("[ ok ] /dev/fuse")
                .contains("[ ok ] mount helper      unix://" + dir.resolve("helper.sock") + " answers Health: ready")
                .contains("[ ok ] gateway over NFS  mounted " + gateway.server() + ":" + gateway.share())
                .contains("verdict: a mount would work through the mount helper (user-space NFS over FUSE), by"
                        + " fallback: kernel NFS:");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void withoutAMountHelperNoMountWorksAndTheExitCodeIsOne() {
        assertThat(doctor()).isEqualTo(1);
        assertThat(out.toString()).contains("[FAIL] mount helper      unix://" + dir.resolve("helper.sock")
                + ": no socket there").contains("verdict: no mount would work: the kernel cannot mount here");
    }

    @Test
    void kernelOnlyNeverFallsBack() throws Exception {
        MountHelperService helper = new MountHelperService(Path.of("/dev/fuse"), NfsClient.libnfs());
        try (CsiServer ignored = CsiServer.start(Endpoint.parse("unix://" + dir.resolve("helper.sock")),
                List.of(helper))) {
            assertThat(doctor("--mount-backend", "kernel")).isEqualTo(1);
        } finally {
            helper.close();
        }
        assertThat(out.toString()).contains("verdict: no mount would work: mountBackend=kernel never falls back");
    }

    @Test
    void theOptionsSayTheVersionTheMountHelperReallySpeaks() {
        GatewayCsi.run(new String[] {"doctor", "--gateway", gateway.server() + ":" + gateway.share(), "--nfs-version",
            "4.1", "--timeout", "10", "--mount-helper-endpoint", "unix://" + dir.resolve("helper.sock")},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(out.toString()).contains("[ ok ] mount options     vers=4.1,")
                .contains("(mount helper: vers=4.0,").contains("ignores vers=4.1");
    }

    @Test
    void anUnreachableGatewayAndBadOptionsFail() {
        int code = GatewayCsi.run(new String[] {"doctor", "--gateway", "127.0.0.1:/nothing", "--timeout", "2",
            "--mount-helper-endpoint", "unix://" + dir.resolve("helper.sock")},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).isEqualTo(1);
        assertThat(out.toString()).contains("[FAIL] gateway over NFS  127.0.0.1:/nothing")
                .contains("reachable from this node on TCP port 2049");
        out.getBuffer().setLength(0);
        assertThat(doctor("--mount-option", "soft,hard")).isEqualTo(1);
        assertThat(out.toString()).contains("[FAIL] mount options").contains("verdict: no mount would work");
    }
}
