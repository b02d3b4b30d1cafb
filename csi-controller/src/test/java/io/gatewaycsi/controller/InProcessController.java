package io.gatewaycsi.controller;

import io.gatewaycsi.common.RpcLogInterceptor;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A {@link ControllerService} behind an in-process gRPC server, with the per-RPC log interceptor the
 * real server has, talking to gateways through libnfs as root (uid/gid 0, what the test gateway exports
 * to). Closing it stops the server and closes every gateway session.
 */
final class InProcessController implements AutoCloseable {

    private final GatewaySessions sessions;
    private final Server server;
    private final ManagedChannel channel;
    /** A blocking stub of the controller. */
    final ControllerGrpc.ControllerBlockingStub stub;

    /** @param options the gateway sessions' options; credentials are set to root */
    InProcessController(NfsSessionOptions options) throws IOException {
        sessions = new GatewaySessions(NfsClient.libnfs(), options.withCredentials(0, 0));
        String name = "controller-" + UUID.randomUUID();
        server = InProcessServerBuilder.forName(name).addService(new ControllerService(sessions, Set.of(), Map.of()))
                .intercept(new RpcLogInterceptor()).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        stub = ControllerGrpc.newBlockingStub(channel);
    }

    InProcessController() throws IOException {
        this(NfsSessionOptions.defaults());
    }

    @Override
    public void close() {
        channel.shutdownNow();
        server.shutdownNow();
        sessions.close();
    }
}
