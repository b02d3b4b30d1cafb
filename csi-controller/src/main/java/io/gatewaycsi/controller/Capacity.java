package io.gatewaycsi.controller;

import io.gatewaycsi.common.volume.Parameter;
import io.gatewaycsi.common.volume.VolumeParameters;
import io.gatewaycsi.nfs.NfsException;
import java.util.Map;

/** The space a gateway share has left, for GetCapacity (CSI spec, "GetCapacity"). */
final class Capacity {

    private final GatewaySessions sessions;

    Capacity(GatewaySessions sessions) {
        this.sessions = sessions;
    }

    /**
     * Available bytes on the share {@code parameters} name, or the largest of the known shares' when
     * {@code parameters} is empty.
     *
     * @throws IllegalArgumentException for invalid parameters
     */
    long available(Map<String, String> parameters) {
        if (parameters.isEmpty()) {
            long most = 0;
            for (GatewaySessions.Share share : sessions.knownShares()) {
                most = Math.max(most, available(share));
            }
            return most;
        }
        VolumeParameters parsed = VolumeParameters.parse(parameters, VolumeParameters.Source.STORAGE_CLASS);
        return available(GatewaySessions.Share.of(parsed.server(), parsed.share(), parsed.value(Parameter.NFS_VERSION)));
    }

    private long available(GatewaySessions.Share share) {
        try {
            return sessions.session(share).statvfs("/").availableBytes();
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "reading the free space of " + share.server() + ":" + share.share());
        }
    }
}
