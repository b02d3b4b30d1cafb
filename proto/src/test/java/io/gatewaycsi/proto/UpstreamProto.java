package io.gatewaycsi.proto;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An upstream .proto file (CSI's csi.proto, kubelet's plugin registration api.proto), fetched at test
 * time from the Go module that publishes it and compiled with the build's own protoc. Nothing upstream
 * is committed to this repository.
 *
 * <p>Reads three system properties, set by proto/pom.xml: {@code contract.protoc} (the protoc
 * executable), {@code contract.include} (the well-known .proto files) and {@code contract.work}
 * (a scratch directory).
 */
final class UpstreamProto {

  private static final Path GO_FALLBACK = Path.of("/usr/local/go/bin/go");
  private static final Duration DEADLINE = Duration.ofMinutes(3);
  private static final Pattern DIR_IN_JSON = Pattern.compile("\"Dir\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

  private UpstreamProto() {}

  /**
   * Downloads {@code goModule} ({@code path@version}; or finds it in the Go module cache) and returns
   * the descriptor of its {@code file} (a path relative to the module's root).
   */
  static FileDescriptor fetchAndCompile(String goModule, String file) throws IOException, InterruptedException {
    Path work = Files.createDirectories(Path.of(requiredProperty("contract.work")));
    Path emptyDir = Files.createTempDirectory(work, "go-mod-download-");
    Path moduleDir = downloadGoModule(emptyDir, goModule);
    Files.delete(emptyDir);
    Path descriptorSet = Files.createTempFile(work, "upstream-", ".pb");
    run(work, List.of(protoc().toString(),
        "--proto_path=" + moduleDir,
        "--proto_path=" + requiredProperty("contract.include"),
        "--include_imports",
        "--descriptor_set_out=" + descriptorSet,
        file));
    try {
      return buildAll(FileDescriptorSet.parseFrom(Files.readAllBytes(descriptorSet))).get(file);
    } finally {
      Files.delete(descriptorSet);
    }
  }

  /** Runs {@code go mod download -json} in an empty directory; returns the module's directory. */
  private static Path downloadGoModule(Path emptyDir, String goModule) throws IOException, InterruptedException {
    String json = run(emptyDir, List.of(go().toString(), "mod", "download", "-json", goModule));
    Matcher dir = DIR_IN_JSON.matcher(json);
    if (!dir.find()) {
      throw new IllegalStateException("no \"Dir\" in the output of go mod download:\n" + json);
    }
    return Path.of(unescapeJson(dir.group(1)));
  }

  /** Builds every file of the set; protoc lists each file after the files it imports. */
  private static Map<String, FileDescriptor> buildAll(FileDescriptorSet set) {
    Map<String, FileDescriptor> built = new HashMap<>();
    for (FileDescriptorProto file : set.getFileList()) {
      FileDescriptor[] imports = file.getDependencyList().stream().map(built::get).toArray(FileDescriptor[]::new);
      try {
        built.put(file.getName(), FileDescriptor.buildFrom(file, imports));
      } catch (DescriptorValidationException e) {
        throw new IllegalStateException("protoc produced an invalid descriptor for " + file.getName(), e);
      }
    }
    return built;
  }

  /** The go command: the first on PATH, else the usual install location. */
  private static Path go() {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .filter(entry -> !entry.isEmpty())
        .map(entry -> Path.of(entry, "go"))
        .filter(Files::isExecutable)
        .findFirst()
        .or(() -> Optional.of(GO_FALLBACK).filter(Files::isExecutable))
        .orElseThrow(() -> new IllegalStateException(
            "the contract test needs the go command (on PATH or at " + GO_FALLBACK + ")"));
  }

  /** The protoc that proto/pom.xml copied; Maven's copy does not keep the executable bit. */
  private static Path protoc() {
    Path protoc = Path.of(requiredProperty("contract.protoc"));
    if (!Files.isExecutable(protoc) && !protoc.toFile().setExecutable(true)) {
      throw new IllegalStateException("cannot make " + protoc + " executable");
    }
    return protoc;
  }

  /**
   * Runs a command (no shell) in a directory and returns its standard output. Fails when it exits
   * non-zero or outlives the deadline; on timeout the process and its children are killed.
   */
  private static String run(Path dir, List<String> command) throws IOException, InterruptedException {
    Path stdout = Files.createTempFile(dir, "stdout-", ".txt");
    Path stderr = Files.createTempFile(dir, "stderr-", ".txt");
    try {
      Process process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(stdout.toFile())
          .redirectError(stderr.toFile())
          .start();
      if (!process.waitFor(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new IllegalStateException(command + " did not finish within " + DEADLINE);
      }
      String output = Files.readString(stdout);
      if (process.exitValue() != 0) {
        throw new IllegalStateException("%s exited with %d:%n%s%s".formatted(
            command, process.exitValue(), output, Files.readString(stderr)));
      }
      return output;
    } finally {
      Files.deleteIfExists(stdout);
      Files.deleteIfExists(stderr);
    }
  }

  private static String requiredProperty(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("system property " + name + " is not set; run the test through Maven");
    }
    return value;
  }

  /** Decodes the escapes a JSON string may contain. */
  private static String unescapeJson(String escaped) {
    var text = new StringBuilder();
    for (int i = 0; i < escaped.length(); i++) {
      char c = escaped.charAt(i);
      if (c != '\\') {
        text.append(c);
        continue;
      }
      char escape = escaped.charAt(++i);
      switch (escape) {
        case 'b' -> text.append('\b');
        case 'f' -> text.append('\f');
        case 'n' -> text.append('\n');
        case 'r' -> text.append('\r');
        case 't' -> text.append('\t');
        case 'u' -> {
          text.append((char) Integer.parseInt(escaped.substring(i + 1, i + 5), 16));
          i += 4;
        }
        default -> text.append(escape); // \" \\ \/
      }
    }
    return text.toString();
  }
}
