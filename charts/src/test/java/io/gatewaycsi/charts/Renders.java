package io.gatewaycsi.charts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The value sets every render test runs on: the chart's defaults, each of the chart's examples/*.yaml, and
 * each of this module's test values (src/test/resources/values/*.yaml). Each is rendered once per test run
 * and cached. A test values file's {@code # api-versions: group/version/Kind…} line lists the APIs the
 * render's cluster is said to serve (helm template --api-versions, what .Capabilities.APIVersions.Has sees).
 */
final class Renders {

    /**
     * One value set: a label for messages, the values files given to helm, in order, and the extra API
     * versions helm template is told the cluster has.
     */
    record ValueSet(String label, List<Path> files, List<String> apiVersions) {
        ValueSet(String label, List<Path> files) {
            this(label, files, List.of());
        }

        @Override
        public String toString() {
            return label;
        }
    }

    static final String RELEASE = "gwcsi";
    static final String NAMESPACE = "gateway-csi-system";

    private static final Map<String, Rendered> CACHE = new ConcurrentHashMap<>();
    private static volatile Helm helm;

    private Renders() {
    }

    static Helm helm() {
        Helm h = helm;
        if (h == null) {
            synchronized (Renders.class) {
                if (helm == null) {
                    try {
                        Path home = Files.createTempDirectory("gateway-csi-helm");
                        home.toFile().deleteOnExit();
                        helm = new Helm(home);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                h = helm;
            }
        }
        return h;
    }

    /** Every value set. */
    static List<ValueSet> valueSets() {
        List<ValueSet> sets = new ArrayList<>();
        sets.add(new ValueSet("defaults", List.of()));
        for (Path file : yamlFiles(Repo.chart().resolve("examples"))) {
            sets.add(new ValueSet("examples/" + file.getFileName(), List.of(file)));
        }
        for (Path file : yamlFiles(Repo.testResource("values"))) {
            sets.add(new ValueSet("test values/" + file.getFileName(), List.of(file), apiVersions(file)));
        }
        return sets;
    }

    /** The {@code # api-versions: a b …} line of a values file, split at spaces; none when absent. */
    static List<String> apiVersions(Path file) {
        String prefix = "# api-versions: ";
        try {
            return Files.readAllLines(file).stream().filter(l -> l.startsWith(prefix))
                    .flatMap(l -> Stream.of(l.substring(prefix.length()).strip().split("\\s+")))
                    .filter(v -> !v.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** helm template arguments saying the cluster serves {@code apiVersions}. */
    static String[] apiVersionArgs(List<String> apiVersions) {
        return apiVersions.stream().flatMap(v -> Stream.of("--api-versions", v)).toArray(String[]::new);
    }

    static List<Path> yamlFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The strictly parsed render of {@code set} (helm template must succeed). */
    static Rendered render(ValueSet set) {
        return CACHE.computeIfAbsent(set.label(), label -> {
            Helm.Result result = helm().template(Repo.chart(), RELEASE, NAMESPACE, set.files(),
                    apiVersionArgs(set.apiVersions()));
            if (!result.ok()) {
                throw new AssertionError("helm template failed for " + label + ":\n" + result.describe());
            }
            return Rendered.of(label, NAMESPACE, result.stdout());
        });
    }

    /** The render of the chart's defaults. */
    static Rendered defaults() {
        return render(valueSets().getFirst());
    }
}
