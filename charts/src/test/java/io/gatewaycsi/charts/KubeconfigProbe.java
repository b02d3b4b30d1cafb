package io.gatewaycsi.charts;

import io.fabric8.kubernetes.client.Config;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run on the dist's runtime by DistRuntimeTest: reads the kubeconfig at {@code args[0]} as the driver's
 * Kubernetes client does and prints the API server and namespace it names.
 */
public final class KubeconfigProbe {

    private KubeconfigProbe() {
    }

    public static void main(String[] args) throws Exception {
        Config config = Config.fromKubeconfig(Files.readString(Path.of(args[0])));
        System.out.println(config.getMasterUrl() + " " + config.getNamespace());
    }
}
