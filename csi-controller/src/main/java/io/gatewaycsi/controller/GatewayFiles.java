package io.gatewaycsi.controller;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.NfsPaths;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsTrees;
import io.gatewaycsi.nfs.OpenFlags;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/** Small-file and directory helpers over an {@link NfsSession} (paths absolute within the share). */
final class GatewayFiles {

    /** Largest record file read back, in bytes; records are a few hundred bytes. */
    static final int MAX_RECORD_BYTES = 64 * 1024;

    private GatewayFiles() {
    }

    /** Creates {@code path} and its missing parents with {@code mode}, like {@code mkdir -p}. */
    static void mkdirs(NfsSession session, String path, int mode) throws NfsException {
        String current = NfsPaths.ROOT;
        for (String component : NfsPaths.components(path)) {
            current = NfsPaths.join(current, component);
            try {
                session.mkdir(current, mode);
            } catch (NfsException e) {
                if (!e.isAlreadyExists()) {
                    throw e;
                }
            }
        }
    }

    /** Writes {@code content} to {@code path} atomically: a temporary file, fsync, then rename over it. */
    static void writeAtomically(NfsSession session, String path, byte[] content) throws NfsException {
        String temporary = path + ".tmp";
        try (NfsFile file = session.create(temporary, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC,
                0600)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            long offset = 0;
            while (buffer.hasRemaining()) {
                offset += file.pwrite(offset, buffer);
            }
            file.fsync();
        }
        session.rename(temporary, path);
    }

    /**
     * Reads a small file whole (at most {@link #MAX_RECORD_BYTES}), or nothing when it does not exist. Asks
     * with lstat first: an NFSv4 OPEN of a missing file costs nfs-client one of its contexts.
     */
    static Optional<byte[]> readSmallIfExists(NfsSession session, String path) throws NfsException {
        try {
            session.lstat(path);
            return Optional.of(readSmall(session, path));
        } catch (NfsException e) {
            if (e.isNotFound()) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static byte[] readSmall(NfsSession session, String path) throws NfsException {
        try (NfsFile file = session.open(path, OpenFlags.O_RDONLY)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buffer = ByteBuffer.allocate(8192);
            long offset = 0;
            while (offset < MAX_RECORD_BYTES) {
                buffer.clear();
                int read = file.pread(offset, buffer);
                if (read <= 0) {
                    break;
                }
                out.write(buffer.array(), 0, read);
                offset += read;
            }
            return out.toByteArray();
        }
    }

    /** The names in directory {@code path}, or none when it does not exist. */
    static List<String> listOrEmpty(NfsSession session, String path) throws NfsException {
        try {
            return session.readdir(path).stream().map(entry -> entry.name()).toList();
        } catch (NfsException e) {
            if (e.isNotFound()) {
                return List.of();
            }
            throw e;
        }
    }

    /**
     * Refuses {@code path} when one of the directories leading to it (every component but the last, below
     * the share's root) is a symbolic link. libnfs follows such links, so an operation on {@code path} would
     * act on whatever the link points to, elsewhere in the share: a pod that can write the parent of a volume
     * could swap a directory on the way for a link to another team's data. Checked from the share's root
     * down, so the first link found is reported before anything below it is looked up. A component that does
     * not exist ends the check (there is nothing to follow); one that is not a directory too (the operation
     * then fails with ENOTDIR). A path-based client cannot close the window between this check and the
     * operation completely (libnfs 4.0 has no {@code *at()} calls); the check stops a link that is in place.
     *
     * @throws CsiException FAILED_PRECONDITION naming the link
     */
    static void requireNoSymlinkOnTheWay(NfsSession session, String path, String doing) throws NfsException {
        List<String> components = NfsPaths.components(path);
        String current = NfsPaths.ROOT;
        for (int i = 0; i < components.size() - 1; i++) {
            current = NfsPaths.join(current, components.get(i));
            io.gatewaycsi.nfs.NfsAttributes attributes;
            try {
                attributes = session.lstat(current);
            } catch (NfsException e) {
                if (e.isNotFound() || e.isNotDirectory()) {
                    return;
                }
                throw e;
            }
            if (attributes.isSymlink()) {
                throw CsiException.failedPrecondition(doing + " refused: " + current + " on the way to " + path
                        + " is a symbolic link on the gateway, which would lead outside the volume; replace it"
                        + " with the directory it stands for");
            }
            if (!attributes.isDirectory()) {
                return;
            }
        }
    }

    /**
     * {@link #requireNoSymlinkOnTheWay} and more: {@code path} itself must be a directory, not a symbolic link
     * (a volume whose directory was swapped for a link would otherwise be copied as that link, and a volume
     * restored from the copy would show whatever the link points to). For reading a volume's tree: snapshots
     * and clones.
     *
     * @throws CsiException FAILED_PRECONDITION naming the link, NOT_FOUND when {@code path} does not exist
     */
    static void requireRealDirectory(NfsSession session, String path, String doing) throws NfsException {
        requireNoSymlinkOnTheWay(session, path, doing);
        io.gatewaycsi.nfs.NfsAttributes attributes;
        try {
            attributes = session.lstat(path);
        } catch (NfsException e) {
            if (e.isNotFound() || e.isNotDirectory()) {
                throw CsiException.notFound(doing + ": " + path + " does not exist on the gateway");
            }
            throw e;
        }
        if (!attributes.isDirectory()) {
            throw CsiException.failedPrecondition(doing + " refused: the volume's directory " + path + " is "
                    + (attributes.isSymlink() ? "a symbolic link" : "not a directory") + " on the gateway");
        }
    }

    /**
     * Removes the tree at {@code path} (never following symbolic links) whatever its depth: a directory deeper
     * than {@link NfsTrees#MAX_WALK_DEPTH} is first moved up to {@code /.gateway-csi/tmp/removing-<digest of
     * path>-…} and removed from there, so no request exceeds the gateway's operations per COMPOUND. What an
     * earlier, interrupted removal of the same path left there is removed first.
     *
     * @return false if {@code path} did not exist
     */
    static boolean removeTree(NfsSession session, String path) throws NfsException {
        String name = "removing-" + VolumeId.digestOf(path) + "-";
        mkdirs(session, GatewayLayout.TMP, GatewayLayout.PRIVATE_DIR_MODE);
        for (String left : listOrEmpty(session, GatewayLayout.TMP)) {
            if (left.startsWith(name)) {
                NfsTrees.removeTree(session, GatewayLayout.TMP + "/" + left, scratch(name));
            }
        }
        return NfsTrees.removeTree(session, path, scratch(name));
    }

    /**
     * Copies the tree at {@code from} to {@code to} (see {@link NfsTrees#copyTree(NfsSession, String, String,
     * String)}) whatever its depth, making deep parts of the copy in {@code /.gateway-csi/tmp/removing-<digest
     * of to>-…}, where {@link #removeTree} of {@code to} finds them after a failure.
     *
     * @return the bytes of file data copied
     */
    static long copyTree(NfsSession session, String from, String to) throws NfsException {
        mkdirs(session, GatewayLayout.TMP, GatewayLayout.PRIVATE_DIR_MODE);
        return NfsTrees.copyTree(session, from, to, scratch("removing-" + VolumeId.digestOf(to) + "-"));
    }

    private static String scratch(String name) {
        return GatewayLayout.TMP + "/" + name + Long.toHexString(System.nanoTime());
    }

    /** Removes a file; a missing one is fine. */
    static void unlinkIfExists(NfsSession session, String path) throws NfsException {
        try {
            session.unlink(path);
        } catch (NfsException e) {
            if (!e.isNotFound()) {
                throw e;
            }
        }
    }
}
