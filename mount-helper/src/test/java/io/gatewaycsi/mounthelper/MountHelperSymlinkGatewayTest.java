package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mount helper never mounts anything but the volume's own directory at the staging path it was given:
 * a staging path through a symbolic link, a volume directory that is a link on the gateway, or a directory on
 * the way to it swapped for a link (by a pod whose volume is its parent) are refused, and links inside a
 * volume read back exactly as they are (the kernel resolves them in the pod's own namespace).
 */
@ExtendWith(TestGateway.class)
class MountHelperSymlinkGatewayTest {
    private static HelperHarness helper;
    private static NfsSession pod;

    @BeforeAll
    static void start() throws IOException {
        helper = new HelperHarness();
        pod = NfsClient.libnfs().connect(TestGateway.get().target(), NfsSessionOptions.defaults().withCredentials(0, 0));
    }

    @AfterAll
    static void stop() {
        try {
            pod.close();
        } finally {
            helper.close();
        }
    }

    @AfterEach
    void unmountAll() {
        helper.unmountAll();
    }

    private static Status.Code codeOf(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (io.grpc.StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    private static Status.Code mount(TestGateway gw, String subDir, Path staging) {
        return codeOf(() -> helper.mount(HelperHarness.request("vol-" + subDir.hashCode(), gw.server(), gw.share(),
                subDir, staging)));
    }

    @Test
    void aStagingPathThroughASymbolicLinkIsRefused(TestGateway gw, @TempDir Path dir) throws IOException {
        String volume = gw.freshDir("sym-staging");
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path link = Files.createSymbolicLink(dir.resolve("staging"), elsewhere);
        assertThat(mount(gw, volume, link)).isEqualTo(Status.Code.INVALID_ARGUMENT);
        Path linkedParent = Files.createSymbolicLink(dir.resolve("plugins"), elsewhere);
        Files.createDirectories(elsewhere.resolve("globalmount"));
        assertThat(mount(gw, volume, linkedParent.resolve("globalmount"))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(HelperHarness.gatewayMountsAt(elsewhere)).isEmpty();
        assertThat(HelperHarness.gatewayMountsAt(elsewhere.resolve("globalmount"))).isEmpty();
        assertThat(helper.list()).isEmpty();
    }

    @Test
    void aVolumeWhoseDirectoryOrAParentIsALinkOnTheGatewayIsRefused(TestGateway gw, @TempDir Path staging)
            throws Exception {
        String area = gw.freshDir("sym-volume");
        String victim = gw.freshDir("sym-victim");
        Files.writeString(gw.local(victim + "/secret.txt"), "another team's data");
        Files.createDirectories(gw.local(victim + "/pvc"));
        // the volume's own directory swapped for a link (through the gateway, as a pod would)
        pod.symlink(".." + victim, area + "/pvc");
        assertThat(mount(gw, area.substring(1) + "/pvc", staging)).isEqualTo(Status.Code.FAILED_PRECONDITION);
        // a directory on the way swapped for a link
        pod.symlink(".." + victim, area + "/team");
        assertThat(mount(gw, area.substring(1) + "/team/pvc", staging)).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(helper.list()).isEmpty();
        assertThat(HelperHarness.gatewayMountsAt(staging)).isEmpty();
    }

    @Test
    void linksInsideAVolumeReadBackExactlyAndAreResolvedByTheKernel(TestGateway gw, @TempDir Path staging)
            throws IOException {
        String volume = gw.freshDir("sym-inside");
        Files.writeString(gw.local(volume + "/own.txt"), "ours");
        assertThat(mount(gw, volume.substring(1), staging)).isEqualTo(Status.Code.OK);
        String[] targets = {"own.txt", "../../etc", "/", "x".repeat(13), "a/b/c/d/e/f/g", "y".repeat(200)};
        for (int i = 0; i < targets.length; i++) {
            Path link = staging.resolve("l" + i);
            Files.createSymbolicLink(link, Path.of(targets[i]));
            assertThat(Files.readSymbolicLink(link)).as(targets[i]).isEqualTo(Path.of(targets[i]));
            assertThat(pod.readlink(volume + "/l" + i)).isEqualTo(targets[i]);
        }
        assertThat(staging.resolve("l0")).hasContent("ours");
        // a link to / leads to the pod's own root, never to the gateway's share root
        Path root = staging.resolve("l2");
        assertThat(Files.isSameFile(root, Path.of("/"))).isTrue();
    }
}
