package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverName;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.LogSetup;
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
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, e.getMessage());
        }
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
