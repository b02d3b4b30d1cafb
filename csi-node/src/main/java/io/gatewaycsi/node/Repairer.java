package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.InFlight;
import io.gatewaycsi.common.LogLine;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Watches the staging mounts this node made and restores those that broke, without waiting for kubelet: when
 * the mount helper dies, its FUSE mounts fail with ENOTCONN; as soon as a helper answers again, every broken
 * staging mount is remounted through it and its targets re-bound ({@link StagingRepair}). Each pass takes the
 * volume's lock, so it never races an RPC on the same volume (a busy volume is left for the next pass).
 */
final class Repairer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Repairer.class.getName());
    /** The longest wait between two repairs of a staging mount that keeps failing. */
    static final Duration MAX_BACK_OFF = Duration.ofMinutes(5);
    /** Failed repairs retried at the plain interval before the back-off starts doubling. */
    static final int QUICK_RETRIES = 3;

    private final StagingState state;
    private final StagingRepair repair;
    private final InFlight inFlight;
    private final Optional<SidecarBackend> sidecar;
    private final Duration interval;
    private final Map<Path, BackOff> backOffs = new ConcurrentHashMap<>();
    private volatile Thread thread;

    Repairer(StagingState state, StagingRepair repair, InFlight inFlight, Optional<SidecarBackend> sidecar,
             Duration interval) {
        this.state = state;
        this.repair = repair;
        this.inFlight = inFlight;
        this.sidecar = sidecar;
        this.interval = interval;
    }

    /** Starts the background pass every {@code interval}. */
    void start() {
        thread = Thread.ofVirtual().name("staging-repair").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(interval);
                    runOnce();
                } catch (InterruptedException e) {
                    return;
                } catch (IOException | RuntimeException e) {
                    LOG.warning(LogLine.event("repair-pass-failed").with("error", e.getMessage()).toString());
                }
            }
        });
    }

    /**
     * One pass: repairs every recorded staging mount that is mounted but broken, or no longer mounted at all
     * (its mount helper died and its mounts went with it; its directory may be gone too), if the backend it
     * needs can serve. A staging mount whose repair keeps failing is tried again after a back-off
     * ({@link #delayAfter}: a gateway that refuses, a path that cannot be mounted on — no mount attempt every
     * 2 s for ever).
     *
     * @return the number of staging mounts repaired
     */
    int runOnce() throws IOException {
        int repaired = 0;
        MountTable table = MountTable.read();
        long now = System.nanoTime();
        for (StagingState.Staged staged : state.all()) {
            Path stagingPath = staged.mount().stagingPath();
            BackOff waiting = backOffs.get(stagingPath);
            if (waiting != null && now - waiting.notBefore() < 0) {
                continue;
            }
            if (causeOf(table, staged) == null) {
                backOffs.remove(stagingPath);
                continue;
            }
            if (needsHelper(table, staged) && !sidecar.map(SidecarBackend::ready).orElse(false)) {
                continue; // wait for the helper to come back
            }
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + staged.mount().volumeId(), "repair")) {
                // Under the volume's lock: NodeUnstageVolume may have finished since the records were read.
                Optional<StagingState.Staged> current = state.get(stagingPath);
                if (current.isEmpty()) {
                    continue;
                }
                MountTable fresh = MountTable.read();
                String cause = causeOf(fresh, current.get());
                if (cause == null) {
                    continue;
                }
                Optional<MountEntry> entry = fresh.topmost(stagingPath);
                Stager.Outcome outcome = repair.repair(current.get(), entry,
                        StagingRepair.targetsOf(fresh, current.get().mount(), entry), cause);
                state.save(current.get().mount(), current.get().mountBackend(), current.get().claim(),
                        outcome.fallback());
                backOffs.remove(stagingPath);
                repaired++;
            } catch (CsiException e) {
                if (e.code() != io.grpc.Status.Code.ABORTED) {
                    backOff(stagingPath, waiting, e);
                }
                LOG.info(LogLine.event("repair-deferred").with("volume_id", staged.mount().volumeId())
                        .with("reason", e.getMessage()).toString());
            } catch (IOException | RuntimeException e) {
                backOff(stagingPath, waiting, e);
            }
        }
        return repaired;
    }

    /**
     * Why a recorded staging mount needs a repair ({@link StagingRepair#brokenCause}, or
     * {@value StagingRepair#MISSING} when nothing is mounted there), or {@code null} when it answers.
     */
    private String causeOf(MountTable table, StagingState.Staged staged) {
        Path stagingPath = staged.mount().stagingPath();
        return table.topmost(stagingPath).isPresent() ? repair.brokenCause(stagingPath) : StagingRepair.MISSING;
    }

    /** Whether the mount helper makes this staging mount (as the mount table or the record says). */
    private static boolean needsHelper(MountTable table, StagingState.Staged staged) {
        Optional<MountEntry> entry = table.topmost(staged.mount().stagingPath());
        List<MountEntry> targets = StagingRepair.targetsOf(table, staged.mount(), entry);
        return entry.or(() -> targets.stream().findFirst())
                .map(e -> e.fsType().equals(SidecarBackend.FS_TYPE))
                .orElse(staged.mountBackend().equals("sidecar") || staged.fallback() != null);
    }

    private void backOff(Path stagingPath, BackOff previous, Exception e) {
        int failures = previous == null ? 1 : previous.failures() + 1;
        Duration wait = delayAfter(failures, interval);
        backOffs.put(stagingPath, new BackOff(failures, System.nanoTime() + wait.toNanos()));
        LOG.warning(LogLine.event("repair-failed").with("staging_path", stagingPath).with("error", e.getMessage())
                .with("failures", failures).with("next_try_in_s", wait.toSeconds()).toString());
    }

    /**
     * The wait before the next repair after {@code failures} consecutive failed ones: the interval for the
     * first {@value #QUICK_RETRIES} (a helper still starting, a gateway back in a moment), then doubling up to
     * {@link #MAX_BACK_OFF}.
     */
    static Duration delayAfter(int failures, Duration interval) {
        if (failures <= QUICK_RETRIES) {
            return interval;
        }
        int doublings = Math.min(failures - QUICK_RETRIES, 20);
        Duration wait = interval.multipliedBy(1L << doublings);
        return wait.compareTo(MAX_BACK_OFF) > 0 ? MAX_BACK_OFF : wait;
    }

    /** How many consecutive failed repairs of a staging mount there were, and when the next may start. */
    private record BackOff(int failures, long notBefore) {
    }

    @Override
    public void close() {
        Thread running = thread;
        if (running != null) {
            running.interrupt();
        }
    }
}
