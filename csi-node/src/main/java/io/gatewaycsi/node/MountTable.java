package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The mounts this process sees, parsed from /proc/self/mountinfo (proc(5)). {@link #parse(String)} is pure;
 * {@link #read()} reads the file off the caller's thread with a deadline (reading mountinfo takes the
 * namespace's mount lock, which a hung mount or unmount can hold).
 *
 * <p>Paths given to the queries are compared after {@code toAbsolutePath().normalize()}, without resolving
 * symlinks (that could touch a dead mount): pass real paths, as kubelet does. A mount point whose directory
 * was deleted shows in mountinfo with a {@code " (deleted)"} suffix and matches no query for the old path.
 */
public final class MountTable {

    /** Where {@link #read()} reads from. */
    public static final Path SELF_MOUNTINFO = Path.of("/proc/self/mountinfo");
    /** The deadline of {@link #read()}. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(5);

    private final List<MountEntry> entries;

    private MountTable(List<MountEntry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** Reads /proc/self/mountinfo within {@link #DEFAULT_DEADLINE}. */
    public static MountTable read() throws IOException {
        return read(SELF_MOUNTINFO, DEFAULT_DEADLINE);
    }

    /**
     * Reads and parses a mountinfo file within {@code deadline}.
     *
     * @throws MountException with {@link MountException#isTimeout()} when reading took longer
     * @throws IOException    when the file cannot be read or a line is not in mountinfo's format
     */
    public static MountTable read(Path mountinfo, Duration deadline) throws IOException {
        // Not capped: mountinfo is not on a possibly-dead mount, and teardown needs it most when calls are stuck.
        String text = BlockingCalls.callEvenIfSaturated("read", mountinfo, deadline,
                () -> new String(Files.readAllBytes(mountinfo), StandardCharsets.UTF_8));
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IOException(mountinfo + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses mountinfo text: one mount per line, in the kernel's order (for mounts stacked on one mount point,
     * the lower one first). Blank lines are skipped.
     *
     * @throws IllegalArgumentException naming the line number when a line lacks fields, the {@code -}
     *                                  separator, or has a non-numeric ID or device
     */
    public static MountTable parse(String mountinfo) {
        List<MountEntry> entries = new ArrayList<>();
        String[] lines = mountinfo.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                entries.add(parseLine(lines[i], i + 1));
            }
        }
        return new MountTable(entries);
    }

    private static MountEntry parseLine(String line, int number) {
        String[] f = line.split(" ", -1);
        int separator = Arrays.asList(f).indexOf("-");
        if (f.length < 10 || separator < 6 || f.length - separator < 4) {
            throw new IllegalArgumentException("mountinfo line " + number + " is not `ID PARENT MAJOR:MINOR ROOT"
                    + " MOUNTPOINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPEROPTIONS`: " + line);
        }
        try {
            String[] device = f[2].split(":", -1);
            if (device.length != 2) {
                throw new NumberFormatException("device `" + f[2] + "` is not MAJOR:MINOR");
            }
            // A source may itself contain no spaces (they are escaped), but keep any further fields in the
            // super options rather than fail on a future kernel's extra field.
            String superOptions = String.join(" ", Arrays.asList(f).subList(separator + 3, f.length));
            return new MountEntry(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(device[0]),
                    Integer.parseInt(device[1]), unescape(f[3]), Path.of(unescape(f[4])), options(f[5]),
                    List.of(Arrays.copyOfRange(f, 6, separator)), unescape(f[separator + 1]),
                    unescape(f[separator + 2]), options(superOptions));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("mountinfo line " + number + " has a bad number ("
                    + e.getMessage() + "): " + line, e);
        }
    }

    private static List<String> options(String text) {
        return text.isEmpty() ? List.of() : List.of(text.split(",", -1));
    }

    /** Decodes the kernel's {@code \ooo} octal escapes (it escapes space, tab, newline and backslash). */
    static String unescape(String text) {
        if (text.indexOf('\\') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && isOctal(text, i + 1) && isOctal(text, i + 2) && isOctal(text, i + 3)) {
                out.append((char) Integer.parseInt(text.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String text, int index) {
        return index < text.length() && text.charAt(index) >= '0' && text.charAt(index) <= '7';
    }

    /** Every mount, in the kernel's order. */
    public List<MountEntry> entries() {
        return entries;
    }

    /**
     * The mounts at {@code mountPoint}, lowest first and topmost (the one a path lookup sees) last; empty when
     * it is not a mount point.
     */
    public List<MountEntry> at(Path mountPoint) {
        Path wanted = normal(mountPoint);
        List<MountEntry> here = entries.stream().filter(e -> e.mountPoint().equals(wanted)).toList();
        if (here.size() < 2) {
            return here;
        }
        // Order by the stacking chain: each upper mount's parent is the mount right below it.
        List<MountEntry> ordered = new ArrayList<>();
        MountEntry current = here.stream()
                .filter(e -> here.stream().noneMatch(o -> o.mountId() == e.parentId() && o != e))
                .findFirst().orElse(null);
        while (current != null && ordered.size() < here.size()) {
            ordered.add(current);
            int id = current.mountId();
            current = here.stream().filter(e -> e.parentId() == id && !ordered.contains(e)).findFirst().orElse(null);
        }
        return ordered.size() == here.size() ? ordered : here;
    }

    /** The topmost mount at {@code mountPoint}, if it is one. */
    public Optional<MountEntry> topmost(Path mountPoint) {
        List<MountEntry> here = at(mountPoint);
        return here.isEmpty() ? Optional.empty() : Optional.of(here.getLast());
    }

    /** Whether something is mounted at {@code path}. */
    public boolean isMountPoint(Path path) {
        Path wanted = normal(path);
        return entries.stream().anyMatch(e -> e.mountPoint().equals(wanted));
    }

    /** The mounts strictly inside directory {@code dir} (not at it), e.g. to refuse removing it. */
    public List<MountEntry> under(Path dir) {
        Path base = normal(dir);
        return entries.stream()
                .filter(e -> e.mountPoint().startsWith(base) && !e.mountPoint().equals(base))
                .toList();
    }

    /** The mounts whose source (field 10) is exactly {@code source}, e.g. {@code 10.0.0.2:/export/vol}. */
    public List<MountEntry> bySource(String source) {
        return entries.stream().filter(e -> e.source().equals(source)).toList();
    }

    /** The mount with ID {@code mountId}. */
    public Optional<MountEntry> byId(int mountId) {
        return entries.stream().filter(e -> e.mountId() == mountId).findFirst();
    }

    /**
     * The other mounts that show {@code staging}'s tree or part of it (same major:minor, root equal to or
     * under {@code staging}'s root): the publish bind mounts of a staging mount, wherever they are.
     */
    public List<MountEntry> bindMountsOf(MountEntry staging) {
        return entries.stream()
                .filter(e -> e.mountId() != staging.mountId() && e.showsPartOf(staging))
                .toList();
    }

    private static Path normal(Path path) {
        return path.toAbsolutePath().normalize();
    }
}
