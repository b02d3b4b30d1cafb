package io.gatewaycsi.common;

import io.grpc.stub.StreamObserver;

/** Runs the body of a unary RPC and answers the caller with its result or its mapped failure. */
public final class Rpcs {

    /** The body of a unary RPC: computes the response or throws. */
    @FunctionalInterface
    public interface Body<T> {
        /** Computes the response. */
        T call() throws Exception;
    }

    private Rpcs() {
    }

    /**
     * Calls {@code body} and completes {@code responses} with its result, or fails it with
     * {@link CsiException#toStatus(Throwable)} of what it threw.
     */
    public static <T> void unary(StreamObserver<T> responses, Body<T> body) {
        T response;
        try {
            response = body.call();
        } catch (Exception | Error e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            responses.onError(CsiException.toStatus(e).withCause(e).asRuntimeException());
            return;
        }
        responses.onNext(response);
        responses.onCompleted();
    }
}
