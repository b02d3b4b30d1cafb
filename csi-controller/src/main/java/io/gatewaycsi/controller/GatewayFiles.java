package io.gatewaycsi.controller;

import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.NfsPaths;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.OpenFlags;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;

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

    /** Reads a small file whole; at most {@link #MAX_RECORD_BYTES}. */
    static byte[] readSmall(NfsSession session, String path) throws NfsException {
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
