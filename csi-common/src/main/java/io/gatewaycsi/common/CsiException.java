package io.gatewaycsi.common;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Objects;

/**
 * A failure with the gRPC status code the CSI spec prescribes for it (CSI spec, "Error Scheme" and each
 * RPC's error table). The message is what the caller sees: it names the cause and, where there is one, the
 * fix.
 */
public final class CsiException extends RuntimeException {

    private final Status.Code code;

    /** A failure with {@code code} and the message shown to the caller. */
    public CsiException(Status.Code code, String message) {
        this(code, message, null);
    }

    /** A failure with {@code code}, the message shown to the caller, and the underlying cause (logged only). */
    public CsiException(Status.Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** INVALID_ARGUMENT: the request itself is wrong and retrying it unchanged cannot succeed. */
    public static CsiException invalidArgument(String message) {
        return new CsiException(Status.Code.INVALID_ARGUMENT, message);
    }

    /** NOT_FOUND: the volume, snapshot or path named by the request does not exist. */
    public static CsiException notFound(String message) {
        return new CsiException(Status.Code.NOT_FOUND, message);
    }

    /** ALREADY_EXISTS: the name is taken by an incompatible object. */
    public static CsiException alreadyExists(String message) {
        return new CsiException(Status.Code.ALREADY_EXISTS, message);
    }

    /** ABORTED: an operation on the same object is in flight; the caller retries later. */
    public static CsiException aborted(String message) {
        return new CsiException(Status.Code.ABORTED, message);
    }

    /** FAILED_PRECONDITION: the request is valid but the system is not in a state to serve it. */
    public static CsiException failedPrecondition(String message) {
        return new CsiException(Status.Code.FAILED_PRECONDITION, message);
    }

    /** UNAVAILABLE: a dependency (the gateway, the mount helper) did not answer; retrying may succeed. */
    public static CsiException unavailable(String message, Throwable cause) {
        return new CsiException(Status.Code.UNAVAILABLE, message, cause);
    }

    /** DEADLINE_EXCEEDED: the operation did not finish within its deadline. */
    public static CsiException deadlineExceeded(String message) {
        return new CsiException(Status.Code.DEADLINE_EXCEEDED, message);
    }

    /** INTERNAL: a failure of the driver or the host that the caller cannot fix by changing the request. */
    public static CsiException internal(String message, Throwable cause) {
        return new CsiException(Status.Code.INTERNAL, message, cause);
    }

    /** The gRPC status code of this failure. */
    public Status.Code code() {
        return code;
    }

    /**
     * Maps any failure to the status returned to the caller: a {@link CsiException} keeps its code, a gRPC
     * status is passed on, {@link IllegalArgumentException} is INVALID_ARGUMENT, a timeout is
     * DEADLINE_EXCEEDED and anything else is INTERNAL with the exception's message.
     */
    public static Status toStatus(Throwable failure) {
        return switch (failure) {
            case CsiException e -> Status.fromCode(e.code).withDescription(e.getMessage());
            case StatusRuntimeException e -> e.getStatus();
            case IllegalArgumentException e -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
            case java.util.concurrent.TimeoutException e -> Status.DEADLINE_EXCEEDED.withDescription(e.getMessage());
            default -> Status.INTERNAL.withDescription("internal error: "
                    + (failure.getMessage() != null ? failure.getMessage() : failure.getClass().getSimpleName()));
        };
    }
}
