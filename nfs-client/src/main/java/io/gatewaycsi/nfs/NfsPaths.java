package io.gatewaycsi.nfs;

import java.util.ArrayList;
import java.util.List;

/**
 * Paths within a share, as {@link NfsSession} takes them: absolute ({@code "/"} is the share's root),
 * {@code '/'}-separated, UTF-8 on the wire, without empty, {@code "."} or {@code ".."} components and without
 * a trailing slash (except the root itself). Such a path can never name anything above the share's root.
 */
public final class NfsPaths {
    /** The root of the share. */
    public static final String ROOT = "/";

    private NfsPaths() {
    }

    /**
     * Checks that {@code path} is a valid share path (see the class comment) and returns it.
     *
     * @throws IllegalArgumentException naming the path and the rule it breaks
     */
    public static String requireValid(String path) {
        if (path == null) {
            throw new IllegalArgumentException("path is null");
        }
        if (path.isEmpty() || path.charAt(0) != '/') {
            throw new IllegalArgumentException("path \"" + path + "\" is not absolute (must start with /)");
        }
        if (path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path \"" + path.replace('\0', '?') + "\" contains a NUL byte");
        }
        if (path.length() == 1) {
            return path;
        }
        if (path.endsWith("/")) {
            throw new IllegalArgumentException("path \"" + path + "\" ends with /");
        }
        int start = 1;
        while (start <= path.length()) {
            int end = path.indexOf('/', start);
            if (end < 0) {
                end = path.length();
            }
            String c = path.substring(start, end);
            if (c.isEmpty() || c.equals(".") || c.equals("..")) {
                throw new IllegalArgumentException("path \"" + path + "\" has an empty, \".\" or \"..\" component");
            }
            start = end + 1;
        }
        return path;
    }

    /**
     * Checks that {@code name} is a valid single directory entry name: not empty, not {@code "."} or
     * {@code ".."}, no {@code '/'} and no NUL.
     *
     * @throws IllegalArgumentException otherwise
     */
    public static String requireValidName(String name) {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..")
                || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid directory entry name \"" + name + "\"");
        }
        return name;
    }

    /** {@code parent + "/" + name} for a valid parent path and entry name, e.g. {@code ("/a", "b") -> "/a/b"}. */
    public static String join(String parent, String name) {
        requireValid(parent);
        requireValidName(name);
        return parent.equals(ROOT) ? "/" + name : parent + "/" + name;
    }

    /** The parent of a valid path; the root's parent is the root. */
    public static String parent(String path) {
        requireValid(path);
        int i = path.lastIndexOf('/');
        return i == 0 ? ROOT : path.substring(0, i);
    }

    /** The last component of a valid path; {@code ""} for the root. */
    public static String name(String path) {
        requireValid(path);
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** The components of a valid path: {@code "/a/b" -> [a, b]}, {@code "/" -> []}. */
    public static List<String> components(String path) {
        requireValid(path);
        List<String> out = new ArrayList<>();
        if (path.length() > 1) {
            for (String c : path.substring(1).split("/", -1)) {
                out.add(c);
            }
        }
        return out;
    }

    /** Whether valid path {@code path} is {@code dir} itself or lies below it. */
    public static boolean isWithin(String path, String dir) {
        requireValid(path);
        requireValid(dir);
        return dir.equals(ROOT) || path.equals(dir) || path.startsWith(dir + "/");
    }

    /**
     * Resolves a symbolic link's target the way libnfs does: an absolute target is taken relative to the
     * share's root, a relative one relative to the link's directory; {@code ".."} never climbs above the
     * root.
     *
     * @param linkPath the valid path of the symbolic link
     * @param target the link's contents
     * @return a valid share path
     */
    public static String resolveLink(String linkPath, String target) {
        List<String> out = target.startsWith("/") ? new ArrayList<>() : new ArrayList<>(components(parent(linkPath)));
        for (String c : target.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (!out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
            } else {
                out.add(c);
            }
        }
        return out.isEmpty() ? ROOT : "/" + String.join("/", out);
    }
}
