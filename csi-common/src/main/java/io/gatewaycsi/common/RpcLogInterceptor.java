package io.gatewaycsi.common;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logs one line per RPC when it completes: method, the volume it concerns ({@code volume_id}, or
 * {@code name} for CreateVolume/CreateSnapshot, and {@code snapshot_id}), duration in milliseconds and the
 * gRPC status code, plus the error description when the call failed. The line is written after the answer
 * has been handed to gRPC, so a slow log sink never delays the caller (the duration ends when the answer
 * was ready). At debug level the request is logged too, with every {@code csi_secret} field removed
 * ({@link SecretRedactor}). Successful calls of the health-check methods (Probe, GetPluginInfo,
 * GetPluginCapabilities, the Get*Capabilities calls) are logged at debug only, since sidecars poll them.
 */
public final class RpcLogInterceptor implements ServerInterceptor {

    private static final Logger LOG = Logger.getLogger("io.gatewaycsi.rpc");
    private static final Set<String> POLLED = Set.of("Probe", "GetPluginInfo", "GetPluginCapabilities",
            "ControllerGetCapabilities", "NodeGetCapabilities", "NodeGetInfo", "Health");
    private static final String[] SUBJECT_FIELDS = {"volume_id", "name", "snapshot_id"};

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        long started = System.nanoTime();
        String method = call.getMethodDescriptor().getBareMethodName();
        LogLine line = LogLine.event("rpc").with("method", method);
        ServerCall<Q, R> logged = new SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                long finished = System.nanoTime();
                try {
                    super.close(status, trailers);
                } finally {
                    // After the answer is on its way: writing the line (a syscall, or a wait on a full pipe)
                    // does not hold back the caller.
                    line.with("duration_ms", String.format("%.3f", (finished - started) / 1e6))
                            .with("code", status.getCode());
                    if (!status.isOk()) {
                        line.with("error", status.getDescription());
                    }
                    Level level = status.isOk() && POLLED.contains(method) ? Level.FINE : Level.INFO;
                    LOG.log(level, line::toString);
                }
            }
        };
        return new SimpleForwardingServerCallListener<>(next.startCall(logged, headers)) {
            @Override
            public void onMessage(Q request) {
                if (request instanceof Message message) {
                    describe(message, line);
                    if (LOG.isLoggable(Level.FINE)) {
                        LOG.fine(LogLine.event("request").with("method", method)
                                .with("body", TextFormat.printer().emittingSingleLine(true)
                                        .printToString(SecretRedactor.redact(message))).toString());
                    }
                }
                super.onMessage(request);
            }
        };
    }

    private static void describe(Message request, LogLine line) {
        for (String name : SUBJECT_FIELDS) {
            FieldDescriptor field = request.getDescriptorForType().findFieldByName(name);
            if (field != null && field.getType() == FieldDescriptor.Type.STRING) {
                String value = (String) request.getField(field);
                if (!value.isEmpty()) {
                    line.with(name, value);
                }
            }
        }
    }
}
