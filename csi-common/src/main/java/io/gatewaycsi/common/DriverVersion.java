package io.gatewaycsi.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The version of gateway-csi, as the build wrote it into {@code gateway-csi-version.properties}. */
public final class DriverVersion {

    private static final String VERSION = load();

    private DriverVersion() {
    }

    /** The project version, e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String get() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = DriverVersion.class.getResourceAsStream("/gateway-csi-version.properties")) {
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
