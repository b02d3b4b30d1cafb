package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.HealthResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class MountHelperServiceTest {

    private static HealthResponse health(Path fuseDevice) {
        AtomicReference<HealthResponse> answer = new AtomicReference<>();
        new MountHelperService(fuseDevice).health(HealthRequest.getDefaultInstance(), new StreamObserver<>() {
            @Override
            public void onNext(HealthResponse value) {
                answer.set(value);
            }

            @Override
            public void onError(Throwable t) {
                throw new AssertionError(t);
            }

            @Override
            public void onCompleted() {
            }
        });
        return answer.get();
    }

    @Test
    void isReadyWhereTheFuseDeviceIsUsable() {
        assertThat(health(Path.of("/dev/fuse")).getReady()).isTrue();
    }

    /**
     * libfuse's loop cancels its worker threads at the end of every mount, and glibc aborts the whole process when
     * it cannot load libgcc_s.so.1 at that moment (seen in a cluster: the helper died in {@code abort} on an
     * Unmount). A ready helper has it loaded already, before it mounts anything.
     */
    @Test
    void hasGlibcsUnwinderLoadedOnceReady() throws Exception {
        assertThat(health(Path.of("/dev/fuse")).getReady()).isTrue();
        assertThat(Files.readString(Path.of("/proc/self/maps"))).contains("/libgcc_s.so.1");
    }

    @Test
    void saysWhyItIsNotReadyWithoutTheFuseDevice() {
        HealthResponse health = health(Path.of("/dev/no-such-fuse"));
        assertThat(health.getReady()).isFalse();
        assertThat(health.getMessage()).contains("/dev/no-such-fuse is missing");
    }
}
