package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The mount points a test made; closing detaches whatever is still mounted at them (newest first, every
 * layer), so a failing test leaves no mount behind — and JUnit's @TempDir cleanup never descends into one.
 */
final class TestMounts implements AutoCloseable {

    private final Deque<Path> targets = new ArrayDeque<>();

    /** Remembers {@code target} for cleanup and returns it. */
    Path track(Path target) {
        targets.push(target);
        return target;
    }

    static boolean isMounted(Path path) throws IOException {
        return MountTable.read().isMountPoint(path);
    }

    @Override
    public void close() throws IOException {
        while (!targets.isEmpty()) {
            Path target = targets.pop();
            for (int i = 0; i < 16 && isMounted(target); i++) {
                Libc.umount2(target.toString(), Libc.MNT_DETACH);
            }
        }
    }
}
