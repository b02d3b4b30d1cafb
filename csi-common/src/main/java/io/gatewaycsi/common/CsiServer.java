package io.gatewaycsi.common;

import io.gatewaycsi.common.metrics.RpcMetrics;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A gRPC server for CSI services on a unix domain socket (or TCP), over netty's native epoll transport.
 * RPCs run on a pool of at most {@link #MAX_RPC_THREADS} platform threads (made on demand, idle ones end after
 * a minute), so blocking work (exec, mounts, NFS calls — each with its own deadline) never holds an event-loop
 * thread; platform rather than virtual threads because libnfs and mount syscalls block in native code, which
 * pins a virtual thread's carrier (bench/RESULTS.md, benchmark 1). Every call passes
 * through {@link RpcLogInterceptor} and {@link RpcMetrics} (per-call duration by method and status code).
 */
public final class CsiServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CsiServer.class.getName());

    private final Endpoint endpoint;
    private final Server server;
    private final EventLoopGroup eventLoops;
    private final ExecutorService executor;

    private CsiServer(Endpoint endpoint, Server server, EventLoopGroup eventLoops, ExecutorService executor) {
        this.endpoint = endpoint;
        this.server = server;
        this.eventLoops = eventLoops;
        this.executor = executor;
    }

    /**
     * Binds {@code endpoint} and starts serving {@code services}.
     *
     * @throws IOException with a one-line message naming the endpoint, the cause and the fix (see
     *                     {@link SocketFiles#prepare})
     */
    public static CsiServer start(Endpoint endpoint, List<? extends BindableService> services) throws IOException {
        return start(endpoint, services, RpcMetrics.unregistered());
    }

    /**
     * Binds {@code endpoint} and starts serving {@code services}, timing every call into {@code metrics}
     * (shared by the servers of one process).
     *
     * @throws IOException with a one-line message naming the endpoint, the cause and the fix (see
     *                     {@link SocketFiles#prepare})
     */
    public static CsiServer start(Endpoint endpoint, List<? extends BindableService> services, RpcMetrics metrics)
            throws IOException {
        if (endpoint.isUnix()) {
            SocketFiles.prepare(endpoint.socketPath());
        }
        EventLoopGroup eventLoops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ExecutorService executor = rpcThreads();
        NettyServerBuilder builder = endpoint.isUnix()
                ? NettyServerBuilder.forAddress(new DomainSocketAddress(endpoint.socketPath().toString()))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .withChildOption(ChannelOption.SO_KEEPALIVE, null) // see CsiChannels.open
                : NettyServerBuilder.forAddress(new InetSocketAddress(endpoint.host(), endpoint.port()))
                        .channelType(EpollServerSocketChannel.class);
        builder.bossEventLoopGroup(eventLoops).workerEventLoopGroup(eventLoops).executor(executor);
        RpcLogInterceptor logging = new RpcLogInterceptor();
        for (BindableService service : services) {
            builder.addService(ServerInterceptors.intercept(service, logging, metrics));
        }
        Server server = builder.build();
        try {
            server.start();
            if (endpoint.isUnix()) {
                SocketFiles.restrict(endpoint.socketPath());
            }
        } catch (IOException | RuntimeException e) {
            server.shutdownNow();
            eventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            throw new IOException("cannot listen on " + endpoint + ": " + rootMessage(e)
                    + (endpoint.isUnix() ? "; check that this user can create files in " + endpoint.socketPath().getParent()
                            : "; check that the address is local and the port is free"), e);
        }
        LOG.info(LogLine.event("listening").with("endpoint", endpoint).toString());
        return new CsiServer(endpoint, server, eventLoops, executor);
    }

    /** The most RPCs served at once; more wait in line. */
    static final int MAX_RPC_THREADS = 64;

    private static ExecutorService rpcThreads() {
        ThreadFactory named = Thread.ofPlatform().daemon().name("rpc-", 0).factory();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(MAX_RPC_THREADS, MAX_RPC_THREADS, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), named);
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** The endpoint this server listens on. */
    public Endpoint endpoint() {
        return endpoint;
    }

    /** Blocks until the server has terminated. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /**
     * Stops accepting calls, lets calls in flight finish for up to {@code grace}, then cancels the rest and
     * removes the socket file.
     */
    public void shutdown(Duration grace) {
        server.shutdown();
        try {
            if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                server.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            eventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            if (endpoint.isUnix()) {
                SocketFiles.remove(endpoint.socketPath());
            }
        }
        LOG.info(LogLine.event("stopped").with("endpoint", endpoint).toString());
    }

    /** Shuts down with a 10 second grace period. */
    @Override
    public void close() {
        shutdown(Duration.ofSeconds(10));
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    }
}
