package io.gatewaycsi.mounthelper;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * glibc's unwinder ({@code libgcc_s.so.1}), loaded before the first FUSE mount instead of when libfuse first
 * needs it.
 *
 * <p>libfuse's multi-threaded loop ends by cancelling its worker threads (pthread_cancel(3)): once for every
 * FUSE mount, when it is unmounted or its connection aborted. glibc (2.34 and later) cancels a thread by
 * unwinding its stack with {@code libgcc_s.so.1}, which it dlopen(3)s the first time any thread is cancelled;
 * if that dlopen fails then, glibc prints "libgcc_s.so.1 must be installed for pthread_cancel to work" and
 * aborts the whole process — and the mount helper, PID 1 of its container (where the kernel ignores the
 * SIGABRT), dies in a SIGSEGV in {@code abort}, taking every mount it serves with it. That was seen in a cluster
 * on the first Unmount after a node plugin restart. glibc keeps the library once loaded and never dlopens it
 * again; backtrace(3) loads it through the same cache. One backtrace before the first mount therefore makes every
 * later cancellation independent of what the file system and the process's limits allow at that moment, and
 * a helper that cannot load it says so before it mounts anything.
 */
@SuppressWarnings("restricted") // FFM downcall into libc (needs --enable-native-access)
final class GlibcUnwinder {

    private static Optional<String> problem;

    private GlibcUnwinder() {
    }

    /**
     * Loads glibc's unwinder once per process (later calls answer at once).
     *
     * @return empty once loaded; otherwise why libfuse's threads could not be stopped
     */
    static synchronized Optional<String> load() {
        if (problem == null) {
            problem = loadNow();
        }
        return problem;
    }

    private static Optional<String> loadNow() {
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle backtrace = linker.downcallHandle(linker.defaultLookup().find("backtrace").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            MemorySegment frames = arena.allocate(ValueLayout.ADDRESS, 4);
            int depth = (int) backtrace.invokeExact(frames, 4);
            return depth > 0 ? Optional.empty()
                    : Optional.of("glibc cannot load its unwinder libgcc_s.so.1 (backtrace found no frame), without"
                            + " which libfuse's worker threads cannot be stopped at unmount; install libgcc_s.so.1"
                            + " (Debian: libgcc-s1) in the mount helper image");
        } catch (Throwable t) {
            return Optional.of("cannot call glibc's backtrace to load libgcc_s.so.1: " + t);
        }
    }
}
