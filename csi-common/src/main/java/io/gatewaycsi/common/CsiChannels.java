package io.gatewaycsi.common;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Client channels to a gRPC endpoint of ours (the mount helper, or a CSI server in tests and in the
 * {@code gateway-csi} client), over the same epoll transport as {@link CsiServer}. One event-loop thread is
 * shared by every channel of the process.
 */
public final class CsiChannels {

    private static final class Shared {
        static final EventLoopGroup EVENT_LOOP = new MultiThreadIoEventLoopGroup(1,
                (ThreadFactory) runnable -> Thread.ofPlatform().daemon().name("grpc-client-loop").unstarted(runnable),
                EpollIoHandler.newFactory());
    }

    private CsiChannels() {
    }

    /** Opens a plaintext channel to {@code endpoint}; it connects lazily, on the first call. */
    public static ManagedChannel open(Endpoint endpoint) {
        NettyChannelBuilder builder = endpoint.isUnix()
                ? NettyChannelBuilder.forAddress(new DomainSocketAddress(endpoint.socketPath().toString()))
                        .channelType(EpollDomainSocketChannel.class)
                        // grpc asks every connection for SO_KEEPALIVE, which unix sockets do not have (netty
                        // warns "Unknown channel option" once per connection); null takes the option away.
                        .withOption(ChannelOption.SO_KEEPALIVE, null)
                : NettyChannelBuilder.forAddress(new InetSocketAddress(endpoint.host(), endpoint.port()))
                        .channelType(EpollSocketChannel.class);
        return builder.eventLoopGroup(Shared.EVENT_LOOP).usePlaintext().build();
    }

    /** Shuts {@code channel} down, waiting up to one second for calls in flight. */
    public static void close(ManagedChannel channel) {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(1, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
