package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The classifier on real mount(8)/mount.nfs(8) output. "captured" lines were produced on the build machine
 * (no NFS in its kernel, nfs-common installed); the others are nfs-utils' and util-linux's messages as they
 * appear on nodes with NFS.
 */
class MountFailureTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            captured: no nfs4 in the kernel             | 32  | mount.nfs4: No such device                                                                               | NOT_AVAILABLE_ON_NODE
            captured: no nfs in the kernel (vers=3)     | 32  | mount.nfs: No such device                                                                                | NOT_AVAILABLE_ON_NODE
            captured: mount -i, kernel lacks the type   | 32  | mount: /tmp/ntest/x: unknown filesystem type 'nfs4'.       dmesg(1) may have more information after failed mount system call. | NOT_AVAILABLE_ON_NODE
            captured: not root, no fstab entry          | 32  | mount.nfs4: failed to apply fstab options                                                                | NOT_AVAILABLE_ON_NODE
            captured: setsid cannot run mount           | 127 | setsid: failed to execute /nonexistent/mount: No such file or directory                                  | NOT_AVAILABLE_ON_NODE
            captured: v3 locking without rpc.statd      | 32  | mount.nfs: rpc.statd is not running but is required for remote locking. mount.nfs: Either use '-o nolock' to keep locks local, or start statd. | NOT_AVAILABLE_ON_NODE
            no mount.nfs helper installed               | 32  | mount: /mnt: bad option; for several filesystems (e.g. nfs, cifs) you might need a /sbin/mount.<type> helper program. | NOT_AVAILABLE_ON_NODE
            unprivileged container                      | 32  | mount.nfs: Operation not permitted                                                                       | NOT_AVAILABLE_ON_NODE
            mount(8) as non-root                        | 1   | mount: only root can use "--types" option                                                                | NOT_AVAILABLE_ON_NODE
            mount(8) as non-root (newer util-linux)     | 1   | mount: /mnt: must be superuser to use mount.                                                             | NOT_AVAILABLE_ON_NODE
            captured: nothing on port 111               | 32  | mount.nfs: Connection refused                                                                            | GATEWAY_UNREACHABLE
            no route                                    | 32  | mount.nfs4: No route to host                                                                             | GATEWAY_UNREACHABLE
            gateway silent                              | 32  | mount.nfs4: Connection timed out                                                                         | GATEWAY_UNREACHABLE
            export acl                                  | 32  | mount.nfs4: access denied by server while mounting 10.0.0.2:/export/vol                                 | REFUSED_BY_GATEWAY
            dns                                         | 32  | mount.nfs: Failed to resolve server gateway.example: Name or service not known                           | GATEWAY_UNREACHABLE
            missing export (v4)                         | 32  | mount.nfs4: mounting 10.0.0.2:/export/nope failed, reason given by server: No such file or directory    | EXPORT_NOT_FOUND
            missing export (v3)                         | 32  | mount.nfs: mounting 10.0.0.2:/read_only failed, reason given by server: No such file or directory       | EXPORT_NOT_FOUND
            bad option                                  | 32  | mount.nfs4: an incorrect mount option was specified                                                      | BAD_OPTIONS
            kernel refused a value                      | 32  | mount.nfs: Invalid argument                                                                              | BAD_OPTIONS
            version not served                          | 32  | mount.nfs4: requested NFS version or transport protocol is not supported                                 | BAD_OPTIONS
            kernel VM: v3 without /etc/protocols        | 32  | mount.nfs: Protocol not supported                                                                        | PROTOCOL_NOT_SUPPORTED
            kernel VM: proto=rdma, no RDMA device       | 32  | mount.nfs4: Protocol error                                                                               | PROTOCOL_NOT_SUPPORTED
            captured-like: missing mount point          | 32  | mount.nfs4: mount point /tmp/ntest/nonexist does not exist                                               | OTHER
            busy                                        | 32  | mount.nfs: /mnt is busy or already mounted                                                               | OTHER
            nothing said                                | 32  | ``                                                                                                       | OTHER
            nothing said, exit 127                      | 127 | ``                                                                                                       | NOT_AVAILABLE_ON_NODE
            """)
    void classifiesRealMountOutput(String what, int exit, String output, MountFailure expected) {
        assertThat(MountFailure.classify(exit, output)).isEqualTo(expected);
    }

    @ParameterizedTest
    @EnumSource(MountFailure.class)
    void eachClassMapsToTheCsiStatusNodeStageReturns(MountFailure failure) {
        Status.Code expected = switch (failure) {
            case NOT_AVAILABLE_ON_NODE -> Status.Code.FAILED_PRECONDITION;
            case GATEWAY_UNREACHABLE -> Status.Code.UNAVAILABLE;
            case REFUSED_BY_GATEWAY -> Status.Code.PERMISSION_DENIED;
            case PROTOCOL_NOT_SUPPORTED -> Status.Code.FAILED_PRECONDITION;
            case EXPORT_NOT_FOUND -> Status.Code.NOT_FOUND;
            case BAD_OPTIONS -> Status.Code.INVALID_ARGUMENT;
            case OTHER -> Status.Code.INTERNAL;
        };
        assertThat(failure.code()).isEqualTo(expected);
        assertThat(failure.fix()).isNotBlank();
    }

    @ParameterizedTest
    @EnumSource(value = MountFailure.class, names = "NOT_AVAILABLE_ON_NODE")
    void theNotAvailableFixPointsAtTheMountHelper(MountFailure failure) {
        assertThat(failure.summary()).contains("cannot mount NFS in the kernel");
        assertThat(failure.fix()).contains("mountBackend=auto", "mountBackend=sidecar", "mount helper");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            kernel VM: sec=none refused by the gateway | true  | REFUSED_BY_GATEWAY
            unprivileged container                     | false | NOT_AVAILABLE_ON_NODE
            """)
    void operationNotPermittedIsTheGatewaysWhenThisNodeMayMount(String what, boolean nodeMayMount,
                                                                 MountFailure expected) {
        assertThat(MountFailure.classify(32, "mount.nfs4: Operation not permitted", nodeMayMount)).isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void theFixNamesXprtsecsKernelVersionAndStatdsNolock() {
        assertThat(MountFailure.BAD_OPTIONS.fixFor(java.util.List.of("mount", "-o", "vers=4.2,xprtsec=tls"),
                "mount.nfs4: an incorrect mount option was specified")).contains("Linux 6.5", "tlshd");
        assertThat(MountFailure.NOT_AVAILABLE_ON_NODE.fixFor(java.util.List.of("mount"),
                "mount.nfs: rpc.statd is not running but is required for remote locking.")).contains("nolock")
                .doesNotContain("kernel modules");
        assertThat(MountFailure.PROTOCOL_NOT_SUPPORTED.fix()).contains("netbase", "/etc/protocols");
    }

    @org.junit.jupiter.api.Test
    void protoRdmaWithoutAnRdmaTransportIsAPreconditionNamingRdma() {
        String output = "mount.nfs4: Protocol error";
        MountFailure failure = MountFailure.classify(32, output);
        assertThat(failure.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(failure.fixFor(java.util.List.of("setsid", "-w", "mount", "-t", "nfs4", "-o",
                "vers=4.2,proto=rdma,retry=0", "gw:/export", "/staging"), output))
                .contains("RDMA", "remove proto=rdma");
        assertThat(failure.fixFor(java.util.List.of("mount", "-o", "vers=4.2,proto=tcp"), output))
                .doesNotContain("RDMA");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {
        "mount.nfs: Failed to resolve server gateway.example: Name or service not known",
        "mount.nfs4: Failed to resolve server gateway.example: Temporary failure in name resolution"})
    void aFailedNameLookupIsUnavailableAndItsFixNamesDns(String output) {
        MountFailure failure = MountFailure.classify(32, output);
        assertThat(failure.code()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(failure.fixFor(java.util.List.of("mount"), output)).contains("DNS", "`server`", "IP address");
    }
}
