package io.gatewaycsi.node;

import io.gatewaycsi.common.events.ObjectRef;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * What the node plugin staged, kept in its state directory so that it survives a node-plugin restart: one
 * properties file per staging path (named by the SHA-256 of the path), holding the mount request and the
 * volume's {@code mountBackend}, plus what events about it need: the claim it belongs to (when the controller
 * passed it in the volume context) and why it fell back to the mount helper, if it did. With it the node can
 * remount a staging mount whose mount helper died without waiting for kubelet. The directory has mode 0700
 * (set at start even when it exists); files are written atomically.
 */
public final class StagingState {

    private static final Logger LOG = Logger.getLogger(StagingState.class.getName());

    /**
     * One recorded staging mount.
     *
     * @param mount        the mount request
     * @param mountBackend the volume's {@code mountBackend} parameter
     * @param claim        the PersistentVolumeClaim of the volume, or {@code null} when not known
     * @param fallback     why the kernel path was not used, or {@code null} when it was not a fallback
     */
    public record Staged(NfsMountRequest mount, String mountBackend, ObjectRef claim, FallbackReason fallback) {
    }

    private final Path dir;

    /**
     * @param dir the node plugin's state directory (created if missing, mode 0700)
     * @throws IOException when it cannot be created
     */
    public StagingState(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        // An existing directory (a hostPath kubelet made 0755, say) is narrowed too: the records name every
        // volume on the node and where it is mounted.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    /** Records a staging mount (replacing an earlier record of the same path). */
    void save(NfsMountRequest mount, String mountBackend, ObjectRef claim, FallbackReason fallback) throws IOException {
        Properties properties = new Properties();
        properties.setProperty("volumeId", mount.volumeId());
        properties.setProperty("server", mount.server());
        properties.setProperty("share", mount.share());
        properties.setProperty("subDir", mount.subDir());
        properties.setProperty("options", String.join(",", mount.options()));
        properties.setProperty("stagingPath", mount.stagingPath().toString());
        properties.setProperty("readOnly", Boolean.toString(mount.readOnly()));
        properties.setProperty("mountBackend", mountBackend);
        if (claim != null) {
            properties.setProperty("claimNamespace", claim.namespace());
            properties.setProperty("claimName", claim.name());
        }
        if (fallback != null) {
            properties.setProperty("fallback", fallback.label());
        }
        StringWriter text = new StringWriter();
        properties.store(text, "gateway-csi staging mount");
        Path file = file(mount.stagingPath());
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(temporary, text.toString(), StandardCharsets.UTF_8);
        try {
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The record of the staging mount at {@code stagingPath}, if there is one (damaged: none). */
    java.util.Optional<Staged> get(Path stagingPath) {
        Path file = file(stagingPath);
        try {
            return java.util.Optional.of(parse(Files.readString(file, StandardCharsets.UTF_8)));
        } catch (java.nio.file.NoSuchFileException e) {
            return java.util.Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.warning("damaged staging record " + file + ": " + e.getMessage());
            return java.util.Optional.empty();
        }
    }

    /** Forgets the staging mount at {@code stagingPath}. */
    void remove(Path stagingPath) throws IOException {
        Files.deleteIfExists(file(stagingPath));
    }

    /** Every recorded staging mount; damaged records are logged and skipped. */
    List<Staged> all() throws IOException {
        List<Staged> staged = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.properties")) {
            for (Path file : files) {
                try {
                    staged.add(parse(Files.readString(file, StandardCharsets.UTF_8)));
                } catch (IOException | RuntimeException e) {
                    LOG.warning("skipping damaged staging record " + file + ": " + e.getMessage());
                }
            }
        }
        return staged;
    }

    private static Staged parse(String text) throws IOException {
        Properties properties = new Properties();
        properties.load(new StringReader(text));
        String options = properties.getProperty("options", "");
        NfsMountRequest mount = new NfsMountRequest(properties.getProperty("server"), properties.getProperty("share"),
                properties.getProperty("subDir"), options.isEmpty() ? List.of() : Arrays.asList(options.split(",")),
                Path.of(properties.getProperty("stagingPath")), Boolean.parseBoolean(properties.getProperty("readOnly")),
                properties.getProperty("volumeId", ""));
        String claimName = properties.getProperty("claimName");
        String claimNamespace = properties.getProperty("claimNamespace");
        ObjectRef claim = claimName == null || claimNamespace == null ? null : ObjectRef.claim(claimNamespace, claimName);
        String fallback = properties.getProperty("fallback");
        return new Staged(mount, properties.getProperty("mountBackend", "auto"), claim,
                fallback == null ? null : FallbackReason.ofLabel(fallback));
    }

    private Path file(Path stagingPath) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(stagingPath.toString().getBytes(StandardCharsets.UTF_8));
            return dir.resolve(HexFormat.of().formatHex(hash, 0, 16) + ".properties");
        } catch (NoSuchAlgorithmException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
