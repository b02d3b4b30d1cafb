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

    /*
     * A node with hundreds of published targets has hundreds of lines, and every node RPC reads the table, so
     * lines are only indexed (their bounds and the span of the mount point field, still escaped) and checked;
     * a line becomes a MountEntry when a query matches it or asks for every entry. Queries by mount point
     * compare the escaped field with the wanted path as they decode it, allocating nothing per line.
     */
    private final String text;
    private final int count;
    private final int[] lineFrom;
    private final int[] lineTo;
    private final int[] pointFrom;
    private final int[] pointTo;
    /** Parsed lines; filled on demand (a racy fill is harmless: entries are immutable and equal). */
    private final MountEntry[] parsed;

    private MountTable(String text, int count, int[] lineFrom, int[] lineTo, int[] pointFrom, int[] pointTo) {
        this.text = text;
        this.count = count;
        this.lineFrom = lineFrom;
        this.lineTo = lineTo;
        this.pointFrom = pointFrom;
        this.pointTo = pointTo;
        this.parsed = new MountEntry[count];
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
        int capacity = 16;
        int[] from = new int[capacity];
        int[] to = new int[capacity];
        int[] pointFrom = new int[capacity];
        int[] pointTo = new int[capacity];
        int count = 0;
        int number = 0;
        int start = 0;
        while (start <= mountinfo.length()) {
            int newline = mountinfo.indexOf('\n', start);
            int end = newline < 0 ? mountinfo.length() : newline;
            number++;
            if (!isBlank(mountinfo, start, end)) {
                if (count == capacity) {
                    capacity *= 2;
                    from = Arrays.copyOf(from, capacity);
                    to = Arrays.copyOf(to, capacity);
                    pointFrom = Arrays.copyOf(pointFrom, capacity);
                    pointTo = Arrays.copyOf(pointTo, capacity);
                }
                long point = indexLine(mountinfo, start, end);
                if (point < 0) {
                    parseLine(mountinfo.substring(start, end), number); // throws, saying what is wrong
                    point = pointSpan(mountinfo, start, end); // a line only the full parse accepts
                }
                from[count] = start;
                to[count] = end;
                pointFrom[count] = (int) (point >>> 32);
                pointTo[count] = (int) point;
                count++;
            }
            start = end + 1;
        }
        return new MountTable(mountinfo, count, from, to, pointFrom, pointTo);
    }

    private static boolean isBlank(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Character.isWhitespace(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks line [{@code from}, {@code to}) as {@link #parseLine} would, without allocating: at least ten
     * space-separated fields, the first {@code -} field at index 6 or later with three or more fields after
     * it, decimal IDs and a {@code MAJOR:MINOR} device. Returns the mount point field's span (start in the
     * high, end in the low 32 bits), or -1 when the line needs the full parse to say what is wrong.
     */
    private static long indexLine(String text, int from, int to) {
        int field = 0;
        int separator = -1;
        long point = -1;
        int fieldStart = from;
        for (int i = from; i <= to; i++) {
            if (i < to && text.charAt(i) != ' ') {
                continue;
            }
            boolean valid = switch (field) {
                case 0, 1 -> isDecimal(text, fieldStart, i);
                case 2 -> isDevice(text, fieldStart, i);
                default -> true;
            };
            if (!valid) {
                return -1;
            }
            if (field == 4) {
                point = ((long) fieldStart << 32) | i;
            }
            if (separator < 0 && i - fieldStart == 1 && text.charAt(fieldStart) == '-') {
                separator = field;
            }
            field++;
            fieldStart = i + 1;
        }
        return field < 10 || separator < 6 || field - separator < 4 ? -1 : point;
    }

    private static long pointSpan(String text, int from, int to) {
        int start = from;
        for (int field = 0; field < 4; field++) {
            start = text.indexOf(' ', start) + 1;
        }
        int end = text.indexOf(' ', start);
        return ((long) start << 32) | (end < 0 || end > to ? to : end);
    }

    private static boolean isDecimal(String text, int from, int to) {
        if (to - from < 1 || to - from > 9) {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean isDevice(String text, int from, int to) {
        int colon = text.indexOf(':', from);
        return colon > 0 && colon < to && isDecimal(text, from, colon) && isDecimal(text, colon + 1, to);
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

    /** The mount on indexed line {@code i}, parsed on first use. */
    private MountEntry entry(int i) {
        MountEntry entry = parsed[i];
        if (entry == null) {
            entry = parseLine(text.substring(lineFrom[i], lineTo[i]), i + 1);
            parsed[i] = entry;
        }
        return entry;
    }

    /** Whether line {@code i}'s mount point, decoded, is exactly {@code wanted}. */
    private boolean mountPointIs(int i, String wanted) {
        return decodedMatch(i, wanted) == wanted.length() + 1;
    }

    /** Whether line {@code i}'s mount point, decoded, starts with {@code prefix} and is longer. */
    private boolean mountPointExtends(int i, String prefix) {
        return decodedMatch(i, prefix) == prefix.length();
    }

    /**
     * Compares line {@code i}'s decoded mount point with {@code wanted}: {@code wanted.length() + 1} when they
     * are equal, {@code wanted.length()} when the mount point starts with {@code wanted} and goes on, -1
     * otherwise. Decodes the kernel's {@code \ooo} escapes as it goes, as {@link #unescape} does.
     */
    private int decodedMatch(int i, String wanted) {
        int at = 0;
        int end = pointTo[i];
        for (int j = pointFrom[i]; j < end; j++) {
            if (at == wanted.length()) {
                return at;
            }
            char c = text.charAt(j);
            if (c == '\\' && j + 3 < end && isOctal(text, j + 1) && isOctal(text, j + 2) && isOctal(text, j + 3)) {
                c = (char) ((text.charAt(j + 1) - '0') * 64 + (text.charAt(j + 2) - '0') * 8 + text.charAt(j + 3) - '0');
                j += 3;
            }
            if (wanted.charAt(at++) != c) {
                return -1;
            }
        }
        return at == wanted.length() ? at + 1 : -1;
    }

    /** Every mount, in the kernel's order. */
    public List<MountEntry> entries() {
        List<MountEntry> all = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            all.add(entry(i));
        }
        return all;
    }

    /**
     * The mounts at {@code mountPoint}, lowest first and topmost (the one a path lookup sees) last; empty when
     * it is not a mount point.
     */
    public List<MountEntry> at(Path mountPoint) {
        String wanted = normal(mountPoint).toString();
        List<MountEntry> here = new ArrayList<>(1);
        for (int i = 0; i < count; i++) {
            if (mountPointIs(i, wanted)) {
                here.add(entry(i));
            }
        }
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
        String wanted = normal(path).toString();
        for (int i = 0; i < count; i++) {
            if (mountPointIs(i, wanted)) {
                return true;
            }
        }
        return false;
    }

    /** The mounts strictly inside directory {@code dir} (not at it), e.g. to refuse removing it. */
    public List<MountEntry> under(Path dir) {
        String base = normal(dir).toString();
        String prefix = base.endsWith("/") ? base : base + "/";
        List<MountEntry> inside = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (mountPointExtends(i, prefix)) {
                inside.add(entry(i));
            }
        }
        return inside;
    }

    /** The mounts whose source (field 10) is exactly {@code source}, e.g. {@code 10.0.0.2:/export/vol}. */
    public List<MountEntry> bySource(String source) {
        return entries().stream().filter(e -> e.source().equals(source)).toList();
    }

    /** The mount with ID {@code mountId}. */
    public Optional<MountEntry> byId(int mountId) {
        return entries().stream().filter(e -> e.mountId() == mountId).findFirst();
    }

    /**
     * The other mounts that show {@code staging}'s tree or part of it (same major:minor, root equal to or
     * under {@code staging}'s root): the publish bind mounts of a staging mount, wherever they are.
     */
    public List<MountEntry> bindMountsOf(MountEntry staging) {
        return entries().stream()
                .filter(e -> e.mountId() != staging.mountId() && e.showsPartOf(staging))
                .toList();
    }

    private static Path normal(Path path) {
        return path.toAbsolutePath().normalize();
    }
}
