package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LogSetupTest {

    @AfterEach
    void backToInfo() {
        LogSetup.configure("info");
    }

    /** At debug, the driver's own loggers say everything; gRPC's and netty's (unshaded since grpc-netty) stay at info. */
    @Test
    void debugLeavesGrpcAndNettyAtInfo() {
        LogSetup.configure("debug");
        assertThat(Logger.getLogger("io.gatewaycsi.node.NodeService").isLoggable(Level.FINE)).isTrue();
        for (String library : new String[] {"io.grpc.netty.NettyServerHandler", "io.netty.channel.DefaultChannelPipeline",
                "io.netty.util.internal.PlatformDependent"}) {
            Logger logger = Logger.getLogger(library);
            assertThat(logger.isLoggable(Level.FINE)).as(library).isFalse();
            assertThat(logger.isLoggable(Level.INFO)).as(library).isTrue();
        }
    }

    @Test
    void warnQuietsTheLibrariesToo() {
        LogSetup.configure("warn");
        assertThat(Logger.getLogger("io.netty.bootstrap.Bootstrap").isLoggable(Level.INFO)).isFalse();
        assertThat(Logger.getLogger("io.netty.bootstrap.Bootstrap").isLoggable(Level.WARNING)).isTrue();
    }
}
