package io.gatewaycsi.mounthelper;

import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.HealthResponse;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The mount helper's gRPC API ({@code gatewaycsi.mounthelper.v1.MountHelper}) as served to the node plugin.
 * Health reports whether this process can mount: the FUSE device must be there and usable.
 */
public final class MountHelperService extends MountHelperGrpc.MountHelperImplBase {

    private final Path fuseDevice;

    /** @param fuseDevice the FUSE character device, {@code /dev/fuse} outside tests */
    public MountHelperService(Path fuseDevice) {
        this.fuseDevice = fuseDevice;
    }

    @Override
    public void health(HealthRequest request, StreamObserver<HealthResponse> responses) {
        Rpcs.unary(responses, () -> {
            if (!Files.isReadable(fuseDevice) || !Files.isWritable(fuseDevice)) {
                return HealthResponse.newBuilder().setReady(false).setMessage(fuseDevice
                        + " is missing or not accessible; give the mount helper container the FUSE device").build();
            }
            return HealthResponse.newBuilder().setReady(true).build();
        });
    }
}
