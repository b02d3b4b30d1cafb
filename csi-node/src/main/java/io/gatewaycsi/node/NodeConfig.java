package io.gatewaycsi.node;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The node plugin's settings.
 *
 * @param nodeId              the ID NodeGetInfo reports (the Kubernetes node name)
 * @param topology            topology segments NodeGetInfo reports; empty for none
 * @param allowedMountOptions mount option names accepted beyond nfs(5)'s known ones
 * @param allowedDirs         absolute directories below which staging and target paths must lie (kubelet's
 *                            root directory in a cluster); {@code /} allows any path but {@code /} itself and
 *                            the pseudo file systems {@code /proc}, {@code /sys} and {@code /dev}, which are
 *                            never allowed (see {@link NodePaths})
 */
public record NodeConfig(String nodeId, Map<String, String> topology, Set<String> allowedMountOptions,
                         List<Path> allowedDirs) {

    /** Settings that allow paths anywhere ({@code /}): for tests and single machines. */
    public NodeConfig(String nodeId, Map<String, String> topology, Set<String> allowedMountOptions) {
        this(nodeId, topology, allowedMountOptions, List.of(Path.of("/")));
    }

    public NodeConfig {
        Objects.requireNonNull(nodeId, "nodeId");
        if (nodeId.isBlank()) {
            throw new IllegalArgumentException("the node ID must not be empty: pass --node-id or set NODE_ID");
        }
        topology = Map.copyOf(topology);
        allowedMountOptions = Set.copyOf(allowedMountOptions);
        if (allowedDirs.isEmpty()) {
            throw new IllegalArgumentException("at least one allowed directory is needed (--allowed-dir)");
        }
        for (Path dir : allowedDirs) {
            if (!dir.isAbsolute()) {
                throw new IllegalArgumentException("allowed directory `" + dir + "` must be an absolute path");
            }
        }
        allowedDirs = allowedDirs.stream().map(Path::normalize).toList();
    }
}
