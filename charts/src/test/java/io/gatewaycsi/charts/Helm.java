package io.gatewaycsi.charts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real helm 3 binary: found on PATH, else in $(go env GOPATH)/bin, where
 * {@code go install helm.sh/helm/v3/cmd/helm@v3.19.0} (.ci/run) puts it. A missing helm is a failure with
 * the install command, never a skipped test.
 */
final class Helm {

    /** How to get helm where the tests look. */
    static final String INSTALL_HINT = "helm 3 is needed on PATH or in $(go env GOPATH)/bin: install it with "
            + "`go install helm.sh/helm/v3/cmd/helm@v3.19.0` (as .ci/run does)";

    /** The outcome of one helm command. */
    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        /** The command line and its output, for assertion messages. */
        String describe() {
            return String.join(" ", command) + "\nexit " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
        }
    }

    private static volatile Path binary;
    private final Path home;

    /** A helm whose cache, config and data directories are under {@code home} (nothing of the user's). */
    Helm(Path home) {
        this.home = home;
    }

    /** The helm binary; throws {@link AssertionError} with {@link #INSTALL_HINT} when there is none. */
    static Path binary() {
        Path found = binary;
        if (found == null) {
            found = locate().orElseThrow(() -> new AssertionError(INSTALL_HINT));
            binary = found;
        }
        return found;
    }

    private static Optional<Path> locate() {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, "helm"));
            }
        }
        goPath().ifPresent(gopath -> candidates.add(gopath.resolve("bin/helm")));
        candidates.add(Path.of(System.getProperty("user.home"), "go/bin/helm"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    private static Optional<Path> goPath() {
        String env = System.getenv("GOPATH");
        if (env != null && !env.isBlank()) {
            return Optional.of(Path.of(env.split(":")[0]));
        }
        for (String go : List.of("go", "/usr/local/go/bin/go")) {
            try {
                Process process = new ProcessBuilder(go, "env", "GOPATH").redirectErrorStream(true).start();
                String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0 && !out.isEmpty()) {
                    return Optional.of(Path.of(out.split(":")[0]));
                }
            } catch (IOException e) {
                // no go here: try the next one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** Runs {@code helm args…}. */
    Result run(String... args) {
        List<String> command = new ArrayList<>();
        command.add(binary().toString());
        Collections.addAll(command, args);
        try {
            Path out = Files.createTempFile(home, "helm", ".out");
            Path err = Files.createTempFile(home, "helm", ".err");
            ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
            Map<String, String> env = builder.environment();
            env.put("HELM_CACHE_HOME", home.resolve("cache").toString());
            env.put("HELM_CONFIG_HOME", home.resolve("config").toString());
            env.put("HELM_DATA_HOME", home.resolve("data").toString());
            Process process = builder.start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within 120 s");
            }
            return new Result(command, process.exitValue(), Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * {@code helm template <release> <chart> --namespace <namespace> -f <values>…} of the chart.
     *
     * @param chart the chart directory or archive
     */
    Result template(Path chart, String release, String namespace, List<Path> valuesFiles, String... extra) {
        List<String> args = new ArrayList<>(List.of("template", release, chart.toString(), "--namespace", namespace));
        for (Path values : valuesFiles) {
            args.add("--values");
            args.add(values.toString());
        }
        Collections.addAll(args, extra);
        return run(args.toArray(String[]::new));
    }
}
