package io.gatewaycsi.common.volume;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The NFS mount options of nfs(5) (and the generic ones of mount(8)) that gateway-csi accepts in
 * StorageClass {@code mountOptions}, each with the group it belongs to and the values it allows. Options in
 * one group are alternatives ({@code hard} and {@code soft}; {@code vers} and {@code nfsvers}): two different
 * ones in one mount are a conflict. Anything not listed is refused unless the operator allows it.
 */
final class NfsOptionTable {

    /** One known option: its conflict group and its value rule ({@code null} for a flag). */
    record Spec(String group, Function<String, String> value) {
        boolean isFlag() {
            return value == null;
        }
    }

    private static final Map<String, Spec> OPTIONS = new HashMap<>();

    static {
        setting("vers", "vers", Values.choice("3", "4", "4.0", "4.1", "4.2"));
        setting("nfsvers", "vers", Values.choice("3", "4", "4.0", "4.1", "4.2"));
        flags("recovery", "hard", "soft", "softerr");
        setting("timeo", "timeo", Values.integer(1, 6000));
        setting("retrans", "retrans", Values.integer(0, 100));
        setting("nconnect", "nconnect", Values.integer(1, 16));
        setting("max_connect", "max_connect", Values.integer(1, 16));
        setting("rsize", "rsize", Values.ioSize());
        setting("wsize", "wsize", Values.ioSize());
        for (String attributeTimeout : new String[] {"actimeo", "acregmin", "acregmax", "acdirmin", "acdirmax"}) {
            setting(attributeTimeout, attributeTimeout, Values.integer(0, 86400));
        }
        flags("ac", "ac", "noac");
        flags("cto", "cto", "nocto");
        setting("lookupcache", "lookupcache", Values.choice("all", "none", "pos", "positive"));
        setting("xprtsec", "xprtsec", Values.choice("none", "tls", "mtls"));
        flags("resvport", "resvport", "noresvport");
        setting("proto", "proto", Values.choice("tcp", "tcp6", "rdma", "rdma6"));
        setting("port", "port", Values.integer(0, 65535));
        setting("sec", "sec", Values.choice("sys", "krb5", "krb5i", "krb5p", "none"));
        flags("lock", "lock", "nolock");
        setting("local_lock", "local_lock", Values.choice("none", "all", "flock", "posix"));
        flags("sharecache", "sharecache", "nosharecache");
        flags("fsc", "fsc", "nofsc");
        flags("rw", "ro", "rw");
        flags("atime", "atime", "noatime", "relatime", "norelatime", "strictatime");
        flags("diratime", "diratime", "nodiratime");
        flags("suid", "suid", "nosuid");
        flags("dev", "dev", "nodev");
        flags("exec", "exec", "noexec");
        flags("intr", "intr", "nointr");
        setting("retry", "retry", Values.integer(0, 10000));
    }

    private NfsOptionTable() {
    }

    private static void setting(String name, String group, Function<String, String> value) {
        OPTIONS.put(name, new Spec(group, value));
    }

    private static void flags(String group, String... names) {
        for (String name : names) {
            OPTIONS.put(name, new Spec(group, null));
        }
    }

    static Optional<Spec> find(String name) {
        return Optional.ofNullable(OPTIONS.get(name));
    }
}
