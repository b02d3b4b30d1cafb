package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.csi.v1.GetPluginCapabilitiesRequest;
import io.gatewaycsi.csi.v1.GetPluginInfoRequest;
import io.gatewaycsi.csi.v1.GetPluginInfoResponse;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.PluginCapability;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsiServerTest {

    @TempDir
    Path dir;

    private final AtomicBoolean ready = new AtomicBoolean(true);

    private CsiServer start(Path socket, boolean servesController) throws IOException {
        IdentityService identity = new IdentityService("nfs.gateway-csi.io", "1.2.3", servesController, ready::get);
        return CsiServer.start(Endpoint.parse("unix://" + socket), List.of(identity));
    }

    private final List<ManagedChannel> channels = new java.util.ArrayList<>();

    private IdentityGrpc.IdentityBlockingStub identity(Path socket) {
        ManagedChannel channel = CsiChannels.open(Endpoint.parse("unix://" + socket));
        channels.add(channel);
        return IdentityGrpc.newBlockingStub(channel);
    }

    @org.junit.jupiter.api.AfterEach
    void closeChannels() {
        channels.forEach(CsiChannels::close);
    }

    @Test
    void servesIdentityOnAUnixSocket() throws IOException {
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = start(socket, false)) {
            GetPluginInfoResponse info = identity(socket).getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
            assertThat(info.getName()).isEqualTo("nfs.gateway-csi.io");
            assertThat(info.getVendorVersion()).isEqualTo("1.2.3");
            assertThat(identity(socket).getPluginCapabilities(
                    GetPluginCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList()).isEmpty();
        }
    }

    /**
     * grpc asks every connection for SO_KEEPALIVE; on a unix socket netty has no such option and warns once per
     * connection ("Unknown channel option 'SO_KEEPALIVE'"), on both ends: a client that polls (train-aot,
     * the node plugin asking its mount helper) floods its log. Neither end asks for it on unix sockets.
     */
    @Test
    void aUnixSocketConnectionAsksForNoOptionUnixSocketsLack() throws IOException {
        Logger bootstrap = Logger.getLogger("io.netty.bootstrap");
        List<LogRecord> warnings = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Level before = bootstrap.getLevel();
        bootstrap.setLevel(Level.ALL);
        bootstrap.addHandler(capture);
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = start(socket, false)) {
            for (int i = 0; i < 3; i++) {
                ManagedChannel channel = CsiChannels.open(Endpoint.parse("unix://" + socket));
                try {
                    IdentityGrpc.newBlockingStub(channel).probe(ProbeRequest.getDefaultInstance());
                } finally {
                    CsiChannels.close(channel);
                }
            }
        } finally {
            bootstrap.removeHandler(capture);
            bootstrap.setLevel(before);
        }
        assertThat(warnings).extracting(LogRecord::getMessage).isEmpty();
    }

    @Test
    void reportsTheControllerServiceOnlyWhereItIsServed() throws IOException {
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = start(socket, true)) {
            assertThat(identity(socket).getPluginCapabilities(
                    GetPluginCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList())
                    .extracting(c -> c.getService().getType())
                    .containsExactly(PluginCapability.Service.Type.CONTROLLER_SERVICE);
        }
    }

    @Test
    void probeReportsReadinessTruthfully() throws IOException {
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = start(socket, false)) {
            ready.set(false);
            assertThat(identity(socket).probe(ProbeRequest.getDefaultInstance()).getReady().getValue()).isFalse();
            ready.set(true);
            assertThat(identity(socket).probe(ProbeRequest.getDefaultInstance()).getReady().getValue()).isTrue();
        }
    }

    @Test
    void theSocketIsReadableAndWritableByOwnerAndGroupOnly() throws IOException {
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = start(socket, false)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");
        }
    }

    @Test
    void missingSocketDirectoriesAreCreatedAndTheSocketIsRemovedAtShutdown() throws IOException {
        Path socket = dir.resolve("plugins/nfs.gateway-csi.io/csi.sock");
        CsiServer server = start(socket, false);
        assertThat(socket).exists();
        server.shutdown(Duration.ofSeconds(1));
        assertThat(socket).doesNotExist();
    }

    @Test
    void aStaleSocketLeftByACrashedProcessIsReplaced() throws IOException {
        Path socket = dir.resolve("csi.sock");
        try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            crashed.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(socket).exists();
        try (CsiServer ignored = start(socket, false)) {
            assertThat(identity(socket).getPluginInfo(GetPluginInfoRequest.getDefaultInstance()).getName())
                    .isEqualTo("nfs.gateway-csi.io");
        }
    }

    @Test
    void aSecondInstanceOnTheSameSocketIsRefusedAndTheFirstKeepsServing() throws IOException {
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = start(socket, false)) {
            assertThatThrownBy(() -> start(socket, false))
                    .isInstanceOf(IOException.class)
                    .hasMessage("another process is already serving on unix://" + socket
                            + "; stop it or choose another endpoint");
            assertThat(identity(socket).probe(ProbeRequest.getDefaultInstance()).getReady().getValue()).isTrue();
        }
    }

    @Test
    void aPathThatIsNotASocketIsLeftAloneAndRefused() throws IOException {
        Path file = Files.writeString(dir.resolve("csi.sock"), "data");
        assertThatThrownBy(() -> start(file, false)).hasMessageContaining("exists and is not a socket");
        assertThat(file).hasContent("data");
    }

    @Test
    void aSocketDirectoryThatCannotBeCreatedIsNamedInTheError() throws IOException {
        Path notADirectory = Files.writeString(dir.resolve("file"), "");
        assertThatThrownBy(() -> start(notADirectory.resolve("csi.sock"), false))
                .hasMessageStartingWith("cannot create the socket directory " + notADirectory);
    }

    @Test
    void aReadOnlySocketDirectoryIsNamedInTheError() {
        // /proc/self/fdinfo cannot be written even by root.
        assertThatThrownBy(() -> start(Path.of("/proc/self/fdinfo/csi.sock"), false))
                .hasMessageContaining("/proc/self/fdinfo");
    }
}
