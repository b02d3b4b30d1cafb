package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MountTableTest {

    /** Kernel-format lines of the mounts this driver makes on a node with NFS (this machine has none). */
    private static final String NODE_WITH_NFS = """
            22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw
            1197 22 0:56 / /var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/3f1c/globalmount rw,relatime shared:612 - nfs4 10.0.0.2:/export/vol rw,vers=4.1,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,nconnect=8,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.5,local_lock=none,addr=10.0.0.2
            1203 22 0:56 / /var/lib/kubelet/pods/8d2e/volumes/kubernetes.io~csi/pvc-1/mount ro,relatime shared:612 - nfs4 10.0.0.2:/export/vol rw,vers=4.1,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,nconnect=8,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.5,local_lock=none,addr=10.0.0.2
            1210 22 0:56 /logs /var/lib/kubelet/pods/9a7f/volumes/kubernetes.io~csi/pvc-1/mount rw,relatime shared:612 - nfs4 10.0.0.2:/export/vol rw,vers=4.1,hard,proto=tcp,timeo=600,retrans=2,sec=sys,addr=10.0.0.2
            1220 22 0:57 / /var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/77aa/globalmount rw,relatime shared:640 - nfs [fd00::2]:/export/other rw,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,nolock,proto=tcp6,timeo=600,retrans=2,sec=sys,mountaddr=fd00::2,mountvers=3,mountport=20048,mountproto=tcp6,local_lock=all,addr=fd00::2
            1230 22 0:61 / /var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/c0de/globalmount rw,nosuid,nodev,relatime shared:700 - fuse.gateway-csi gateway-us-east-1.trainingpipes.com:/my-bucket rw,user_id=0,group_id=0,allow_other
            """;

    @Test
    void parsesEveryFieldOfAnNfs4Line() {
        MountEntry nfs = MountTable.parse(NODE_WITH_NFS).entries().get(1);

        assertThat(nfs.mountId()).isEqualTo(1197);
        assertThat(nfs.parentId()).isEqualTo(22);
        assertThat(nfs.device()).isEqualTo("0:56");
        assertThat(nfs.root()).isEqualTo("/");
        assertThat(nfs.mountPoint())
                .isEqualTo(Path.of("/var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/3f1c/globalmount"));
        assertThat(nfs.mountOptions()).containsExactly("rw", "relatime");
        assertThat(nfs.optionalFields()).containsExactly("shared:612");
        assertThat(nfs.fsType()).isEqualTo("nfs4");
        assertThat(nfs.source()).isEqualTo("10.0.0.2:/export/vol");
        assertThat(nfs.superOptions()).contains("vers=4.1", "nconnect=8", "timeo=600", "addr=10.0.0.2");
        assertThat(nfs.isNfs()).isTrue();
        assertThat(nfs.isFuse()).isFalse();
        assertThat(nfs.readOnly()).isFalse();
    }

    @Test
    void parsesNfs3WithAnIpv6SourceAndFuseWithASubtype() {
        MountTable table = MountTable.parse(NODE_WITH_NFS);

        MountEntry nfs3 = table.byId(1220).orElseThrow();
        assertThat(nfs3.fsType()).isEqualTo("nfs");
        assertThat(nfs3.source()).isEqualTo("[fd00::2]:/export/other");
        assertThat(nfs3.superOptions()).contains("vers=3", "mountaddr=fd00::2");

        MountEntry fuse = table.byId(1230).orElseThrow();
        assertThat(fuse.fsType()).isEqualTo("fuse.gateway-csi");
        assertThat(fuse.isFuse()).isTrue();
        assertThat(fuse.mountOptions()).containsExactly("rw", "nosuid", "nodev", "relatime");
    }

    @Test
    void findsThePublishBindMountsOfAStagingMountIncludingSubdirectoryBinds() {
        MountTable table = MountTable.parse(NODE_WITH_NFS);
        MountEntry staging = table.topmost(
                Path.of("/var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/3f1c/globalmount")).orElseThrow();

        assertThat(table.bindMountsOf(staging)).extracting(MountEntry::mountId).containsExactly(1203, 1210);
        assertThat(table.byId(1203).orElseThrow().readOnly()).isTrue();
        assertThat(table.bySource("10.0.0.2:/export/vol")).hasSize(3);
        assertThat(table.bySource("[fd00::2]:/export/other")).extracting(MountEntry::mountId).containsExactly(1220);
    }

    @Test
    void aBindMountOfASubdirectoryIsNotABindMountOfItsParentsSibling() {
        MountTable table = MountTable.parse("""
                1 1 8:1 / / rw - ext4 /dev/sda1 rw
                2 1 8:1 /data/vol /staging rw - ext4 /dev/sda1 rw
                3 1 8:1 /data/vol/sub /target1 rw - ext4 /dev/sda1 rw
                4 1 8:1 /data/volume2 /target2 rw - ext4 /dev/sda1 rw
                5 1 8:2 /data/vol /target3 rw - ext4 /dev/sda2 rw
                """);
        MountEntry staging = table.byId(2).orElseThrow();

        assertThat(table.bindMountsOf(staging)).extracting(MountEntry::mountId).containsExactly(3);
    }

    @Test
    void volumesOfOneExportSharingASuperblockAreToldApartByTheirSource() {
        // The kernel shares one NFS superblock per export (one device) and shows each mount's root as "/":
        // as seen in test/kernel's VM with two volumes, a bind target of each, and a subdirectory bind of A.
        MountTable table = MountTable.parse("""
                1 1 8:1 / / rw - ext4 /dev/sda1 rw
                2 1 0:52 / /staging/a rw - nfs4 10.213.16.2:/export/kfault-a rw,vers=4.1
                3 1 0:52 / /staging/b rw - nfs4 10.213.16.2:/export/kfault-b rw,vers=4.1
                4 1 0:52 / /target/a rw - nfs4 10.213.16.2:/export/kfault-a rw,vers=4.1
                5 1 0:52 / /target/b rw - nfs4 10.213.16.2:/export/kfault-b rw,vers=4.1
                6 1 0:52 /sub /target/a-sub rw - nfs4 10.213.16.2:/export/kfault-a/sub rw,vers=4.1
                7 1 0:52 / /target/ab rw - nfs4 10.213.16.2:/export/kfault-ab rw,vers=4.1
                """);

        assertThat(table.bindMountsOf(table.byId(2).orElseThrow())).extracting(MountEntry::mountId)
                .containsExactly(4, 6);
        assertThat(table.bindMountsOf(table.byId(3).orElseThrow())).extracting(MountEntry::mountId)
                .containsExactly(5);
    }

    @Test
    void decodesOctalEscapesInPathsFromRealLines() throws IOException {
        // Captured on this machine: bind mounts at "tgt dir", "tab<TAB>here", "back\slash", "nl/x<NEWLINE>y".
        MountTable table = MountTable.parse(resource("mountinfo-escapes-propagation.txt"));

        assertThat(table.entries()).extracting(e -> e.mountPoint().getFileName().toString())
                .contains("tgt dir", "tab\there", "back\\slash", "x\ny");
        MountEntry spaced = table.byId(73).orElseThrow();
        assertThat(spaced.root()).isEqualTo("/tmp/mi.ih25/src dir");
        assertThat(table.isMountPoint(Path.of("/tmp/mi.ih25/tgt dir"))).isTrue();
        assertThat(table.byId(82).orElseThrow().root()).isEqualTo("/tmp/mi.ih25/src dir/sub");
    }

    /**
     * Lookups by mount point decode the escaped field as they compare (nothing is parsed for lines that do not
     * match): every decoded mount point finds exactly the entries the full parse gives it, every directory on
     * its way exactly the mounts below it, and a path that differs only by a missing escape, a suffix or a
     * prefix finds none.
     */
    @Test
    void lookupsByMountPointAgreeWithTheFullParseOnEveryRealLine() throws IOException {
        for (String sample : List.of("mountinfo-escapes-propagation.txt", "mountinfo-vm.txt")) {
            MountTable table = MountTable.parse(resource(sample));
            for (MountEntry entry : table.entries()) {
                Path point = entry.mountPoint();
                assertThat(table.at(point)).as(sample + ": " + point)
                        .containsExactlyInAnyOrderElementsOf(table.entries().stream()
                                .filter(e -> e.mountPoint().equals(point)).toList());
                assertThat(table.isMountPoint(point)).isTrue();
                assertThat(table.isMountPoint(Path.of(point + "x"))).isFalse();
                if (point.getParent() != null && !table.isMountPoint(point.getParent())) {
                    assertThat(table.at(point.getParent())).isEmpty();
                }
                for (Path dir = point; dir != null; dir = dir.getParent()) {
                    Path base = dir;
                    assertThat(table.under(base)).as(sample + ": under " + base)
                            .containsExactlyInAnyOrderElementsOf(table.entries().stream()
                                    .filter(e -> e.mountPoint().startsWith(base) && !e.mountPoint().equals(base))
                                    .toList());
                }
            }
        }
        MountTable escaped = MountTable.parse("5 1 0:3 / /mnt/a\\040b rw - tmpfs tmpfs rw\n");
        assertThat(escaped.isMountPoint(Path.of("/mnt/a b"))).isTrue();
        assertThat(escaped.isMountPoint(Path.of("/mnt/a\\040b"))).as("the escape is not the path").isFalse();
        assertThat(escaped.isMountPoint(Path.of("/mnt/a"))).isFalse();
        assertThat(escaped.under(Path.of("/mnt/a"))).as("a sibling's prefix is not a parent").isEmpty();
        assertThat(escaped.under(Path.of("/mnt"))).hasSize(1);
    }

    @Test
    void keepsOptionalPropagationFieldsFromRealLines() throws IOException {
        MountTable table = MountTable.parse(resource("mountinfo-escapes-propagation.txt"));

        assertThat(table.byId(84).orElseThrow().optionalFields()).containsExactly("shared:5");
        assertThat(table.byId(85).orElseThrow().optionalFields()).containsExactly("shared:6", "master:5");
        assertThat(table.byId(85).orElseThrow().fsType()).isEqualTo("ext4");
        assertThat(table.byId(73).orElseThrow().optionalFields()).isEmpty();
        MountEntry bindfs = table.byId(86).orElseThrow();
        assertThat(bindfs.fsType()).isEqualTo("fuse");
        assertThat(bindfs.source()).isEqualTo("/tmp/mi.ih25/bsrc");
    }

    @Test
    void parsesThisMachinesCapturedMountinfo() throws IOException {
        MountTable table = MountTable.parse(resource("mountinfo-vm.txt"));

        assertThat(table.topmost(Path.of("/")).orElseThrow().fsType()).isEqualTo("ext4");
        assertThat(table.topmost(Path.of("/proc")).orElseThrow().fsType()).isEqualTo("proc");
        MountEntry netns = table.entries().stream().filter(e -> e.fsType().equals("nsfs")).findFirst().orElseThrow();
        assertThat(netns.root()).startsWith("net:[");
        assertThat(netns.optionalFields()).singleElement().asString().startsWith("shared:");
    }

    @Test
    void stackedMountsAreOrderedTopmostLastByTheirParentChain() {
        MountTable table = MountTable.parse("""
                1 1 8:1 / / rw - ext4 /dev/sda1 rw
                40 30 0:50 / /mnt/x rw - tmpfs tmpfs rw
                30 1 0:49 / /mnt/x rw - tmpfs tmpfs rw
                """);

        assertThat(table.at(Path.of("/mnt/x"))).extracting(MountEntry::mountId).containsExactly(30, 40);
        assertThat(table.topmost(Path.of("/mnt/x/")).orElseThrow().mountId()).isEqualTo(40);
        assertThat(table.at(Path.of("/mnt/y"))).isEmpty();
        assertThat(table.under(Path.of("/mnt"))).hasSize(2);
    }

    @Test
    void anEmptySourceIsKeptAsAnEmptyString() {
        MountEntry entry = MountTable.parse("7 1 0:3 / /mnt/e rw - tmpfs  rw,size=4k\n").entries().getFirst();

        assertThat(entry.source()).isEmpty();
        assertThat(entry.superOptions()).containsExactly("rw", "size=4k");
    }

    @Test
    void aDeletedMountPointKeepsTheKernelsSuffixAndMatchesNoPath() {
        MountTable table = MountTable.parse("9 1 0:3 / /mnt/gone\\040(deleted) rw - tmpfs tmpfs rw\n");

        assertThat(table.entries().getFirst().mountPoint()).isEqualTo(Path.of("/mnt/gone (deleted)"));
        assertThat(table.isMountPoint(Path.of("/mnt/gone"))).isFalse();
    }

    @Test
    void rejectsLinesWithoutTheSeparatorOrWithBadNumbers() {
        assertThatThrownBy(() -> MountTable.parse("1 1 8:1 / / rw ext4 /dev/sda1 rw\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 1");
        assertThatThrownBy(() -> MountTable.parse("\nx 1 8:1 / / rw - ext4 /dev/sda1 rw\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 2");
        assertThatThrownBy(() -> MountTable.parse("1 1 81 / / rw - ext4 /dev/sda1 rw\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MAJOR:MINOR");
    }

    @Test
    void leavesABackslashThatIsNotAnOctalEscapeAlone() {
        assertThat(MountTable.unescape("a\\04b\\134c\\")).isEqualTo("a\\04b\\c\\");
    }

    @Test
    void readsTheLiveMountTableWithinItsDeadline() throws IOException {
        MountTable table = MountTable.read(MountTable.SELF_MOUNTINFO, Duration.ofSeconds(5));

        assertThat(table.isMountPoint(Path.of("/"))).isTrue();
        assertThat(table.isMountPoint(Path.of("/proc"))).isTrue();
        assertThat(table.entries()).allSatisfy(e -> assertThat(e.mountPoint().isAbsolute()).isTrue());
    }

    @Test
    void seesRealBindMountsOfAStagingDirectoryAndOfItsSubdirectory(@TempDir Path tmp) throws IOException {
        Path export = Files.createDirectories(tmp.resolve("export vol/sub"));
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        Path target1 = Files.createDirectory(tmp.resolve("target1"));
        Path target2 = Files.createDirectory(tmp.resolve("target2"));
        Mounter mounter = new Mounter();
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(export.getParent(), mounts.track(staging));
            mounter.bind(staging, mounts.track(target1));
            mounter.bind(staging.resolve("sub"), mounts.track(target2));

            MountTable table = MountTable.read();
            MountEntry stagingMount = table.topmost(staging).orElseThrow();
            assertThat(stagingMount.root()).isEqualTo(export.getParent().toString());
            assertThat(table.bindMountsOf(stagingMount)).extracting(MountEntry::mountPoint)
                    .containsExactlyInAnyOrder(target1, target2);
            assertThat(table.topmost(target2).orElseThrow().root()).isEqualTo(export.toString());
            assertThat(table.isMountPoint(tmp)).isFalse();
            assertThat(table.under(tmp)).hasSize(3);
        }
        assertThat(MountTable.read().under(tmp)).isEmpty();
    }

    @Test
    void seesRealSharedAndSlavePropagationFields(@TempDir Path tmp) throws IOException {
        Path a = Files.createDirectory(tmp.resolve("a"));
        Path b = Files.createDirectory(tmp.resolve("b"));
        try (TestMounts mounts = new TestMounts()) {
            assertThat(Libc.mount(a.toString(), mounts.track(a).toString(), null, Libc.MS_BIND, null)).isZero();
            assertThat(Libc.mount(null, a.toString(), null, Libc.MS_SHARED, null)).isZero();
            assertThat(Libc.mount(a.toString(), mounts.track(b).toString(), null, Libc.MS_BIND, null)).isZero();
            assertThat(Libc.mount(null, b.toString(), null, Libc.MS_SLAVE, null)).isZero();
            assertThat(Libc.mount(null, b.toString(), null, Libc.MS_SHARED, null)).isZero();

            MountTable table = MountTable.read();
            List<String> aFields = table.topmost(a).orElseThrow().optionalFields();
            List<String> bFields = table.topmost(b).orElseThrow().optionalFields();
            assertThat(aFields).singleElement().asString().startsWith("shared:");
            String aGroup = aFields.getFirst().substring("shared:".length());
            assertThat(bFields).hasSize(2).contains("master:" + aGroup);
            assertThat(bFields.getFirst()).startsWith("shared:").isNotEqualTo("shared:" + aGroup);
        }
    }

    @Test
    void seesARealFuseMountWithItsSubtype(@TempDir Path tmp) throws IOException {
        Path mnt = Files.createDirectory(tmp.resolve("fuse mnt"));
        try (StuckFuse _ = StuckFuse.mount(mnt)) {
            MountEntry entry = MountTable.read().topmost(mnt).orElseThrow();

            assertThat(entry.fsType()).isEqualTo("fuse.gateway-csi");
            assertThat(entry.source()).isEqualTo("gateway-csi-test");
            assertThat(entry.isFuse()).isTrue();
            assertThat(entry.superOptions()).contains("user_id=0", "group_id=0");
        }
        assertThat(MountTable.read().isMountPoint(mnt)).isFalse();
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = MountTableTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
