package io.gatewaycsi.common.testing;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** For tests: the gRPC status code a call ends with. */
public final class StatusCodes {

    private StatusCodes() {
    }

    /** {@code OK} when {@code call} returns, else the code of the {@link StatusRuntimeException} it throws. */
    public static Status.Code codeOf(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }
}
