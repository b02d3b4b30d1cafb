package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The value types: validation, formatting, parsing. */
class NfsValuesTest {
    @Test
    void versionLabelsAndParsing() {
        assertThat(NfsVersion.V3.label()).isEqualTo("3");
        assertThat(NfsVersion.V4.label()).isEqualTo("4.0");
        assertThat(NfsVersion.V4).hasToString("NFSv4.0");
        assertThat(NfsVersion.parse("4")).isEqualTo(NfsVersion.V4);
        assertThat(NfsVersion.parse("4.0")).isEqualTo(NfsVersion.V4);
        assertThat(NfsVersion.parse(" v3 ")).isEqualTo(NfsVersion.V3);
        assertThat(NfsVersion.parse("NFSv4")).isEqualTo(NfsVersion.V4);
        assertThatThrownBy(() -> NfsVersion.parse("4.1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3, 4 and 4.0");
        assertThatThrownBy(() -> NfsVersion.parse("2")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void targetValidationAndToString() {
        NfsTarget t = NfsTarget.v4("10.0.0.2", "/export");
        assertThat(t).hasToString("10.0.0.2:/export (NFSv4.0)");
        assertThat(new NfsTarget("gw.example.com", 2050, "/a/b/", NfsVersion.V3))
                .hasToString("gw.example.com:/a/b (NFSv3, port 2050)");
        assertThat(new NfsTarget("[fd00::2]", 0, "/x", NfsVersion.V4).server()).isEqualTo("fd00::2");
        assertThat(new NfsTarget("fd00::2", 0, "/x", NfsVersion.V4).spec()).isEqualTo("[fd00::2]:/x");
        assertThat(NfsTarget.v4("h", "/").export()).isEqualTo("/");
        for (String bad : new String[] {"", " ", "a b", "host/x", "-host", "host?x"}) {
            assertThatThrownBy(() -> NfsTarget.v4(bad, "/x")).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> NfsTarget.v4("h", "relative")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NfsTarget.v4("h", "/a/../b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NfsTarget("h", 70000, "/x", NfsVersion.V4))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NfsTarget("h", 0, "/x", null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void sessionOptions() {
        NfsSessionOptions d = NfsSessionOptions.defaults();
        assertThat(d.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(d.maxContexts()).isEqualTo(8);
        assertThat(d.uid()).isEqualTo(NfsSessionOptions.PROCESS_ID);
        NfsSessionOptions o = d.withTimeout(Duration.ofMillis(1500)).withMaxContexts(16).withCredentials(0, 0)
                .withReadaheadBytes(1 << 20);
        assertThat(o).isEqualTo(new NfsSessionOptions(Duration.ofMillis(1500), 16, 0, 0, 1 << 20));
        assertThatThrownBy(() -> d.withTimeout(Duration.ofMillis(10))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> d.withMaxContexts(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> d.withMaxContexts(65)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> d.withCredentials(-2, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void exceptionMessageAndClassification() {
        NfsException e = new NfsException("mkdir", "/vol1", "10.0.0.2:/export", Errno.EEXIST, null, false);
        assertThat(e.getMessage()).isEqualTo("mkdir /vol1 on 10.0.0.2:/export: EEXIST (File exists)");
        assertThat(e.isAlreadyExists()).isTrue();
        assertThat(e.isUnreachable()).isFalse();
        NfsException t = new NfsException("stat", "/a", "h:/x", Errno.ETIMEDOUT, "command timed out", false);
        assertThat(t.getMessage()).isEqualTo("stat /a on h:/x: ETIMEDOUT (Connection timed out) [libnfs: command timed out]");
        assertThat(t.isTimeout()).isTrue();
        assertThat(t.isUnreachable()).isTrue();
        assertThat(new NfsException("stat", "/", "h:/x", Errno.EIO, "x", true).isConnectionLost()).isTrue();
        assertThat(Errno.name(999)).isEqualTo("errno 999");
        assertThat(Errno.describe(Errno.ENOTEMPTY)).isEqualTo("Directory not empty");
    }

    @Test
    void libnfsErrorTextsAreMappedByStatusName() {
        assertThat(NfsStatus.inText("NFS4: READ (path (null)) failed with NFS4ERR_EXPIRED(-5)"))
                .satisfies(e -> {
                    assertThat(e.errno()).isEqualTo(Errno.ESTALE);
                    assertThat(e.effect()).isEqualTo(NfsStatus.Effect.STATE_LOST);
                });
        assertThat(NfsStatus.inText("mkdir call failed with \"NFS4: (path /) failed with NFS4ERR_DQUOT(-34)\"").errno())
                .isEqualTo(Errno.EDQUOT);
        assertThat(NfsStatus.inText("NFS3ERR_JUKEBOX").effect()).isEqualTo(NfsStatus.Effect.RETRY);
        assertThat(NfsStatus.inText("NFS4ERR_GRACE").errno()).isEqualTo(Errno.EAGAIN);
        assertThat(NfsStatus.inText("no status here")).isNull();
        assertThat(NfsStatus.inText(null)).isNull();
        assertThat(NfsStatus.ofV4(10039).name()).isEqualTo("NFS4ERR_BADOWNER");
        assertThat(NfsStatus.ofV4(66).errno()).isEqualTo(Errno.ENOTEMPTY);
        assertThat(NfsStatus.ofV4(12345).errno()).isEqualTo(Errno.EIO);
    }

    @Test
    void nfs4SetattrEncoding() {
        Nfs4Attrs a = new Nfs4Attrs.Builder().mode(0755).owner(1000).group(100)
                .atime(Instant.ofEpochSecond(1, 2)).mtime(Instant.ofEpochSecond(3, 4)).build();
        // mode = 33 (word 1 bit 1), owner 36 (bit 4), group 37 (bit 5), time_access_set 48 (bit 16), 54 (bit 22)
        assertThat(a.bitmap()).containsExactly(0, (1 << 1) | (1 << 4) | (1 << 5) | (1 << 16) | (1 << 22));
        assertThat(HexFormat.of().formatHex(a.values())).isEqualTo(
                "000001ed"                                   // mode
                        + "00000004" + "31303030"            // "1000"
                        + "00000003" + "31303000"            // "100" + padding
                        + "00000001" + "0000000000000001" + "00000002"   // SET_TO_CLIENT_TIME4, 1 s, 2 ns
                        + "00000001" + "0000000000000003" + "00000004");
        Nfs4Attrs now = new Nfs4Attrs.Builder().timesNow().build();
        assertThat(now.values()).isEqualTo(ByteBuffer.allocate(8).putInt(0).putInt(0).array());
        assertThat(new Nfs4Attrs.Builder().build().bitmap()).containsExactly(0, 0);
    }

    @Test
    void attributes() {
        Instant t = Instant.EPOCH;
        NfsAttributes a = new NfsAttributes(NfsAttributes.Type.DIRECTORY, 0755, 0, 0, 4096, 2, 7, 4096, t, t, t);
        assertThat(a.statMode()).isEqualTo(040755);
        assertThat(NfsAttributes.Type.ofMode(0120777)).isEqualTo(NfsAttributes.Type.SYMLINK);
        assertThat(NfsAttributes.Type.ofMode(0010644)).isEqualTo(NfsAttributes.Type.OTHER);
        assertThatThrownBy(() -> new NfsAttributes(NfsAttributes.Type.FILE, 0100644, 0, 0, 0, 1, 1, 0, t, t, t))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(OpenFlags.isWritable(OpenFlags.O_RDWR)).isTrue();
        assertThat(OpenFlags.isReadable(OpenFlags.O_WRONLY)).isFalse();
    }
    /**
     * A failure libnfs reports for a path it reached through a symbolic link names another path (the link's
     * target, or garbage when libnfs read the link's text past its end): that, and only that, is retried on the
     * path resolved by nfs-client.
     */
    @Test
    void aFailureNamingAnotherPathMeansLibnfsTookALinkOnTheWay() {
        assertThat(LibnfsSession.wentAstray(failure("NFS4: (path /d/real\uFFFD\uFFFD) failed with NFS4ERR_NOENT(-2)"),
                "/d/via/sub")).isTrue();
        assertThat(LibnfsSession.wentAstray(failure("NFS4: (path /d/real) failed with NFS4ERR_NOENT(-2)"),
                "/d/via/x")).isTrue();
        assertThat(LibnfsSession.wentAstray(failure("NFS4: (path /d) failed with NFS4ERR_NOENT(-2)"), "/d/x")).isFalse();
        assertThat(LibnfsSession.wentAstray(failure("NFS4: (path /d/x) failed with NFS4ERR_NOENT(-2)"), "/d/x")).isFalse();
        assertThat(LibnfsSession.wentAstray(failure("NFS4: (path /) failed with NFS4ERR_NOENT(-2)"), "/x")).isFalse();
        assertThat(LibnfsSession.wentAstray(failure("NFS4: (path /d) failed with NFS4ERR_NOENT(-2)"), "/dx/y")).isTrue();
        assertThat(LibnfsSession.wentAstray(failure(null), "/d/x")).isFalse();
    }

    private static NfsException failure(String libnfsError) {
        return new NfsException("stat", "/d/x", "gw:/export", Errno.ENOENT, libnfsError, false);
    }
}
