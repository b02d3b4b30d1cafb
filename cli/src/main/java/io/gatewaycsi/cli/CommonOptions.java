package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverName;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.HealthServer;
import io.gatewaycsi.common.LogSetup;
import io.gatewaycsi.common.metrics.MetricsServer;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Options every CSI role takes. */
final class CommonOptions {

    @Option(names = "--endpoint", paramLabel = "URL", converter = EndpointConverter.class,
            defaultValue = "${env:CSI_ENDPOINT:-unix:///run/gateway-csi/csi.sock}",
            description = "Where to serve CSI: unix:///absolute/path.sock or tcp://host:port"
                    + " (default: $CSI_ENDPOINT, else ${DEFAULT-VALUE}).")
    Endpoint endpoint;

    @Option(names = "--driver-name", paramLabel = "NAME", defaultValue = DriverName.DEFAULT,
            description = "CSI driver name reported by GetPluginInfo; the StorageClass provisioner"
                    + " (default: ${DEFAULT-VALUE}).")
    String driverName;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "error, warn, info or debug (default: ${DEFAULT-VALUE}); debug logs requests"
                    + " without their secrets.")
    String logLevel;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT",
            defaultValue = "${env:METRICS_ADDRESS}",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 0.0.0.0:29811, or :29811);"
                    + " off when not given (default: $METRICS_ADDRESS).")
    String metricsAddress;

    @Option(names = "--health-address", paramLabel = "HOST:PORT",
            defaultValue = "${env:HEALTH_ADDRESS}",
            description = "Serve the liveness endpoint http://HOST:PORT/healthz, answered by calling this"
                    + " process's own CSI Probe (as the livenessprobe sidecar would); off when not given"
                    + " (default: $HEALTH_ADDRESS).")
    String healthAddress;

    @Option(names = "--events", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "Send Kubernetes Events (fallbacks, mount failures, repairs) to the API server: auto"
                    + " (default) when running in a cluster (KUBERNETES_SERVICE_HOST set), on, or off; events"
                    + " are always logged.")
    String events;

    @Option(names = "--allowed-mount-options", paramLabel = "NAME", split = ",",
            description = "Mount option names accepted beyond the nfs(5) options gateway-csi knows,"
                    + " comma-separated (e.g. clientaddr); values are still checked for shape.")
    List<String> allowedMountOptions = List.of();

    /** The extra mount option names. */
    Set<String> allowedMountOptions() {
        return new LinkedHashSet<>(allowedMountOptions);
    }

    /** Checks the values picocli cannot and configures logging. */
    void apply(CommandLine commandLine) {
        try {
            DriverName.validate(driverName);
            LogSetup.configure(logLevel);
            if (metricsAddress != null && !metricsAddress.isBlank()) {
                MetricsServer.parseAddress(metricsAddress);
            }
            if (healthAddress != null && !healthAddress.isBlank()) {
                MetricsServer.parseAddress(healthAddress);
            }
            Observability.EventsMode.parse(events);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, e.getMessage());
        }
    }

    /** Starts this process's metrics endpoint and event recorder (after {@link #apply}). */
    Observability observability(String component, String host) throws java.io.IOException {
        return Observability.start(metricsAddress, Observability.EventsMode.parse(events), component, host);
    }

    /** Starts the {@code /healthz} endpoint probing {@link #endpoint} (after {@link #apply}); null when off. */
    HealthServer health() throws java.io.IOException {
        return healthAddress == null || healthAddress.isBlank() ? null : HealthServer.start(healthAddress, endpoint);
    }

    /** Parses endpoint flags with {@link Endpoint#parse}. */
    static final class EndpointConverter implements CommandLine.ITypeConverter<Endpoint> {
        @Override
        public Endpoint convert(String value) {
            try {
                return Endpoint.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
