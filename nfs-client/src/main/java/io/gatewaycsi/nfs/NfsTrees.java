package io.gatewaycsi.nfs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Whole-tree operations the controller needs: removing a volume's directory and copying a volume for a
 * snapshot. Both walk the tree iteratively (no recursion, so depth is not limited by the Java stack) and
 * use {@link NfsSession#lstat}: they never follow symbolic links.
 */
public final class NfsTrees {
    /** Bytes moved per read/write when copying a file. */
    public static final int COPY_BUFFER_BYTES = 1 << 20;
    private static final int MAX_RELIST = 3;

    private NfsTrees() {
    }

    /**
     * Removes {@code path} and, if it is a directory, everything below it, depth first. A symbolic link is
     * removed itself, never descended into or followed, so nothing outside {@code path} is touched: every
     * path acted on is {@code path} plus names read from directories within it. Before acting on a
     * directory's listing the directory is checked again (by lstat: still a directory, same file id), so a
     * directory swapped for a symbolic link meanwhile stops the removal with {@code ESTALE}. (A path-based
     * client cannot close that window completely; libnfs 4.0 has no {@code *at()} calls.) Entries that
     * vanish concurrently are fine; entries created concurrently are listed again, a few times.
     *
     * @param path the tree's root; not the share's root {@code "/"}
     * @return false if {@code path} did not exist (nothing to do), true once it is removed
     * @throws NfsException the first failure, e.g. {@code EACCES}; the tree is then partly removed
     * @throws IllegalArgumentException for {@code "/"} or an invalid path
     */
    public static boolean removeTree(NfsSession session, String path) throws NfsException {
        return removeTree(session, path, null);
    }

    /**
     * Most path components a tree walk sends to the gateway (with {@link #removeTree(NfsSession, String, String)}).
     * libnfs 4.0 resolves every path from the root in one COMPOUND with a LOOKUP per component, and gateways
     * limit the operations per COMPOUND (nfs-ganesha refuses some hundred with {@code NFS4ERR_RESOURCE}).
     */
    public static final int MAX_WALK_DEPTH = 32;

    /**
     * {@link #removeTree(NfsSession, String)} for trees of any depth: a directory deeper than
     * {@link #MAX_WALK_DEPTH} components is first renamed to {@code scratchPrefix-<n>} (a path near the root,
     * in a directory that must exist on the same share) and removed from there, so no call names a path longer
     * than that. What a failure leaves in the scratch directory starts with {@code scratchPrefix}: remove those
     * trees before retrying.
     *
     * @param scratchPrefix the absolute path prefix for moved subtrees, e.g. {@code /.tmp/delete-1234}; null to
     *                      walk paths of whatever depth (the gateway may then refuse deep ones)
     */
    public static boolean removeTree(NfsSession session, String path, String scratchPrefix) throws NfsException {
        NfsPaths.requireValid(path);
        if (scratchPrefix != null) {
            NfsPaths.requireValid(scratchPrefix);
        }
        int moved = 0;
        if (path.equals(NfsPaths.ROOT)) {
            throw new IllegalArgumentException("removeTree refuses to remove the share's root");
        }
        NfsAttributes top;
        try {
            top = session.lstat(path);
        } catch (NfsException e) {
            if (e.isNotFound()) {
                return false;
            }
            throw e;
        }
        if (!top.isDirectory()) {
            unlinkIfPresent(session, path);
            return true;
        }
        final class Frame {
            final String dir;
            final NfsAttributes attrs;
            List<String> subdirs;
            int next;
            int relisted;

            Frame(String dir, NfsAttributes attrs) {
                this.dir = dir;
                this.attrs = attrs;
            }
        }
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(path, top));
        while (!stack.isEmpty()) {
            Frame f = stack.peek();
            if (f.subdirs == null) {
                List<NfsDirEntry> entries = session.readdir(f.dir);
                checkSameDirectory(session, f.dir, f.attrs);
                f.subdirs = new ArrayList<>();
                f.next = 0;
                for (NfsDirEntry e : entries) {
                    String child = NfsPaths.join(f.dir, e.name());
                    if (e.attributes().isDirectory()) {
                        f.subdirs.add(child);
                    } else {
                        unlinkIfPresent(session, child);
                    }
                }
            }
            if (f.next < f.subdirs.size()) {
                String child = f.subdirs.get(f.next++);
                NfsAttributes a;
                try {
                    a = session.lstat(child);
                } catch (NfsException e) {
                    if (e.isNotFound()) {
                        continue;
                    }
                    throw e;
                }
                if (a.isDirectory()) {
                    if (scratchPrefix != null && NfsPaths.components(child).size() > MAX_WALK_DEPTH) {
                        // Too deep to name: move it up (the rename names it once, at MAX_WALK_DEPTH + 1).
                        String shallow = scratchPrefix + "-" + moved++;
                        session.rename(child, shallow);
                        child = shallow;
                        a = session.lstat(child);
                    }
                    stack.push(new Frame(child, a));
                } else {
                    unlinkIfPresent(session, child);
                }
                continue;
            }
            try {
                session.rmdir(f.dir);
            } catch (NfsException e) {
                if (e.isNotEmpty() || e.isAlreadyExists()) {
                    if (f.relisted++ < MAX_RELIST) {
                        f.subdirs = null;
                        continue;
                    }
                    throw e;
                }
                if (!e.isNotFound()) {
                    throw e;
                }
            }
            stack.pop();
        }
        return true;
    }

    private static void checkSameDirectory(NfsSession session, String dir, NfsAttributes before) throws NfsException {
        NfsAttributes now = session.lstat(dir);
        if (!now.isDirectory() || (before.inode() != 0 && now.inode() != before.inode())) {
            throw new NfsException("removeTree", dir, session.target().spec(), Errno.ESTALE,
                    "the directory was replaced while its tree was being removed; stopped", false);
        }
    }

    private static void unlinkIfPresent(NfsSession session, String path) throws NfsException {
        try {
            session.unlink(path);
        } catch (NfsException e) {
            if (!e.isNotFound()) {
                throw e;
            }
        }
    }

    /**
     * Copies the tree at {@code from} to the new path {@code to}, which must not exist (its parent must):
     * directories, regular files with their bytes (streamed through one {@link #COPY_BUFFER_BYTES} buffer),
     * and symbolic links as symbolic links (never followed). Each copy gets its original's permission bits,
     * owner and group (when they differ from the new object's, which needs the privilege to chown) and
     * access/modification times; directories get theirs after their contents are in. Hard links become
     * separate files. Devices, FIFOs and sockets are refused with {@code EOPNOTSUPP}.
     *
     * @return the bytes of regular-file data copied
     * @throws NfsException {@code EEXIST} if {@code to} exists, the first failure otherwise (the copy is then
     *     partial: remove it with {@link #removeTree})
     * @throws IllegalArgumentException if {@code to} lies within {@code from}, or for invalid paths
     */
    public static long copyTree(NfsSession session, String from, String to) throws NfsException {
        return copyTree(session, from, to, null);
    }

    /**
     * Source directories deeper than this (components below the share) are read through a session of their
     * own, whose export is that directory (see {@link #copyTree(NfsSession, String, String, String)}).
     */
    static final int SOURCE_REROOT_DEPTH = 60;

    /**
     * {@link #copyTree(NfsSession, String, String)} for trees deeper than the gateway resolves in one request.
     * libnfs resolves a path from its session's root with a LOOKUP per component in one COMPOUND, and
     * gateways limit the operations per COMPOUND (nfs-ganesha: about a hundred). So: a source directory deeper
     * than {@value #SOURCE_REROOT_DEPTH} components is read through a second session whose export is that
     * directory (its mount resolves the directory once; paths below it start again at its root), and a copy
     * deeper than {@link #MAX_WALK_DEPTH} is made in {@code scratchPrefix-<n>} (near the root, on the same
     * share) and renamed into place once complete. That reaches about {@value #SOURCE_REROOT_DEPTH} plus the
     * gateway's limit; deeper still, the gateway refuses ({@code NFS4ERR_RESOURCE}). After a failure, remove
     * {@code to} and whatever starts with {@code scratchPrefix}.
     *
     * @param scratchPrefix absolute path prefix for partial copies, in an existing directory; null to name
     *                      every path from the root whatever its depth
     */
    public static long copyTree(NfsSession session, String from, String to, String scratchPrefix)
            throws NfsException {
        NfsPaths.requireValid(from);
        NfsPaths.requireValid(to);
        if (NfsPaths.isWithin(to, from)) {
            throw new IllegalArgumentException("copyTree: " + to + " lies within " + from);
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(COPY_BUFFER_BYTES);
        NfsAttributes top = session.lstat(from);
        if (!top.isDirectory()) {
            return copyLeaf(session, from, session, to, top, buffer);
        }
        session.mkdir(to, 0700);
        Copy copy = new Copy(session, scratchPrefix, buffer);
        copy.contents(session, from, 0, to);
        applyAttributes(session, to, top, true);
        return copy.bytes;
    }

    /** One copyTree: the destination session, where deep copies are made, and the bytes copied. */
    private static final class Copy {
        private final NfsSession dst;
        private final String scratchPrefix;
        private final ByteBuffer buffer;
        private int chunks;
        long bytes;

        Copy(NfsSession dst, String scratchPrefix, ByteBuffer buffer) {
            this.dst = dst;
            this.scratchPrefix = scratchPrefix;
            this.buffer = buffer;
        }

        /**
         * Copies what directory {@code from} on {@code src} holds into the existing directory {@code to} on
         * the destination session. {@code srcBase} is how deep {@code src}'s root lies below the share.
         */
        void contents(NfsSession src, String from, int srcBase, String to) throws NfsException {
            record Dir(String from, String to, NfsAttributes attrs, boolean done) {
            }
            Deque<Dir> stack = new ArrayDeque<>();
            stack.push(new Dir(from, to, null, false));
            while (!stack.isEmpty()) {
                Dir d = stack.pop();
                if (d.done()) {
                    if (d.attrs() != null) {
                        applyAttributes(dst, d.to(), d.attrs(), true);
                    }
                    continue;
                }
                stack.push(new Dir(d.from(), d.to(), d.attrs(), true));
                for (NfsDirEntry e : src.readdir(d.from())) {
                    String source = NfsPaths.join(d.from(), e.name());
                    String copy = NfsPaths.join(d.to(), e.name());
                    NfsAttributes a = src.lstat(source);
                    if (!a.isDirectory()) {
                        bytes += copyLeaf(src, source, dst, copy, a, buffer);
                        continue;
                    }
                    boolean deepSource = scratchPrefix != null && srcBase == 0
                            && NfsPaths.components(source).size() >= SOURCE_REROOT_DEPTH;
                    boolean deepCopy = scratchPrefix != null && NfsPaths.components(copy).size() >= MAX_WALK_DEPTH;
                    if (!deepSource && !deepCopy) {
                        dst.mkdir(copy, 0700);
                        stack.push(new Dir(source, copy, a, false));
                        continue;
                    }
                    // Made near the root when the copy is deep, then renamed into place once complete.
                    String made = deepCopy ? scratchPrefix + "-" + chunks++ : copy;
                    dst.mkdir(made, 0700);
                    if (deepSource) {
                        try (NfsSession below = rooted(src, source)) {
                            contents(below, NfsPaths.ROOT, NfsPaths.components(source).size(), made);
                        }
                    } else {
                        contents(src, source, srcBase, made);
                    }
                    applyAttributes(dst, made, a, true);
                    if (deepCopy) {
                        dst.rename(made, copy);
                    }
                }
            }
        }
    }

    /** A session like {@code session} whose root is its directory {@code path}. */
    private static NfsSession rooted(NfsSession session, String path) throws NfsException {
        NfsTarget target = session.target();
        String export = target.export().equals(NfsPaths.ROOT) ? path : target.export() + path;
        return NfsClient.libnfs().connect(new NfsTarget(target.server(), target.port(), export, target.version()),
                session.options().withMaxContexts(1));
    }

    /** Copies one non-directory from {@code src} to {@code dst}; returns the bytes of file data copied. */
    private static long copyLeaf(NfsSession src, String from, NfsSession dst, String to, NfsAttributes a,
                                 ByteBuffer buffer) throws NfsException {
        switch (a.type()) {
            case SYMLINK -> {
                dst.symlink(src.readlink(from), to);
                applyAttributes(dst, to, a, false);
                return 0;
            }
            case FILE -> {
                long offset = 0;
                try (NfsFile out = dst.create(to, OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0600);
                        NfsFile in = src.open(from, OpenFlags.O_RDONLY)) {
                    while (true) {
                        buffer.clear();
                        int n = in.pread(offset, buffer);
                        if (n == 0) {
                            break;
                        }
                        buffer.flip();
                        out.pwrite(offset, buffer);
                        offset += n;
                    }
                }
                applyAttributes(dst, to, a, true);
                return offset;
            }
            default -> throw new NfsException("copyTree", from, src.target().spec(), Errno.EOPNOTSUPP,
                    "cannot copy a device, FIFO or socket", false);
        }
    }

    /** Owner, group, mode and times of {@code a} onto {@code path} (the link itself for symbolic links). */
    private static void applyAttributes(NfsSession session, String path, NfsAttributes a, boolean notSymlink)
            throws NfsException {
        NfsAttributes now = session.lstat(path);
        if (now.uid() != a.uid() || now.gid() != a.gid()) {
            session.lchown(path, now.uid() != a.uid() ? a.uid() : -1, now.gid() != a.gid() ? a.gid() : -1);
        }
        if (notSymlink) {
            session.chmod(path, a.mode());
            session.utimes(path, a.atime(), a.mtime());
        } else {
            session.lutimes(path, a.atime(), a.mtime());
        }
    }
}
