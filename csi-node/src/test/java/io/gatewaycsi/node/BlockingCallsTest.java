package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class BlockingCallsTest {

    private static final Path PATH = Path.of("/var/lib/kubelet/x");

    @Test
    void returnsTheValueOfACallThatFinishesInTime() throws IOException {
        assertThat(BlockingCalls.call("stat", PATH, Duration.ofSeconds(5), () -> 42)).isEqualTo(42);
    }

    @Test
    void passesOnTheCallsOwnIoException() {
        assertThatThrownBy(() -> BlockingCalls.call("stat", PATH, Duration.ofSeconds(5), () -> {
            throw new NoSuchFileException(PATH.toString());
        })).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void callsMadeInsideACallRunInPlaceOnItsWorkerUnderTheOuterDeadline() throws Exception {
        AtomicReference<Thread> outer = new AtomicReference<>();
        Thread inner = BlockingCalls.call("statx", PATH, Duration.ofSeconds(5), () -> {
            outer.set(Thread.currentThread());
            return BlockingCalls.call("mkdir", PATH, Duration.ofSeconds(5), Thread::currentThread);
        });
        assertThat(inner).isSameAs(outer.get()).isNotSameAs(Thread.currentThread());

        // The inner call's own, longer deadline does not apply: the outer call times out and is abandoned.
        CountDownLatch release = new CountDownLatch(1);
        int before = BlockingCalls.abandonedNow();
        long started = System.nanoTime();
        assertThatThrownBy(() -> BlockingCalls.call("publish", PATH, Duration.ofMillis(100), () ->
                BlockingCalls.call("bind", PATH, Duration.ofSeconds(30), () -> {
                    try {
                        return release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                })))
                .isInstanceOfSatisfying(MountException.class, e -> {
                    assertThat(e.isTimeout()).isTrue();
                    assertThat(e.operation()).isEqualTo("publish");
                });
        assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(5));
        assertThat(BlockingCalls.abandonedNow()).isEqualTo(before + 1);
        release.countDown();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (BlockingCalls.abandonedNow() > before && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertThat(BlockingCalls.abandonedNow()).isEqualTo(before);
    }

    @Test
    void aCallPastItsDeadlineIsReportedAsATimeoutOffTheCallersThreadAndCountedUntilItReturns()
            throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch returned = new CountDownLatch(1);
        AtomicReference<Thread> worker = new AtomicReference<>();
        int before = BlockingCalls.abandonedNow();

        assertThatThrownBy(() -> BlockingCalls.call("statvfs", PATH, Duration.ofMillis(100), () -> {
            worker.set(Thread.currentThread());
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            returned.countDown();
            return 0;
        })).isInstanceOfSatisfying(MountException.class, e -> {
            assertThat(e.isTimeout()).isTrue();
            assertThat(e.path()).isEqualTo(PATH);
            assertThat(e.operation()).isEqualTo("statvfs");
        });

        assertThat(worker.get()).isNotSameAs(Thread.currentThread());
        assertThat(worker.get().isDaemon()).isTrue();
        assertThat(worker.get().isVirtual()).isFalse();
        assertThat(BlockingCalls.abandonedNow()).isEqualTo(before + 1);
        release.countDown();
        assertThat(returned.await(5, TimeUnit.SECONDS)).isTrue();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (BlockingCalls.abandonedNow() != before && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertThat(BlockingCalls.abandonedNow()).isEqualTo(before);
    }

    @Test
    void onceTooManyCallsAreStuckOnlyTheEscapeHatchesStillRun() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try {
            while (BlockingCalls.abandonedNow() < BlockingCalls.MAX_ABANDONED) {
                assertThatThrownBy(() -> BlockingCalls.call("statvfs", PATH, Duration.ofMillis(5), () -> {
                    awaitQuietly(release);
                    return 0;
                })).isInstanceOf(MountException.class);
            }

            assertThatThrownBy(() -> BlockingCalls.call("statvfs", PATH, Duration.ofSeconds(5), () -> 0))
                    .isInstanceOfSatisfying(MountException.class, e -> assertThat(e.isTimeout()).isTrue())
                    .hasMessageContaining("was not started: " + BlockingCalls.MAX_ABANDONED + " earlier calls");
            assertThat(BlockingCalls.callEvenIfSaturated("umount2(MNT_DETACH)", PATH, Duration.ofSeconds(5),
                    () -> 0)).isZero();
        } finally {
            release.countDown();
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (BlockingCalls.abandonedNow() > 0 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertThat(BlockingCalls.call("statvfs", PATH, Duration.ofSeconds(5), () -> 7)).isEqualTo(7);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
