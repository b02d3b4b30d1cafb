/**
 * A user-space NFS client: a Java API over libnfs 4.0 (Debian {@code libnfs13}) through Java's foreign
 * function and memory API (no JNI).
 *
 * <p>Entry point: {@link io.gatewaycsi.nfs.NfsClient#libnfs()}{@code .connect(target, options)} returns an
 * {@link io.gatewaycsi.nfs.NfsSession} on one share of one gateway. Paths given to a session are absolute
 * within the share ({@code "/"} is the share's root, {@code "/vol1/a"} a file in it); see
 * {@link io.gatewaycsi.nfs.NfsPaths}. Every failure is an {@link io.gatewaycsi.nfs.NfsException} carrying
 * the operation, the path, a positive Linux errno and libnfs's own error text.
 *
 * <p>Threading: a session is safe for use by many threads. It keeps a pool of libnfs contexts (each one
 * TCP connection, one NFSv4 client), because libnfs has no thread safety within one context; each call
 * borrows a context for its duration. See {@link io.gatewaycsi.nfs.NfsSession} for the pool, deadlines and
 * reconnection, and {@link io.gatewaycsi.nfs.NfsFile} for how open files use it.
 *
 * <p>Versions: libnfs 4.0 speaks NFSv3 and NFSv4.0 ({@link io.gatewaycsi.nfs.NfsVersion}); nfs(5) names are
 * used throughout.
 */
package io.gatewaycsi.nfs;
