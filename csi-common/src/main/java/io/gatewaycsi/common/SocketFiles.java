package io.gatewaycsi.common;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The life of a unix socket file: made ready before bind (its directory created, a stale socket left by a
 * crashed process removed, a live one refused), its mode set to 0660 after bind (owner and group — kubelet
 * and the sidecars — may connect; others may not), and removed at shutdown.
 */
public final class SocketFiles {

    private SocketFiles() {
    }

    /**
     * Makes {@code socket} ready to bind.
     *
     * @throws IOException with a message naming the path, the cause and the fix: the directory cannot be
     *                     created or written, the path is not a socket, or another process is serving on it
     */
    public static void prepare(Path socket) throws IOException {
        Path dir = socket.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
        } catch (FileSystemException e) {
            throw new IOException("cannot create the socket directory " + dir + ": " + reason(e)
                    + "; create it or choose another endpoint", e);
        }
        if (!Files.isWritable(dir)) {
            throw new IOException("the socket directory " + dir + " is not writable by this user;"
                    + " fix its permissions or choose another endpoint");
        }
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(socket)) {
            throw new IOException(socket + " exists and is not a socket; remove it or choose another endpoint");
        }
        if (isServed(socket)) {
            throw new IOException("another process is already serving on unix://" + socket
                    + "; stop it or choose another endpoint");
        }
        Files.deleteIfExists(socket);
    }

    /** Sets {@code socket}'s mode to 0660 (rw for owner and group). */
    public static void restrict(Path socket) throws IOException {
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    }

    /** Removes {@code socket} if it is still there; errors are ignored (the process is ending). */
    public static void remove(Path socket) {
        try {
            if (isSocket(socket)) {
                Files.deleteIfExists(socket);
            }
        } catch (IOException ignored) {
            // nothing left to do: a leftover socket is removed as stale by the next start
        }
    }

    private static boolean isSocket(Path path) throws IOException {
        Object type = Files.readAttributes(path, "unix:mode", LinkOption.NOFOLLOW_LINKS).get("mode");
        return type instanceof Integer mode && (mode & 0170000) == 0140000;
    }

    private static boolean isServed(Path socket) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (ConnectException e) {
            return false;
        }
    }

    static String reason(FileSystemException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        return e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
    }
}
