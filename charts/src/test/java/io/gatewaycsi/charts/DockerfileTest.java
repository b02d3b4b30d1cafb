package io.gatewaycsi.charts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Dockerfile cannot be built here (no container engine), so this keeps it in step with what it relies on:
 * the distribution the Maven build makes, the launcher the chart's containers run, and the Debian packages
 * whose libraries the driver loads.
 */
class DockerfileTest {

    private static List<String> lines() throws IOException {
        return Files.readAllLines(Repo.root().resolve("Dockerfile"));
    }

    @Test
    void theImageShipsTheDistributionTheBuildMakes() throws IOException {
        String dockerfile = String.join("\n", lines());
        assertThat(dockerfile).contains("./mvnw -B -ntp -DskipTests -Dgatewaycsi.aot.skip -pl cli -am package");
        assertThat(dockerfile).contains("COPY --from=build /src/cli/target/dist /opt/gateway-csi");
        assertThat(Repo.dist().resolve("bin/gateway-csi")).isExecutable();
        assertThat(dockerfile).contains("ln -s /opt/gateway-csi/bin/gateway-csi /usr/local/bin/gateway-csi");
        assertThat(lines()).contains("ENTRYPOINT [\"gateway-csi\"]");
    }

    /** AOT caches serve only the paths and jars they were made with: trained where the image installs the dist. */
    @Test
    void theAotCachesAreTrainedInTheImageAsRootBeforeItDropsToTheControllersUser() throws IOException {
        List<String> lines = lines();
        int copy = lines.indexOf("COPY --from=build /src/cli/target/dist /opt/gateway-csi");
        int train = lines.indexOf(" && gateway-csi train-aot");
        assertThat(copy).isPositive();
        assertThat(train).isGreaterThan(copy).isLessThan(lines.indexOf("USER 65532:65532"));
    }

    @Test
    void theRuntimeStageIsDebianBookwormWithTheDriversLibraries() throws IOException {
        List<String> from = lines().stream().filter(l -> l.startsWith("FROM ")).toList();
        // The two images it builds from are pinned by digest (the Dockerfile says how to move them;
        // test/image/build makes stand-ins under these); the nfs stage and the image build on the base stage.
        assertThat(from).hasSize(4);
        assertThat(from.get(0)).matches("FROM eclipse-temurin:25-jdk-noble@sha256:[0-9a-f]{64} AS build");
        assertThat(from.get(1)).matches("FROM debian:bookworm-slim@sha256:[0-9a-f]{64} AS base");
        assertThat(from.subList(2, 4)).containsExactly("FROM base AS nfs", "FROM base");
        List<String> installs = lines().stream().filter(l -> l.contains("apt-get install")).toList();
        assertThat(installs).hasSize(2);
        // libnfs.so.13 (nfs-client), libfuse3.so.3 (mount helper), mount/umount, /etc/protocols and /etc/services.
        assertThat(installs.get(0).split("\\s+")).contains("libnfs13", "fuse3", "libfuse3-3", "util-linux",
                "netbase", "--no-install-recommends").doesNotContain("nfs-common");
        // The WireGuard tunnels' ip, wg and wireguard-go (the node plugin runs them), on the base's install's next line.
        List<String> all = lines();
        assertThat(all.get(all.indexOf(installs.get(0)) + 1).split("\\s+"))
                .contains("iproute2", "wireguard-tools", "wireguard-go");
        // nfs-common only in the nfs stage, which the image takes mount.nfs and rpc.statd from.
        assertThat(installs.get(1).split("\\s+")).contains("nfs-common", "--no-install-recommends");
        String dockerfile = String.join("\n", lines());
        assertThat(dockerfile).contains("COPY --from=nfs /out/ /").contains("/usr/sbin/mount.nfs ")
                .contains("/usr/sbin/rpc.statd").contains("/etc/netconfig");
        assertThat(lines()).contains("USER 65532:65532");
    }

    @Test
    void theImageIsLabelledWithItsVersionRevisionAndSource() throws IOException {
        String dockerfile = String.join("\n", lines());
        for (String label : List.of("version", "revision", "source")) {
            assertThat(dockerfile).containsPattern("org\\.opencontainers\\.image\\." + label + "=\"\\$\\{[A-Z]+}\"");
        }
    }

    /**
     * buildah 1.28 does not look inside a directory that a pattern excluded, so a path re-included below one
     * (`*` then `!dir/…`) is in BuildKit's context and not in buildah's: .dockerignore re-includes nothing.
     */
    @Test
    void theDockerignoreReadsTheSameInBuildKitAndBuildah() throws IOException {
        List<String> patterns = Files.readAllLines(Repo.root().resolve(".dockerignore")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(patterns).isNotEmpty().noneMatch(p -> p.startsWith("!"))
                .doesNotContain("*", "pom.xml", "*/pom.xml", "*/src", ".mvn", "mvnw");
    }
}
