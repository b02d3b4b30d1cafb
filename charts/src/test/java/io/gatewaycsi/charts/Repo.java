package io.gatewaycsi.charts;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths of the repository the tests read: the chart, the test values, the driver distribution. */
final class Repo {

    private Repo() {
    }

    /** The repository root: surefire's {@code gatewaycsi.repo}, else the parent of this module. */
    static Path root() {
        String property = System.getProperty("gatewaycsi.repo");
        Path root = property != null && !property.isBlank() ? Path.of(property) : Path.of("..");
        root = root.toAbsolutePath().normalize();
        if (!Files.isRegularFile(root.resolve("charts/gateway-csi/Chart.yaml"))) {
            // Maven run from this module's directory: gatewaycsi.repo is the module itself.
            Path parent = root.getParent();
            if (parent != null && Files.isRegularFile(parent.resolve("charts/gateway-csi/Chart.yaml"))) {
                return parent;
            }
            throw new IllegalStateException("no charts/gateway-csi/Chart.yaml under " + root);
        }
        return root;
    }

    /** The chart's directory, charts/gateway-csi. */
    static Path chart() {
        return root().resolve("charts/gateway-csi");
    }

    /** A file of this module's test resources, such as {@code values/everything.yaml}. */
    static Path testResource(String relative) {
        return root().resolve("charts/src/test/resources").resolve(relative);
    }

    /** The driver distribution the Maven build assembles (cli/target/dist). */
    static Path dist() {
        Path dist = root().resolve("cli/target/dist");
        if (!Files.isExecutable(dist.resolve("bin/gateway-csi")) || !Files.isExecutable(dist.resolve("runtime/bin/java"))) {
            throw new IllegalStateException(dist + " is missing or incomplete: build it first with "
                    + "`./mvnw -pl cli -am package -DskipTests` (the charts module needs the cli module built)");
        }
        return dist;
    }
}
