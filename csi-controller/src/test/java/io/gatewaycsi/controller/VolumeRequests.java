package io.gatewaycsi.controller;

import io.gatewaycsi.common.testing.TestCapabilities;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.util.Map;
import java.util.TreeMap;

/** CreateVolume requests for the test gateway's share, as the gateway tests make them. */
final class VolumeRequests {

    private VolumeRequests() {
    }

    /**
     * A request for {@code name} (RWX) with server, share, {@code subDir} and nfsVersion 4, then the
     * parameters {@code more} as key, value, key, value… (replacing those).
     */
    static CreateVolumeRequest.Builder of(TestGateway gateway, String name, String subDir, String... more) {
        Map<String, String> parameters = new TreeMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                "subDir", subDir, "nfsVersion", "4"));
        for (int i = 0; i < more.length; i += 2) {
            parameters.put(more[i], more[i + 1]);
        }
        return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(TestCapabilities.RWX)
                .putAllParameters(parameters);
    }
}
