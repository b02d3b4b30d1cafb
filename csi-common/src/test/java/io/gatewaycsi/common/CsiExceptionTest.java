package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class CsiExceptionTest {

    @Test
    void aCsiExceptionKeepsItsCodeAndMessage() {
        Status status = CsiException.toStatus(CsiException.notFound("volume `v` does not exist"));
        assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(status.getDescription()).isEqualTo("volume `v` does not exist");
    }

    @Test
    void illegalArgumentsAreInvalidArgument() {
        assertThat(CsiException.toStatus(new IllegalArgumentException("bad")).getCode())
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @Test
    void timeoutsAreDeadlineExceeded() {
        assertThat(CsiException.toStatus(new TimeoutException("slow")).getCode())
                .isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    }

    @Test
    void gRpcStatusesPassThrough() {
        assertThat(CsiException.toStatus(Status.UNAVAILABLE.asRuntimeException()).getCode())
                .isEqualTo(Status.Code.UNAVAILABLE);
    }

    @Test
    void anythingElseIsInternalWithItsMessage() {
        Status status = CsiException.toStatus(new IllegalStateException("broken"));
        assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(status.getDescription()).isEqualTo("internal error: broken");
    }
}
