package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.InFlight;
import io.gatewaycsi.common.LogLine;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Watches the staging mounts this node made and restores those that broke, without waiting for kubelet: when
 * the mount helper dies, its FUSE mounts fail with ENOTCONN; as soon as a helper answers again, every broken
 * staging mount is remounted through it and its targets re-bound ({@link StagingRepair}). Each pass takes the
 * volume's lock, so it never races an RPC on the same volume (a busy volume is left for the next pass).
 */
final class Repairer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Repairer.class.getName());

    private final StagingState state;
    private final StagingRepair repair;
    private final InFlight inFlight;
    private final Optional<SidecarBackend> sidecar;
    private final Duration interval;
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
     * One pass: repairs every recorded staging mount that is mounted but broken, or gone while targets
     * published from it are left broken, if the backend it needs can serve.
     *
     * @return the number of staging mounts repaired
     */
    int runOnce() throws IOException {
        int repaired = 0;
        MountTable table = MountTable.read();
        for (StagingState.Staged staged : state.all()) {
            Optional<MountEntry> entry = table.topmost(staged.mount().stagingPath());
            List<MountEntry> targets = StagingRepair.targetsOf(table, staged.mount(), entry);
            String cause;
            if (entry.isPresent()) {
                cause = repair.brokenCause(staged.mount().stagingPath());
            } else {
                // A mount helper that was stopped unmounted its staging mounts; their targets are left dead.
                cause = targets.isEmpty() ? null : repair.brokenCause(targets.getFirst().mountPoint());
            }
            if (cause == null) {
                continue;
            }
            boolean helperMount = entry.or(() -> targets.stream().findFirst())
                    .map(e -> e.fsType().equals(SidecarBackend.FS_TYPE)).orElse(false);
            if (helperMount && !sidecar.map(SidecarBackend::ready).orElse(false)) {
                continue; // wait for the helper to come back
            }
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + staged.mount().volumeId(), "repair")) {
                repair.repair(staged.mount(), staged.mountBackend(), entry, targets, staged.claim(), cause);
                repaired++;
            } catch (CsiException e) {
                LOG.info(LogLine.event("repair-deferred").with("volume_id", staged.mount().volumeId())
                        .with("reason", e.getMessage()).toString());
            }
        }
        return repaired;
    }

    @Override
    public void close() {
        Thread running = thread;
        if (running != null) {
            running.interrupt();
        }
    }
}
