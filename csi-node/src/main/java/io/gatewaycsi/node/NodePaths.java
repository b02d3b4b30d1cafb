package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Where the node plugin may mount and remove: the staging and target paths of a request, checked before
 * anything is created, mounted or removed there. A path must be
 * <ul>
 *   <li>absolute, without NUL bytes, at most {@value #PATH_MAX} bytes long with components of at most
 *       {@value #NAME_MAX} bytes (Linux's PATH_MAX and NAME_MAX), after {@code .} and {@code ..} are resolved
 *       (lexically: {@code /allowed/../etc} is {@code /etc});</li>
 *   <li>strictly below one of the allowed directories ({@code --allowed-dir}, kubelet's root directory in a
 *       cluster), and never inside {@code /proc}, {@code /sys} or {@code /dev};</li>
 *   <li>free of symbolic links below that directory, where the path exists (a link planted where a target
 *       should be, or on a directory leading to it — inside a volume a pod can write, say — would make a
 *       mount or a removal land elsewhere).</li>
 * </ul>
 * Shape and place are INVALID_ARGUMENT (NOT_FOUND for NodeGetVolumeStats, whose path names a volume); a
 * link is INVALID_ARGUMENT. The link check reads the local file system with a deadline (a directory on the
 * way may be a mount of a dead gateway). It narrows, but cannot close, the window between the check and the
 * mount (a path-based mount(2) follows what is there at that moment).
 */
final class NodePaths {

    /** Longest path, bytes (PATH_MAX). */
    static final int PATH_MAX = 4096;
    /** Longest path component, bytes (NAME_MAX). */
    static final int NAME_MAX = 255;
    private static final List<Path> PSEUDO = List.of(Path.of("/proc"), Path.of("/sys"), Path.of("/dev"));

    private final List<Path> allowed;
    private final Duration deadline;

    NodePaths(List<Path> allowedDirs, Duration deadline) {
        this.allowed = List.copyOf(allowedDirs);
        this.deadline = deadline;
    }

    /**
     * The normalized path of request field {@code field}.
     *
     * @throws CsiException INVALID_ARGUMENT naming the field and the rule it breaks
     */
    Path checked(String raw, String field) {
        Optional<String> problem = shapeAndPlace(raw, field);
        if (problem.isPresent()) {
            throw CsiException.invalidArgument(problem.get());
        }
        return Path.of(raw).normalize();
    }

    /** What is wrong with {@code raw} as a path of field {@code field}, if anything. */
    Optional<String> shapeAndPlace(String raw, String field) {
        if (!raw.startsWith("/") || raw.indexOf('\0') >= 0) {
            return Optional.of(field + " must be an absolute path without NUL bytes, got `" + printable(raw) + "`");
        }
        if (raw.getBytes(StandardCharsets.UTF_8).length > PATH_MAX) {
            return Optional.of(field + " is longer than " + PATH_MAX + " bytes");
        }
        Path path = Path.of(raw).normalize();
        for (Path name : path) {
            if (name.toString().getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
                return Optional.of(field + " has a component longer than " + NAME_MAX + " bytes");
            }
        }
        for (Path pseudo : PSEUDO) {
            if (path.startsWith(pseudo)) {
                return Optional.of(field + " `" + printable(path.toString()) + "` lies in " + pseudo
                        + ", where nothing is ever mounted for a volume");
            }
        }
        if (allowedRoot(path).isEmpty()) {
            return Optional.of(field + " `" + printable(path.toString()) + "` is not below an allowed directory "
                    + allowed + " (--allowed-dir)");
        }
        return Optional.empty();
    }

    /** The allowed directory {@code path} lies strictly below, if any. */
    private Optional<Path> allowedRoot(Path path) {
        return allowed.stream().filter(dir -> path.startsWith(dir) && !path.equals(dir)).findFirst();
    }

    /**
     * Refuses {@code path} (already {@link #checked}) when a symbolic link stands on it below its allowed
     * directory: at any existing component, the last one included when {@code includingLast}. Stops at the
     * first component that does not exist or is not a directory (nothing below it can be followed).
     *
     * @throws CsiException INVALID_ARGUMENT naming the link; DEADLINE_EXCEEDED when the file system does
     *                      not answer within the deadline
     */
    void requireNoSymlinks(Path path, String field, boolean includingLast) throws IOException {
        Path root = allowedRoot(path).orElseThrow();
        Optional<Path> link;
        try {
            // One hand-off for the whole walk: its lstat calls are on local directories, or all stuck together.
            link = BlockingCalls.call("lstat", path, deadline, () -> firstSymlink(root, path, includingLast));
        } catch (MountException e) {
            if (e.isTimeout()) {
                throw CsiException.deadlineExceeded("checking " + field + ": " + e.getMessage());
            }
            throw e;
        }
        if (link.isPresent()) {
            throw CsiException.invalidArgument(field + " `" + printable(path.toString()) + "` passes through the"
                    + " symbolic link " + printable(link.get().toString()) + "; refusing to follow it");
        }
    }

    /**
     * The first symbolic link on the way from {@code root} (exclusive) to {@code path}, the last component
     * only when {@code includingLast}; stops at the first component that does not exist or is no directory.
     */
    private static Optional<Path> firstSymlink(Path root, Path path, boolean includingLast) throws IOException {
        Path current = root;
        Path relative = root.relativize(path);
        int count = relative.getNameCount() - (includingLast ? 0 : 1);
        for (int i = 0; i < count; i++) {
            current = current.resolve(relative.getName(i));
            BasicFileAttributes attributes;
            try {
                attributes = Files.readAttributes(current, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return Optional.empty();
            }
            if (attributes.isSymbolicLink()) {
                return Optional.of(current);
            }
            if (!attributes.isDirectory()) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    private static String printable(String text) {
        String shown = text.length() > 200 ? text.substring(0, 200) + "…" : text;
        StringBuilder out = new StringBuilder();
        shown.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }
}
