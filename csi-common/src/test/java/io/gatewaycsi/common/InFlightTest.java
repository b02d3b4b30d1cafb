package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

class InFlightTest {

    private final InFlight inFlight = new InFlight();

    @Test
    void aSecondOperationOnTheSameKeyIsAborted() {
        try (InFlight.Lock ignored = inFlight.acquire("vol-1", "NodeStageVolume")) {
            assertThatThrownBy(() -> inFlight.acquire("vol-1", "NodeStageVolume"))
                    .isInstanceOfSatisfying(CsiException.class,
                            e -> org.assertj.core.api.Assertions.assertThat(e.code()).isEqualTo(Status.Code.ABORTED));
        }
    }

    @Test
    void differentKeysDoNotWaitAndAReleasedKeyIsFree() {
        try (InFlight.Lock a = inFlight.acquire("vol-1", "op"); InFlight.Lock b = inFlight.acquire("vol-2", "op")) {
            // both held at once
        }
        inFlight.acquire("vol-1", "op").close();
    }
}
