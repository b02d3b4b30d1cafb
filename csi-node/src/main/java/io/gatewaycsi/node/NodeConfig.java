package io.gatewaycsi.node;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The node plugin's settings.
 *
 * @param nodeId              the ID NodeGetInfo reports (the Kubernetes node name)
 * @param topology            topology segments NodeGetInfo reports; empty for none
 * @param allowedMountOptions mount option names accepted beyond nfs(5)'s known ones
 */
public record NodeConfig(String nodeId, Map<String, String> topology, Set<String> allowedMountOptions) {

    public NodeConfig {
        Objects.requireNonNull(nodeId, "nodeId");
        if (nodeId.isBlank()) {
            throw new IllegalArgumentException("the node ID must not be empty: pass --node-id or set NODE_ID");
        }
        topology = Map.copyOf(topology);
        allowedMountOptions = Set.copyOf(allowedMountOptions);
    }
}
