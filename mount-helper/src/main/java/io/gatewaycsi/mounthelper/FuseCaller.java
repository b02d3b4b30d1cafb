package io.gatewaycsi.mounthelper;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * The process on whose behalf libfuse runs the current operation: libfuse3's {@code fuse_get_context()}
 * (fuse.h, {@code struct fuse_context}: {@code uid_t uid} at byte 8, {@code gid_t gid} at 12,
 * {@code pid_t pid} at 16 on x86_64/aarch64), called through FFM because jfuse does not expose it. Valid only on
 * a FUSE worker thread while it runs an operation.
 */
@SuppressWarnings("restricted") // FFM: libfuse3's fuse_get_context (needs --enable-native-access)
final class FuseCaller {
    /** A caller's credentials. */
    record Identity(int uid, int gid, int pid) {
    }

    private static final long CONTEXT_BYTES = 40;

    private final MethodHandle getContext;

    private FuseCaller(MethodHandle getContext) {
        this.getContext = getContext;
    }

    /**
     * Binds {@code fuse_get_context} in the libfuse3 at {@code libfuse3}.
     *
     * @throws UnsatisfiedLinkError if the library or the symbol is missing
     */
    static FuseCaller bind(Path libfuse3) {
        SymbolLookup lib = SymbolLookup.libraryLookup(libfuse3, Arena.global());
        MemorySegment symbol = lib.find("fuse_get_context")
                .orElseThrow(() -> new UnsatisfiedLinkError("fuse_get_context not found in " + libfuse3));
        return new FuseCaller(Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(ValueLayout.ADDRESS)));
    }

    /** The current operation's caller, or null when there is none (not on a FUSE worker thread). */
    Identity current() {
        MemorySegment ctx;
        try {
            ctx = (MemorySegment) getContext.invokeExact();
        } catch (Throwable t) {
            return null;
        }
        if (ctx.equals(MemorySegment.NULL)) {
            return null;
        }
        MemorySegment c = ctx.reinterpret(CONTEXT_BYTES);
        return new Identity(c.get(ValueLayout.JAVA_INT, 8), c.get(ValueLayout.JAVA_INT, 12), c.get(ValueLayout.JAVA_INT, 16));
    }
}
