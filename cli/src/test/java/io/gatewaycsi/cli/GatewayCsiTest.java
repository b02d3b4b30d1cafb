package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayCsiTest {

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return GatewayCsi.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    private String[] errorLines() {
        return err.toString().strip().split("\n");
    }

    @Test
    void everyRoleDocumentsItsFlags() {
        assertThat(run("controller", "--help")).isZero();
        assertThat(out.toString()).contains("--endpoint", "--driver-name", "--log-level");
        assertThat(run("node", "--help")).isZero();
        assertThat(out.toString()).contains("--node-id");
        assertThat(run("mount-helper", "--help")).isZero();
        assertThat(run("all", "--help")).isZero();
        assertThat(out.toString()).contains("--mount-helper-endpoint");
    }

    @Test
    void aBadEndpointIsOneClearLineAndExitCode2() {
        assertThat(run("controller", "--endpoint", "unix://relative.sock")).isEqualTo(2);
        assertThat(errorLines()).singleElement().asString()
                .startsWith("gateway-csi controller: error: Invalid value for option '--endpoint'")
                .contains("the socket path must be absolute");
    }

    @Test
    void anInvalidDriverNameIsRefusedBeforeServing() {
        assertThat(run("controller", "--endpoint", "unix://" + dir.resolve("c.sock"), "--driver-name", "bad_name"))
                .isEqualTo(2);
        assertThat(errorLines()).singleElement().asString().contains("driver name `bad_name` is invalid");
        assertThat(dir.resolve("c.sock")).doesNotExist();
    }

    @Test
    void anUnusableSocketDirectoryIsOneClearLineAndExitCode1() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "");
        assertThat(run("controller", "--endpoint", "unix://" + file.resolve("c.sock"))).isEqualTo(1);
        assertThat(errorLines()).singleElement().asString()
                .startsWith("gateway-csi controller: error: cannot create the socket directory " + file);
    }

    @Test
    void theNodeNeedsANodeId() {
        assertThat(run("node", "--endpoint", "unix://" + dir.resolve("n.sock"))).isEqualTo(2);
        assertThat(errorLines()).singleElement().asString().contains("--node-id");
    }
}
