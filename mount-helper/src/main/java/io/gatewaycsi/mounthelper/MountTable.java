package io.gatewaycsi.mounthelper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The mount table as proc(5) {@code /proc/self/mountinfo} shows it, parsed (pure logic in {@link #parse};
 * {@link #read()} reads the file, which never touches a mounted file system).
 */
final class MountTable {
    /**
     * One line of mountinfo.
     *
     * @param mountId the unique mount ID (field 1)
     * @param major the device major number (field 3, before the colon)
     * @param minor the device minor number; for FUSE the connection's name under
     *     {@code /sys/fs/fuse/connections}
     * @param mountPoint the mount point, unescaped (field 5)
     * @param fsType the file system type after the separator, e.g. {@code fuse.gateway-csi}
     * @param source the mount source, unescaped, e.g. {@code 10.0.0.2:/export/vol}
     * @param superOptions the per-superblock options, e.g. {@code rw,user_id=0,…}
     */
    record Entry(int mountId, int major, int minor, String mountPoint, String fsType, String source,
            String superOptions) {
    }

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {
    }

    /** This process's mount table. */
    static List<Entry> read() throws IOException {
        return parse(Files.readString(MOUNTINFO, StandardCharsets.UTF_8));
    }

    /**
     * Parses mountinfo text; malformed lines are skipped.
     *
     * @param text the whole file
     * @return the entries in file order (later entries are mounted on top of earlier ones at the same point)
     */
    static List<Entry> parse(String text) {
        List<Entry> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            int sep = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    sep = i;
                    break;
                }
            }
            if (f.length < 10 || sep < 0 || sep + 3 > f.length) {
                continue;
            }
            try {
                int colon = f[2].indexOf(':');
                out.add(new Entry(Integer.parseInt(f[0]), Integer.parseInt(f[2].substring(0, colon)),
                        Integer.parseInt(f[2].substring(colon + 1)), unescape(f[4]), f[sep + 1], unescape(f[sep + 2]),
                        sep + 3 < f.length ? f[sep + 3] : ""));
            } catch (RuntimeException e) {
                // not a mountinfo line
            }
        }
        return out;
    }

    /** The topmost entry mounted at {@code mountPoint}, or null. */
    static Entry topmostAt(List<Entry> entries, String mountPoint) {
        Entry found = null;
        for (Entry e : entries) {
            if (e.mountPoint().equals(mountPoint)) {
                found = e;
            }
        }
        return found;
    }

    /** Undoes mountinfo's octal escapes ({@code \040} space, {@code \011} tab, {@code \012}, {@code \134}). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(raw.length);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\\' && i + 3 < raw.length && isOctal(raw[i + 1]) && isOctal(raw[i + 2]) && isOctal(raw[i + 3])) {
                bytes.write((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
                i += 3;
            } else {
                bytes.write(raw[i]);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static boolean isOctal(byte c) {
        return c >= '0' && c <= '7';
    }
}
