package io.gatewaycsi.controller;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Properties;

/**
 * What the gateway remembers of a snapshot, beside its data: stored as a properties file at
 * {@code /.gateway-csi/snapshots/<digest>.properties} of the share.
 *
 * @param name           CreateSnapshot's name
 * @param sourceVolumeId the volume it copies
 * @param createdAt      when the copy began
 * @param sizeBytes      bytes of file data copied
 * @param ready          false while the copy is in progress
 */
record SnapshotRecord(String name, String sourceVolumeId, Instant createdAt, long sizeBytes, boolean ready) {

    byte[] toBytes() {
        Properties properties = new Properties();
        properties.setProperty("name", name);
        properties.setProperty("sourceVolumeId", sourceVolumeId);
        properties.setProperty("createdAt", createdAt.toString());
        properties.setProperty("sizeBytes", Long.toString(sizeBytes));
        properties.setProperty("ready", Boolean.toString(ready));
        StringWriter out = new StringWriter();
        try {
            properties.store(out, "gateway-csi snapshot record");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Parses a record file.
     *
     * @throws IllegalArgumentException when it is not a complete record
     */
    static SnapshotRecord parse(byte[] bytes) {
        Properties properties = new Properties();
        try {
            properties.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            return new SnapshotRecord(require(properties, "name"), require(properties, "sourceVolumeId"),
                    Instant.parse(require(properties, "createdAt")),
                    Long.parseLong(require(properties, "sizeBytes")), Boolean.parseBoolean(properties.getProperty("ready")));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("damaged snapshot record: " + e.getMessage(), e);
        }
    }

    private static String require(Properties properties, String key) {
        String value = properties.getProperty(key);
        if (value == null) {
            throw new IllegalArgumentException("missing " + key);
        }
        return value;
    }
}
