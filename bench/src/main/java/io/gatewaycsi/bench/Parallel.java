package io.gatewaycsi.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Runs {@code count} numbered tasks on {@code callers} platform threads, timing each one. */
final class Parallel {

    interface Task {
        void run(int index) throws Exception;
    }

    private Parallel() {
    }

    /**
     * Runs tasks 0..count-1, each timed into {@code samples}; fails with the first failure once all are done.
     *
     * @return the wall time of the whole batch in nanoseconds
     */
    static long run(int callers, int count, Samples samples, Duration timeout, Task task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        AtomicInteger next = new AtomicInteger();
        try {
            List<Future<?>> futures = new ArrayList<>();
            long start = System.nanoTime();
            for (int c = 0; c < callers; c++) {
                futures.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        long t0 = System.nanoTime();
                        task.run(i);
                        samples.add(System.nanoTime() - t0);
                    }
                    return null;
                }));
            }
            Exception failure = null;
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Future<?> future : futures) {
                try {
                    future.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (Exception e) {
                    if (failure == null) {
                        failure = e;
                    }
                }
            }
            long wall = System.nanoTime() - start;
            if (failure != null) {
                throw failure;
            }
            return wall;
        } finally {
            pool.shutdownNow();
        }
    }

}
