package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EndpointTest {

    @Test
    void unixEndpointsNameAnAbsoluteSocketPath() {
        assertThat(Endpoint.parse("unix:///csi/csi.sock").socketPath()).isEqualTo(Path.of("/csi/csi.sock"));
        assertThat(Endpoint.parse("unix:/csi/csi.sock").socketPath()).isEqualTo(Path.of("/csi/csi.sock"));
        assertThat(Endpoint.parse("unix:///csi/csi.sock").toString()).isEqualTo("unix:///csi/csi.sock");
    }

    @Test
    void tcpEndpointsNameAHostAndPort() {
        Endpoint endpoint = Endpoint.parse("tcp://127.0.0.1:10000");
        assertThat(endpoint.isUnix()).isFalse();
        assertThat(endpoint.host()).isEqualTo("127.0.0.1");
        assertThat(endpoint.port()).isEqualTo(10000);
        assertThat(Endpoint.parse("tcp://[::1]:9").host()).isEqualTo("::1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "csi.sock", "unix://", "unix://relative/csi.sock", "unix:///csi/", "http://x:1",
        "tcp://host", "tcp://host:0", "tcp://host:70000", "tcp://host:1/path", "unix:///a\0b"})
    void malformedEndpointsAreRefusedWithTheAcceptedForms(String value) {
        assertThatThrownBy(() -> Endpoint.parse(value))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is invalid")
                .hasMessageContaining("unix:///absolute/path.sock or tcp://host:port");
    }

    @Test
    void socketPathsLongerThanTheKernelAllowsAreRefused() {
        String longPath = "unix:///" + "a".repeat(Endpoint.MAX_UNIX_PATH_BYTES);
        assertThatThrownBy(() -> Endpoint.parse(longPath)).hasMessageContaining("longer than 107 bytes");
    }
}
