package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DriverNameTest {

    @ParameterizedTest
    @ValueSource(strings = {"nfs.gateway-csi.io", "a", "A1", "my-driver.example.com"})
    void namesOfTheSpecsShapeAreAccepted(String name) {
        assertThat(DriverName.validate(name)).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"-driver", "driver.", "dri ver", "driver_name", "nfs/gateway"})
    void namesThatBreakTheSpecsCharacterRulesAreRefused(String name) {
        assertThatThrownBy(() -> DriverName.validate(name)).hasMessageContaining("must begin and end");
    }

    @Test
    void namesLongerThan63CharactersAreRefused() {
        assertThat(DriverName.validate("a".repeat(63))).hasSize(63);
        assertThatThrownBy(() -> DriverName.validate("a".repeat(64))).hasMessageContaining("at most 63");
    }

    @Test
    void emptyNamesAreRefused() {
        assertThatThrownBy(() -> DriverName.validate("")).hasMessageContaining("must not be empty");
    }
}
