package io.gatewaycsi.common;

import java.util.regex.Pattern;

/**
 * The CSI driver name reported by GetPluginInfo and used as the StorageClass {@code provisioner}.
 *
 * <p>CSI spec, "GetPluginInfo": the name MUST be 63 characters or less, begin and end with an alphanumeric
 * character ({@code [a-z0-9A-Z]}) with dashes, dots and alphanumerics between, and SHOULD be a domain name in
 * reverse notation.
 */
public final class DriverName {

    /** The name used when {@code --driver-name} is not given. */
    public static final String DEFAULT = "nfs.gateway-csi.io";

    /** Longest name the CSI spec allows, in characters. */
    public static final int MAX_LENGTH = 63;

    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?");

    private DriverName() {
    }

    /**
     * Returns {@code name} when it is a valid CSI driver name.
     *
     * @throws IllegalArgumentException naming the value and the rule it breaks
     */
    public static String validate(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("driver name must not be empty (default " + DEFAULT + ")");
        }
        if (name.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("driver name `" + name + "` is " + name.length()
                    + " characters; the CSI spec allows at most " + MAX_LENGTH);
        }
        if (!VALID.matcher(name).matches()) {
            throw new IllegalArgumentException("driver name `" + name + "` is invalid: it must begin and end with"
                    + " a letter or digit and contain only letters, digits, `-` and `.` (e.g. " + DEFAULT + ")");
        }
        return name;
    }
}
