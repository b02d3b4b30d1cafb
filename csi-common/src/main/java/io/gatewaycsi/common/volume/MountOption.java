package io.gatewaycsi.common.volume;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One NFS mount option in nfs(5) form: a flag ({@code hard}, {@code nocto}) or a setting
 * ({@code timeo=600}). Names are lower-case words; values are plain tokens: neither can carry a comma, an
 * {@code =}, white space or a control character, so no value can smuggle another option or argument.
 *
 * @param name  the option name, e.g. {@code vers}
 * @param value the value, or {@code null} for a flag
 */
public record MountOption(String name, String value) {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,31}");
    private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9._:/+-]{1,256}");

    public MountOption {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("mount option name `" + Values.printable(name) + "` is invalid");
        }
        if (value != null && !VALUE.matcher(value).matches()) {
            throw new IllegalArgumentException("mount option `" + name + "` has an invalid value `"
                    + Values.printable(value) + "` (letters, digits and . _ : / + - only)");
        }
    }

    /** A flag option. */
    public static MountOption flag(String name) {
        return new MountOption(name, null);
    }

    /** A setting. */
    public static MountOption of(String name, String value) {
        return new MountOption(name, value);
    }

    /**
     * Parses one option, {@code name} or {@code name=value}.
     *
     * @throws IllegalArgumentException naming the text and what is wrong
     */
    public static MountOption parse(String text) {
        String option = text.strip();
        if (option.isEmpty()) {
            throw new IllegalArgumentException("empty mount option");
        }
        int eq = option.indexOf('=');
        return eq < 0 ? flag(option) : of(option.substring(0, eq), option.substring(eq + 1));
    }

    /**
     * Parses a comma-separated list such as a StorageClass {@code mountOptions} entry
     * ({@code "nconnect=8,noresvport"}).
     */
    public static List<MountOption> parseList(String text) {
        List<MountOption> options = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            options.add(parse(part));
        }
        return options;
    }

    @Override
    public String toString() {
        return value == null ? name : name + "=" + value;
    }
}
