package io.gatewaycsi.controller;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What the gateway remembers of a provisioned volume, beside its data: the request that made it (to answer a
 * repeated CreateVolume idempotently or with ALREADY_EXISTS) and its subDir (for IDs that carry only a
 * digest). Stored as a properties file at {@code /.gateway-csi/volumes/<digest>} in the share.
 *
 * @param name          CreateVolume's name
 * @param subDir        the volume's directory below the share
 * @param requiredBytes capacity_range.required_bytes of the request, 0 when absent
 * @param limitBytes    capacity_range.limit_bytes of the request, 0 when absent
 * @param source        the content source: {@code snapshot:<id>}, {@code volume:<id>} or empty
 * @param context       the volume context returned to the CO
 * @param ready         false while the volume is being created (a retry resumes the work)
 */
record VolumeRecord(String name, String subDir, long requiredBytes, long limitBytes, String source,
                    Map<String, String> context, boolean ready) {

    private static final String CONTEXT = "context.";

    VolumeRecord {
        context = Map.copyOf(context);
    }

    /** Whether {@code other} asks for the same volume as this record's request. */
    boolean sameRequestAs(VolumeRecord other) {
        return name.equals(other.name) && subDir.equals(other.subDir) && requiredBytes == other.requiredBytes
                && limitBytes == other.limitBytes && source.equals(other.source) && context.equals(other.context);
    }

    /** The same record, marked ready. */
    VolumeRecord markReady() {
        return new VolumeRecord(name, subDir, requiredBytes, limitBytes, source, context, true);
    }

    byte[] toBytes() {
        Properties properties = new Properties();
        properties.setProperty("name", name);
        properties.setProperty("subDir", subDir);
        properties.setProperty("requiredBytes", Long.toString(requiredBytes));
        properties.setProperty("limitBytes", Long.toString(limitBytes));
        properties.setProperty("source", source);
        properties.setProperty("ready", Boolean.toString(ready));
        context.forEach((key, value) -> properties.setProperty(CONTEXT + key, value));
        StringWriter out = new StringWriter();
        try {
            properties.store(out, "gateway-csi volume record");
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
    static VolumeRecord parse(byte[] bytes) {
        Properties properties = new Properties();
        try {
            properties.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable volume record", e);
        }
        Map<String, String> context = new TreeMap<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith(CONTEXT)) {
                context.put(key.substring(CONTEXT.length()), properties.getProperty(key));
            }
        }
        String name = properties.getProperty("name");
        String subDir = properties.getProperty("subDir");
        if (name == null || subDir == null) {
            throw new IllegalArgumentException("incomplete volume record");
        }
        return new VolumeRecord(name, subDir, Long.parseLong(properties.getProperty("requiredBytes", "0")),
                Long.parseLong(properties.getProperty("limitBytes", "0")), properties.getProperty("source", ""),
                context, Boolean.parseBoolean(properties.getProperty("ready", "false")));
    }
}
