package io.gatewaycsi.common;

import com.google.protobuf.BoolValue;
import io.gatewaycsi.csi.v1.GetPluginCapabilitiesRequest;
import io.gatewaycsi.csi.v1.GetPluginCapabilitiesResponse;
import io.gatewaycsi.csi.v1.GetPluginInfoRequest;
import io.gatewaycsi.csi.v1.GetPluginInfoResponse;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.PluginCapability;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.gatewaycsi.csi.v1.ProbeResponse;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The CSI Identity service (CSI spec, "Identity Service RPC"): the driver's name and version, what the
 * process serves, and whether it is ready.
 */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {

    private final String driverName;
    private final String version;
    private final boolean servesController;
    private final BooleanSupplier ready;

    /**
     * @param driverName       the CSI driver name, checked with {@link DriverName#validate}
     * @param version          the vendor version reported by GetPluginInfo
     * @param servesController whether this process serves the Controller service; only then is
     *                         CONTROLLER_SERVICE reported by GetPluginCapabilities
     * @param ready            answers Probe: true once the process can serve its RPCs
     */
    public IdentityService(String driverName, String version, boolean servesController, BooleanSupplier ready) {
        this.driverName = DriverName.validate(driverName);
        this.version = Objects.requireNonNull(version, "version");
        this.servesController = servesController;
        this.ready = Objects.requireNonNull(ready, "ready");
    }

    @Override
    public void getPluginInfo(GetPluginInfoRequest request, StreamObserver<GetPluginInfoResponse> responses) {
        Rpcs.unary(responses, () -> GetPluginInfoResponse.newBuilder()
                .setName(driverName).setVendorVersion(version).build());
    }

    @Override
    public void getPluginCapabilities(GetPluginCapabilitiesRequest request,
                                      StreamObserver<GetPluginCapabilitiesResponse> responses) {
        Rpcs.unary(responses, () -> {
            GetPluginCapabilitiesResponse.Builder response = GetPluginCapabilitiesResponse.newBuilder();
            if (servesController) {
                response.addCapabilities(PluginCapability.newBuilder().setService(
                        PluginCapability.Service.newBuilder().setType(PluginCapability.Service.Type.CONTROLLER_SERVICE)));
            }
            return response.build();
        });
    }

    @Override
    public void probe(ProbeRequest request, StreamObserver<ProbeResponse> responses) {
        Rpcs.unary(responses, () -> ProbeResponse.newBuilder()
                .setReady(BoolValue.of(ready.getAsBoolean())).build());
    }
}
