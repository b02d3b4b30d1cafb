package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsPaths;

/**
 * Maps FUSE paths to share paths for one volume: the FUSE root is the volume's directory
 * {@code <share>/<subDir>}, so FUSE path {@code /a/b} is share path {@code /<subDir>/a/b}.
 *
 * <p>Nothing can name a path above the volume's directory: a FUSE path with an empty, {@code "."} or
 * {@code ".."} component (the kernel never sends one; only a bug or a hostile caller could) is refused with
 * {@code EACCES}. Symbolic links are resolved by the kernel in the pod's own namespace, never by the
 * gateway, so a link's target cannot lead out of the volume on the gateway either. (libnfs does follow
 * links in the directories leading to a path; the kernel only sends paths of directories it looked up
 * through this mount, so such a link appears only if another client swapped a directory for a link in
 * between.)
 */
final class VolumePaths {
    private final String root;

    /**
     * @param subDir the volume's directory below the share, relative, {@code '/'}-separated, without empty,
     *     {@code "."} or {@code ".."} components; empty for the share itself
     * @throws IllegalArgumentException if {@code subDir} is not such a path
     */
    VolumePaths(String subDir) {
        this.root = rootOf(subDir);
    }

    /**
     * The share path of the volume's directory for {@code subDir} ({@code ""} → {@code "/"}, {@code "a/b"} →
     * {@code "/a/b"}).
     *
     * @throws IllegalArgumentException naming what is wrong with {@code subDir}
     */
    static String rootOf(String subDir) {
        if (subDir == null || subDir.isEmpty()) {
            return NfsPaths.ROOT;
        }
        if (subDir.startsWith("/")) {
            throw new IllegalArgumentException("sub_dir \"" + subDir + "\" must be relative (no leading /)");
        }
        String path = "/" + (subDir.endsWith("/") ? subDir.substring(0, subDir.length() - 1) : subDir);
        try {
            return NfsPaths.requireValid(path);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sub_dir \"" + subDir + "\" must not have empty, \".\" or \"..\""
                    + " components", e);
        }
    }

    /** The share path of the volume's directory. */
    String root() {
        return root;
    }

    /**
     * The share path for FUSE path {@code fusePath}.
     *
     * @param fusePath absolute, as libfuse passes it ({@code "/"} or {@code "/a/b"})
     * @throws FuseErrno {@code EACCES} for a path that is not absolute or has an empty, {@code "."} or
     *     {@code ".."} component
     */
    String toShare(String fusePath) throws FuseErrno {
        try {
            NfsPaths.requireValid(fusePath);
        } catch (IllegalArgumentException e) {
            throw new FuseErrno(Errno.EACCES, "refused path outside the volume: " + e.getMessage());
        }
        if (fusePath.length() == 1) {
            return root;
        }
        return root.length() == 1 ? fusePath : root + fusePath;
    }
}
