package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class GatewayCallerTest {
    private static final NfsException TIMEOUT =
            new NfsException("lstat", "/x", "gw:/export", Errno.ETIMEDOUT, "command timed out", false);
    private static final NfsException NOT_FOUND =
            new NfsException("lstat", "/x", "gw:/export", Errno.ENOENT, "NFS4ERR_NOENT", false);

    private static GatewayCaller caller(GatewayHealth health, String... options) {
        return new GatewayCaller(MountSemantics.parse(List.of(options), false), health, System::nanoTime, "test");
    }

    private static GatewayHealth health() {
        return new GatewayHealth(Duration.ofSeconds(30), System::nanoTime);
    }

    private static int errnoOf(Throwable t) {
        return ((FuseErrno) t).errno();
    }

    @Test
    void answersEndTheCallAndKeepTheirErrno() {
        GatewayHealth health = health();
        AtomicInteger attempts = new AtomicInteger();
        assertThatThrownBy(() -> caller(health, "hard").call("getattr", "/x", n -> {
            attempts.incrementAndGet();
            throw NOT_FOUND;
        })).isInstanceOf(FuseErrno.class).satisfies(e -> assertThat(errnoOf(e)).isEqualTo(Errno.ENOENT));
        assertThat(attempts).hasValue(1);
        assertThat(health.healthy()).isTrue();
    }

    @Test
    void softGivesUpWithEioAfterTimeoTimesRetransPlusOne() {
        GatewayHealth health = health();
        health.answered();
        long start = System.nanoTime();
        assertThatThrownBy(() -> caller(health, "soft", "timeo=2", "retrans=1").call("read", "/x", n -> {
            throw TIMEOUT;
        })).isInstanceOf(FuseErrno.class).satisfies(e -> assertThat(errnoOf(e)).isEqualTo(Errno.EIO));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).isBetween(Duration.ofMillis(250), Duration.ofSeconds(10));
        assertThat(health.healthy()).isFalse();
    }

    @Test
    void softerrGivesUpWithEtimedout() {
        assertThatThrownBy(() -> caller(health(), "softerr", "timeo=1", "retrans=0").call("read", "/x", n -> {
            throw TIMEOUT;
        })).isInstanceOf(FuseErrno.class).satisfies(e -> assertThat(errnoOf(e)).isEqualTo(Errno.ETIMEDOUT));
    }

    @Test
    void hardRetriesUntilTheGatewayAnswers() throws FuseErrno {
        AtomicInteger attempts = new AtomicInteger();
        String result = caller(health(), "hard", "timeo=1").call("read", "/x", n -> {
            if (attempts.incrementAndGet() < 4) {
                throw TIMEOUT;
            }
            return "bytes after " + n + " retries";
        });
        assertThat(result).isEqualTo("bytes after 3 retries");
    }

    @Test
    void closingStopsAHardRetryLoop() throws Exception {
        GatewayCaller caller = caller(health(), "hard", "timeo=1");
        CompletableFuture<Integer> call = CompletableFuture.supplyAsync(() -> {
            try {
                caller.call("read", "/x", n -> {
                    throw TIMEOUT;
                });
                return 0;
            } catch (FuseErrno e) {
                return e.errno();
            }
        });
        Thread.sleep(500);
        assertThat(call).isNotDone();
        caller.close();
        assertThat(call.get(5, TimeUnit.SECONDS)).isEqualTo(Errno.EIO);
        assertThatThrownBy(() -> caller.call("read", "/x", n -> "never")).isInstanceOf(FuseErrno.class);
    }
}
