package io.gatewaycsi.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The single-machine gateway of {@code gateway-csi all}: a real nfs-ganesha started by the repository's
 * {@code test/gateway/up} in its own network namespace (named {@code gwlocal}, subnet 10.213.20.0/30), and
 * removed by {@code test/gateway/down} when the driver stops.
 */
final class LocalGateway implements AutoCloseable {

    static final String NAME = "gwlocal";
    static final String SUBNET = "10.213.20.0/30";
    private static final long SCRIPT_SECONDS = 120;

    private final Path scripts;
    private final Map<String, String> values;

    private LocalGateway(Path scripts, Map<String, String> values) {
        this.scripts = scripts;
        this.values = values;
    }

    /**
     * Starts (or finds running) the local gateway.
     *
     * @param home the repository root ({@code bin/gateway-csi} passes it)
     * @throws IOException when the scripts are missing or the gateway does not come up, with their message
     */
    static LocalGateway start(Path home) throws IOException, InterruptedException {
        Path scripts = home.resolve("test/gateway");
        if (!Files.isExecutable(scripts.resolve("up"))) {
            throw new IOException("no local gateway: " + scripts.resolve("up") + " is missing; pass"
                    + " --gateway server:/share for a real one");
        }
        String output = run(scripts.resolve("up"));
        Map<String, String> values = new HashMap<>();
        for (String line : output.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        if (!values.containsKey("NFS_SERVER") || !values.containsKey("NFS_SHARE")) {
            throw new IOException("test/gateway/up did not report NFS_SERVER and NFS_SHARE: " + output.strip());
        }
        return new LocalGateway(scripts, values);
    }

    /** The gateway's address. */
    String server() {
        return values.get("NFS_SERVER");
    }

    /** The exported share. */
    String share() {
        return values.get("NFS_SHARE");
    }

    /** The local directory behind the share. */
    String exportDir() {
        return values.get("NFS_EXPORT_DIR");
    }

    private static String run(Path script) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(List.of(script.toString()))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().put("GATEWAY_NAME", NAME);
        builder.environment().put("GATEWAY_SUBNET", SUBNET);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(SCRIPT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(script + " did not finish within " + SCRIPT_SECONDS + " s");
        }
        if (process.exitValue() != 0) {
            throw new IOException(script + " failed with exit code " + process.exitValue() + " (its log is above)");
        }
        return output;
    }

    @Override
    public void close() {
        try {
            run(scripts.resolve("down"));
        } catch (IOException e) {
            System.err.println("gateway-csi: warning: stopping the local gateway failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
