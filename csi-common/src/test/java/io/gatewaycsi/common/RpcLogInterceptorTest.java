package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RpcLogInterceptorTest {

    private static final MethodDescriptor<NodeStageVolumeRequest, NodeStageVolumeRequest> STAGE =
            MethodDescriptor.<NodeStageVolumeRequest, NodeStageVolumeRequest>newBuilder()
                    .setType(MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName("csi.v1.Node/NodeStageVolume")
                    .setRequestMarshaller(ProtoUtils.marshaller(NodeStageVolumeRequest.getDefaultInstance()))
                    .setResponseMarshaller(ProtoUtils.marshaller(NodeStageVolumeRequest.getDefaultInstance()))
                    .build();

    private final List<LogRecord> records = new ArrayList<>();
    private final Logger rpcLogger = Logger.getLogger("io.gatewaycsi.rpc");
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            records.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private ServerServiceDefinition node;
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void startServer() throws Exception {
        rpcLogger.addHandler(capture);
        rpcLogger.setLevel(Level.FINE);
        node = ServerServiceDefinition.builder("csi.v1.Node")
                .addMethod(STAGE, ServerCalls.asyncUnaryCall((request, responses) -> {
                    if (request.getStagingTargetPath().isEmpty()) {
                        responses.onError(Status.INVALID_ARGUMENT.withDescription("staging_target_path is empty")
                                .asRuntimeException());
                    } else {
                        responses.onNext(request);
                        responses.onCompleted();
                    }
                }))
                .build();
        BindableService bindable = () -> node;
        server = InProcessServerBuilder.forName("log-test").directExecutor()
                .addService(ServerInterceptors.intercept(bindable, new RpcLogInterceptor())).build().start();
        channel = InProcessChannelBuilder.forName("log-test").directExecutor().build();
    }

    @AfterEach
    void stopServer() {
        channel.shutdownNow();
        server.shutdownNow();
        rpcLogger.removeHandler(capture);
        rpcLogger.setLevel(null);
    }

    private void stage(NodeStageVolumeRequest request) {
        try {
            ClientCalls.blockingUnaryCall(channel, STAGE, io.grpc.CallOptions.DEFAULT, request);
        } catch (StatusRuntimeException ignored) {
            // the log line is what is checked
        }
    }

    private List<String> infoLines() {
        return records.stream().filter(r -> r.getLevel() == Level.INFO).map(LogRecord::getMessage).toList();
    }

    @Test
    void logsOneLineWithMethodVolumeDurationAndCode() {
        stage(NodeStageVolumeRequest.newBuilder().setVolumeId("v1|gw|share|vol").setStagingTargetPath("/s").build());
        assertThat(infoLines()).singleElement().satisfies(line -> assertThat(line)
                .startsWith("event=rpc method=NodeStageVolume volume_id=v1|gw|share|vol duration_ms=")
                .endsWith(" code=OK"));
    }

    @Test
    void failuresCarryTheirCodeAndDescription() {
        stage(NodeStageVolumeRequest.newBuilder().setVolumeId("vol").build());
        assertThat(infoLines()).singleElement().satisfies(line -> assertThat(line)
                .contains("code=INVALID_ARGUMENT error=\"staging_target_path is empty\""));
    }

    @Test
    void theCallerHasItsAnswerBeforeTheLineIsWritten() throws Exception {
        // A log sink that cannot write (stderr into a full pipe) holds the line until the caller has its answer.
        CountDownLatch answered = new CountDownLatch(1);
        AtomicBoolean heldUntilAnswered = new AtomicBoolean();
        Handler stuck = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (!isLoggable(record)) {
                    return;
                }
                try {
                    heldUntilAnswered.set(answered.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        ExecutorService rpcThreads = Executors.newSingleThreadExecutor();
        Server pooled = InProcessServerBuilder.forName("log-test-pooled").executor(rpcThreads)
                .addService(ServerInterceptors.intercept(node, new RpcLogInterceptor()))
                .build().start();
        ManagedChannel caller = InProcessChannelBuilder.forName("log-test-pooled").build();
        stuck.setLevel(Level.INFO);
        rpcLogger.addHandler(stuck);
        try {
            NodeStageVolumeRequest request = NodeStageVolumeRequest.newBuilder().setVolumeId("vol")
                    .setStagingTargetPath("/s").build();
            assertThat(ClientCalls.blockingUnaryCall(caller, STAGE,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), request)).isEqualTo(request);
            answered.countDown();
            pooled.shutdown().awaitTermination(10, TimeUnit.SECONDS);
            rpcThreads.shutdown(); // the line is written on the RPC thread, after the answer
            assertThat(rpcThreads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            assertThat(heldUntilAnswered).isTrue();
            assertThat(infoLines()).singleElement().satisfies(line -> assertThat(line).contains("code=OK"));
        } finally {
            rpcLogger.removeHandler(stuck);
            caller.shutdownNow();
            pooled.shutdownNow();
            rpcThreads.shutdownNow();
        }
    }

    @Test
    void secretsNeverReachTheLogEvenAtDebugLevel() {
        stage(NodeStageVolumeRequest.newBuilder().setVolumeId("vol").setStagingTargetPath("/s")
                .putSecrets("password", "hunter2").putVolumeContext("server", "gw").build());
        assertThat(records).extracting(LogRecord::getMessage)
                .anySatisfy(line -> assertThat(line).startsWith("event=request").contains("server"))
                .allSatisfy(line -> assertThat(line).doesNotContain("hunter2").doesNotContain("password"));
    }

    @Test
    void theRedactorRemovesSecretsAtAnyDepthAndKeepsTheRest() {
        CreateVolumeRequest request = CreateVolumeRequest.newBuilder().setName("pvc-1")
                .putSecrets("token", "s3cr3t").putParameters("server", "gw").build();
        CreateVolumeRequest redacted = (CreateVolumeRequest) SecretRedactor.redact(request);
        assertThat(redacted.getSecretsMap()).isEmpty();
        assertThat(redacted.getParametersMap()).containsEntry("server", "gw");
        assertThat(redacted.getName()).isEqualTo("pvc-1");
    }
}
