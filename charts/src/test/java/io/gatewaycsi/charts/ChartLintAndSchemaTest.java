package io.gatewaycsi.charts;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gatewaycsi.common.volume.Parameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * helm lint --strict with every value set; values.schema.json rejecting wrong types and unknown keys (each
 * file of src/test/resources/bad-values must fail helm template with the message its {@code # expect:} line
 * names, and helm lint too when its {@code # checked-by:} line says the schema catches it); the schema's
 * StorageClass parameters against the driver's parameter table; helm package.
 */
class ChartLintAndSchemaTest {

    static List<Renders.ValueSet> valueSets() {
        return Renders.valueSets();
    }

    static List<Path> badValues() {
        return Renders.yamlFiles(Repo.testResource("bad-values"));
    }

    @Test
    void helmIsThere() {
        assertThat(Helm.binary()).isExecutable();
        Helm.Result version = Renders.helm().run("version", "--short");
        assertThat(version.ok()).as(version.describe()).isTrue();
        assertThat(version.stdout()).as("helm 3").startsWith("v3.");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void lintStrictPasses(Renders.ValueSet set) {
        List<String> args = new ArrayList<>(List.of("lint", "--strict", Repo.chart().toString(),
                "--namespace", Renders.NAMESPACE));
        for (Path file : set.files()) {
            args.add("--values");
            args.add(file.toString());
        }
        Helm.Result lint = Renders.helm().run(args.toArray(String[]::new));
        assertThat(lint.ok()).as(lint.describe()).isTrue();
        assertThat(lint.stdout()).contains("0 chart(s) failed").doesNotContain("[WARNING]", "[ERROR]");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void badValuesAreRejected(Path file) throws IOException {
        String expect = header(file, "expect");
        String checkedBy = header(file, "checked-by");
        assertThat(checkedBy).isIn("schema", "template");
        Helm.Result template = Renders.helm().template(Repo.chart(), Renders.RELEASE, Renders.NAMESPACE, List.of(file));
        assertThat(template.ok()).as("helm template must fail:\n" + template.describe()).isFalse();
        assertThat(template.stderr()).as(template.describe()).contains(expect);
        Helm.Result lint = Renders.helm().run("lint", "--strict", Repo.chart().toString(), "--values", file.toString());
        if (checkedBy.equals("schema")) {
            assertThat(lint.ok()).as("helm lint must fail:\n" + lint.describe()).isFalse();
            assertThat(lint.stdout() + lint.stderr()).as(lint.describe()).contains("values don't meet the specifications")
                    .contains(expect);
        } else {
            // Combinations of values are checked by the templates (`fail`), which helm lint reports but, by
            // design, does not fail on; helm template and helm install do.
            assertThat(lint.stdout() + lint.stderr()).as(lint.describe()).contains(expect);
        }
    }

    /** The value of a {@code # name: value} header line of a bad values file. */
    private static String header(Path file, String name) throws IOException {
        String prefix = "# " + name + ": ";
        return Files.readAllLines(file).stream().filter(l -> l.startsWith(prefix))
                .map(l -> l.substring(prefix.length()).strip()).findFirst()
                .orElseThrow(() -> new AssertionError(file + " has no `" + prefix + "` line"));
    }

    @Test
    void theSchemaRejectsUnknownKeysAtEveryLevel() throws IOException {
        JsonNode schema = new ObjectMapper().readTree(Repo.chart().resolve("values.schema.json").toFile());
        List<String> open = new ArrayList<>();
        walk(schema, "#", open);
        // Objects whose keys are data (maps of strings) or passed to Kubernetes as they are.
        assertThat(open).containsExactlyInAnyOrder(
                "#/properties/global",
                "#/definitions/stringMap",
                "#/definitions/affinity/properties/nodeAffinity",
                "#/definitions/affinity/properties/podAffinity",
                "#/definitions/affinity/properties/podAntiAffinity");
    }

    /** Collects object schemas without {@code additionalProperties: false}. */
    private static void walk(JsonNode node, String path, List<String> open) {
        if (!node.isObject()) {
            return;
        }
        if ("object".equals(node.path("type").asText())) {
            JsonNode additional = node.get("additionalProperties");
            if (additional == null || !(additional.isBoolean() && !additional.asBoolean())) {
                open.add(path);
            }
        }
        node.fields().forEachRemaining(field -> {
            JsonNode value = field.getValue();
            if (value.isObject()) {
                walk(value, path + "/" + field.getKey(), open);
            } else if (value.isArray()) {
                for (int i = 0; i < value.size(); i++) {
                    walk(value.get(i), path + "/" + field.getKey() + "/" + i, open);
                }
            }
        });
    }

    @Test
    void theSchemasStorageClassParametersAreTheDriversTable() throws IOException {
        JsonNode parameters = new ObjectMapper().readTree(Repo.chart().resolve("values.schema.json").toFile())
                .path("definitions").path("storageClass").path("properties").path("parameters");
        Set<String> keys = new TreeSet<>();
        parameters.path("properties").fieldNames().forEachRemaining(keys::add);
        assertThat(keys).isEqualTo(new TreeSet<>(Parameter.keys()));
        parameters.path("properties").forEach(p -> assertThat(p.path("type").asText()).isEqualTo("string"));
        Set<String> required = new TreeSet<>();
        parameters.path("required").forEach(r -> required.add(r.asText()));
        Set<String> driverRequired = new TreeSet<>();
        for (Parameter parameter : Parameter.values()) {
            if (parameter.required()) {
                driverRequired.add(parameter.key());
            }
        }
        assertThat(required).isEqualTo(driverRequired);
        // values.yaml documents every key too.
        String values = Files.readString(Repo.chart().resolve("values.yaml"));
        for (String key : Parameter.keys()) {
            assertThat(values).as("values.yaml lists parameter %s", key).contains(key);
        }
    }

    @Test
    void helmPackageMakesTheChartArchive(@TempDir Path out) throws IOException {
        Helm.Result pack = Renders.helm().run("package", Repo.chart().toString(), "--destination", out.toString());
        assertThat(pack.ok()).as(pack.describe()).isTrue();
        Path archive = out.resolve("gateway-csi-0.1.0.tgz");
        assertThat(archive).isRegularFile();
        // The archive renders like the directory, and carries the schema.
        Helm.Result template = Renders.helm().template(archive, Renders.RELEASE, Renders.NAMESPACE, List.of());
        assertThat(template.ok()).as(template.describe()).isTrue();
        assertThat(Rendered.of("package", Renders.NAMESPACE, template.stdout()).csiDriver().getMetadata().getName())
                .isEqualTo("nfs.gateway-csi.io");
        Path bad = badValues().stream().filter(p -> p.getFileName().toString().equals("wrong-type-replicas.yaml"))
                .findFirst().orElseThrow();
        Helm.Result rejected = Renders.helm().template(archive, Renders.RELEASE, Renders.NAMESPACE, List.of(bad));
        assertThat(rejected.ok()).as(rejected.describe()).isFalse();
        Helm.Result show = Renders.helm().run("show", "chart", archive.toString());
        assertThat(show.stdout()).contains("name: gateway-csi", "appVersion: 0.1.0");
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files).hasSize(1);
        }
    }
}
