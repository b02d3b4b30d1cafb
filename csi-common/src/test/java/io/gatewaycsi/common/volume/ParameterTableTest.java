package io.gatewaycsi.common.volume;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ParameterTableTest {

    @Test
    void everyParameterHasAKeyAnAllowedTextAndADescription() {
        for (Parameter parameter : Parameter.values()) {
            assertThat(parameter.key()).matches("[a-z][A-Za-z]+");
            assertThat(parameter.allowed()).isNotBlank();
            assertThat(parameter.description()).isNotBlank();
            parameter.defaultValue().ifPresent(value -> assertThat(parameter.normalize(value)).isEqualTo(value));
        }
    }

    @Test
    void theReadmeShowsTheParameterTableOfTheCode() throws IOException {
        Path readme = Path.of(System.getProperty("gatewaycsi.repo"), "README.md");
        assertThat(Files.readString(readme))
                .as("README.md's parameter table must be the code's: paste the output of `bin/gateway-csi parameters`")
                .contains(Parameter.markdownTable());
    }

    @Test
    void theReadmeShowsTheTunnelSecretTableOfTheCode() throws IOException {
        Path readme = Path.of(System.getProperty("gatewaycsi.repo"), "README.md");
        assertThat(Files.readString(readme)).as("README.md's tunnel Secret table must be the code's")
                .contains(TunnelSecret.markdownTable());
    }
}
