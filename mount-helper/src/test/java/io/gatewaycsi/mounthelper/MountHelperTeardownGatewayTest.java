package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unmount against the real test gateway with real FUSE mounts: it answers OK and releases everything once the
 * mount is gone, however quickly someone else's mount takes the freed mount ID, and it touches only the
 * helper's own staging mounts.
 */
@ExtendWith(TestGateway.class)
class MountHelperTeardownGatewayTest {
    private static final long MS_BIND = 4096;
    private static HelperHarness helper;

    @BeforeAll
    static void start() throws IOException {
        helper = new HelperHarness();
    }

    @AfterAll
    static void stop() {
        if (helper != null) {
            helper.close();
        }
    }

    @AfterEach
    void unmountAll() {
        helper.unmountAll();
    }

    @Test
    void unmountIsOkAndReleasesWhileOtherMountsTakeTheFreedMountIdsAtOnce(TestGateway gw, @TempDir Path dir)
            throws Exception {
        String volumeDir = gw.freshDir("mh-race");
        Path source = Files.createDirectories(dir.resolve("bind-source"));
        Path bindTarget = Files.createDirectories(dir.resolve("bind-target"));
        // Another mounter on the node, as fast as it can: Linux hands it each mount ID an unmount frees.
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger binds = new AtomicInteger();
        Thread thief = Thread.ofPlatform().daemon().name("mount-id-thief").start(() -> {
            while (!stop.get() && binds.get() < 2_000_000) {
                try {
                    LinuxSyscalls.mount(source.toString(), bindTarget.toString(), "none", MS_BIND);
                    LinuxSyscalls.umount2(bindTarget.toString(), 0);
                    binds.incrementAndGet();
                } catch (LinuxSyscalls.SyscallException e) {
                    return;
                }
            }
        });
        ConcurrentLinkedQueue<Throwable> failed = new ConcurrentLinkedQueue<>();
        int workers = Reliability.pick(4, 8);
        int rounds = Reliability.pick(6, 40);
        try {
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                Path staging = Files.createDirectories(dir.resolve("staging-" + w));
                String volume = "vol-race-" + w;
                threads.add(Thread.ofPlatform().name("worker-" + w).start(() -> {
                    for (int round = 0; round < rounds; round++) {
                        try {
                            helper.mount(HelperHarness.request(volume, gw.server(), gw.share(), volumeDir, staging));
                            helper.unmount(staging);
                        } catch (RuntimeException e) {
                            failed.add(e);
                        }
                    }
                }));
            }
            for (Thread worker : threads) {
                worker.join(Reliability.pick(240_000, 900_000));
            }
        } finally {
            stop.set(true);
            thief.join(10_000);
            HelperHarness.detachLeftovers();
        }
        Reliability.report("mount helper unmount race: " + workers + " workers x " + rounds + " rounds against "
                + binds.get() + " foreign mounts: " + failed.size() + " failed Unmount calls");
        assertThat(binds.get()).as("the other mounter ran").isPositive();
        assertThat(failed).as("Unmount answers").isEmpty();
        assertThat(helper.list()).as("the helper forgot every mount it unmounted").isEmpty();
        assertThat(helper.service.mounts()).isEmpty();
    }

    @Test
    void unmountOfABindMountOfAStagingMountIsRefusedAndLeavesIt(TestGateway gw, @TempDir Path dir) throws Exception {
        String volumeDir = gw.freshDir("mh-own");
        Path staging = Files.createDirectories(dir.resolve("staging"));
        Path target = Files.createDirectories(dir.resolve("target"));
        helper.mount(HelperHarness.request("vol-own-only", gw.server(), gw.share(), volumeDir, staging));
        HelperHarness.MOUNTED.add(target.toString());
        LinuxSyscalls.mount(staging.toString(), target.toString(), "none", MS_BIND);
        try {
            assertThatThrownBy(() -> helper.unmount(target)).isInstanceOf(StatusRuntimeException.class)
                    .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
                            .isEqualTo(Status.Code.FAILED_PRECONDITION));
            assertThat(HelperHarness.gatewayMountsAt(target)).as("the pod's bind mount stays").hasSize(1);
            assertThat(Files.list(target).count()).isGreaterThanOrEqualTo(0);
        } finally {
            try {
                LinuxSyscalls.umount2(target.toString(), LinuxSyscalls.MNT_DETACH);
            } catch (LinuxSyscalls.SyscallException e) {
                // already gone (what the helper did before it unmounted only its own staging mounts)
            }
        }
    }
}
