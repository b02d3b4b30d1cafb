package io.gatewaycsi.common.volume;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/** Normalizers for parameter values; each throws {@link IllegalArgumentException} (reason optional). */
final class Values {

    private static final Pattern HOST_LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+");
    /** {@code host:port} with a name or IPv4 address, or {@code [ipv6]:port}. */
    private static final Pattern HOST_WITH_PORT = Pattern.compile("([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+])(:\\d{1,5})");
    private static final Pattern TEMPLATE = Pattern.compile("\\$\\{([^}]*)}");
    static final Set<String> TEMPLATE_VARIABLES = Set.of("pvc.metadata.name", "pvc.metadata.namespace",
            "pv.metadata.name");
    /** Longest path segment NFS servers accept, in bytes. */
    static final int MAX_SEGMENT_BYTES = 255;
    /** Longest share or sub-directory path we accept, in bytes. */
    static final int MAX_PATH_BYTES = 1024;

    private Values() {
    }

    static Function<String, String> choice(String... choices) {
        List<String> allowed = List.of(choices);
        return value -> {
            String lower = value.toLowerCase(Locale.ROOT);
            if (!allowed.contains(lower)) {
                throw new IllegalArgumentException();
            }
            return lower;
        };
    }

    static Function<String, String> integer(int min, int max) {
        return value -> Integer.toString(parseInt(value, min, max));
    }

    static int parseInt(String value, int min, int max) {
        if (!value.matches("\\d{1,9}")) {
            throw new IllegalArgumentException();
        }
        int parsed = Integer.parseInt(value);
        if (parsed < min || parsed > max) {
            throw new IllegalArgumentException();
        }
        return parsed;
    }

    static Function<String, String> ioSize() {
        return value -> {
            int size = parseInt(value, 1024, 1048576);
            if (Integer.bitCount(size) != 1) { // Linux rounds other sizes down to a power of two, silently
                throw new IllegalArgumentException();
            }
            return Integer.toString(size);
        };
    }

    static Function<String, String> bool() {
        return choice("true", "false");
    }

    static Function<String, String> octalMode() {
        return value -> {
            if (!value.matches("0?[0-7]{1,4}")) {
                throw new IllegalArgumentException();
            }
            return String.format("%04o", Integer.parseInt(value, 8));
        };
    }

    static String host(String value) {
        if (HOST_WITH_PORT.matcher(value).matches()) {
            throw new IllegalArgumentException("a port does not belong in `server`: give the host alone and the"
                    + " port as the mount option port= (mountOptions: port=" + value.substring(value.lastIndexOf(':') + 1)
                    + ")");
        }
        String host = value.startsWith("[") && value.endsWith("]") ? value.substring(1, value.length() - 1) : value;
        if (host.contains(":")) {
            if (!IPV6.matcher(host).matches() || !isIpv6Literal(host)) {
                throw new IllegalArgumentException("not an IPv6 address");
            }
            return host.toLowerCase(Locale.ROOT);
        }
        var ipv4 = IPV4.matcher(host);
        if (ipv4.matches()) {
            for (int i = 1; i <= 4; i++) {
                if (Integer.parseInt(ipv4.group(i)) > 255) {
                    throw new IllegalArgumentException("not an IPv4 address");
                }
            }
            return host;
        }
        if (host.isEmpty() || host.length() > 253) {
            throw new IllegalArgumentException("a host name has 1..253 characters");
        }
        for (String label : host.split("\\.", -1)) {
            if (!HOST_LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("`" + printable(label) + "` is not a valid host name label");
            }
        }
        return host.toLowerCase(Locale.ROOT);
    }

    private static boolean isIpv6Literal(String host) {
        try {
            return java.net.InetAddress.ofLiteral(host) instanceof java.net.Inet6Address;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Bytes of a WireGuard key (Curve25519), wg(8): "base64-encoded 32-byte keys". */
    static final int WIREGUARD_KEY_BYTES = 32;

    /**
     * A WireGuard key as wg(8) prints it ({@code wg genkey}, {@code wg pubkey}, {@code wg genpsk}): 32 bytes in
     * standard base64 with padding, 44 characters. The reason never quotes the value (it may be a private key).
     */
    static String wireguardKey(String value) {
        byte[] key;
        try {
            key = java.util.Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("it is not base64");
        }
        if (key.length != WIREGUARD_KEY_BYTES || value.length() != 44) {
            throw new IllegalArgumentException("it decodes to " + key.length + " bytes, not " + WIREGUARD_KEY_BYTES);
        }
        return value;
    }

    /**
     * A WireGuard endpoint, wg(8)'s {@code endpoint}: {@code host:port} with a host name or IPv4 address, or
     * {@code [ipv6]:port}; port 1..65535.
     */
    static String endpoint(String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || !HOST_WITH_PORT.matcher(value).matches()) {
            throw new IllegalArgumentException("give host:port, or [ipv6]:port");
        }
        int port;
        try {
            port = parseInt(value.substring(colon + 1), 1, 65535);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the port must be 1..65535");
        }
        String host = value.substring(0, colon);
        String normalized = host(host);
        return (host.startsWith("[") ? "[" + normalized + "]" : normalized) + ":" + port;
    }

    /**
     * An interface address with its prefix, as wg-quick(8)'s {@code Address} ({@code 10.0.0.2/32}); without a
     * prefix a single address (/32 or /128). Returns {@code address/prefix}.
     */
    static String interfaceAddress(String value) {
        int slash = value.indexOf('/');
        String address = slash < 0 ? value : value.substring(0, slash);
        boolean v6 = address.contains(":");
        int max = v6 ? 128 : 32;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = parseInt(value.substring(slash + 1), 1, max);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the prefix must be 1.." + max);
            }
        }
        if (!ipLiteral(address)) {
            throw new IllegalArgumentException("not an IP address");
        }
        return address.toLowerCase(Locale.ROOT) + "/" + prefix;
    }

    /** Whether {@code value} is an IPv4 or IPv6 address literal (no brackets, no name). */
    static boolean ipLiteral(String value) {
        if (value.isEmpty() || !value.matches("[0-9A-Fa-f:.]+")) {
            return false;
        }
        try {
            java.net.InetAddress.ofLiteral(value);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static String share(String value) {
        if (!value.startsWith("/")) {
            throw new IllegalArgumentException("it must start with /");
        }
        String trimmed = value.replaceAll("/+$", "");
        return trimmed.isEmpty() ? "/" : "/" + relativePath(trimmed.substring(1));
    }

    /** A relative path of safe segments: no empty, {@code .} or {@code ..} segment, no control character. */
    static String relativePath(String value) {
        if (value.startsWith("/")) {
            throw new IllegalArgumentException("it must be relative");
        }
        if (value.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw new IllegalArgumentException("it is longer than " + MAX_PATH_BYTES + " bytes");
        }
        for (String segment : value.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("`" + printable(segment) + "` is not allowed as a path segment");
            }
            if (segment.getBytes(StandardCharsets.UTF_8).length > MAX_SEGMENT_BYTES) {
                throw new IllegalArgumentException("a path segment is longer than " + MAX_SEGMENT_BYTES + " bytes");
            }
            if (segment.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw new IllegalArgumentException("control characters are not allowed");
            }
        }
        return value;
    }

    static String subDirTemplate(String value) {
        String stripped = value.replaceAll("/+$", "");
        var variables = TEMPLATE.matcher(stripped);
        while (variables.find()) {
            if (!TEMPLATE_VARIABLES.contains(variables.group(1))) {
                throw new IllegalArgumentException("unknown template variable ${" + variables.group(1) + "}");
            }
        }
        if (stripped.isEmpty()) {
            throw new IllegalArgumentException("it must not be empty");
        }
        // Validate the shape with every variable replaced by a harmless stand-in.
        relativePath(TEMPLATE.matcher(stripped).replaceAll("x"));
        return stripped;
    }

    static String mountOptionList(String value) {
        return String.join(",", MountOption.parseList(value).stream().map(MountOption::toString).toList());
    }

    /** {@code value} with control characters shown as {@code \\uXXXX}, cut to 100 characters. */
    static String printable(String value) {
        StringBuilder out = new StringBuilder();
        value.codePoints().limit(100).forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return value.length() > 100 ? out + "…" : out.toString();
    }
}
