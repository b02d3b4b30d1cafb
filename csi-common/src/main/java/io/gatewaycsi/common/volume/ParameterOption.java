package io.gatewaycsi.common.volume;

import java.util.ArrayList;
import java.util.List;

/** A mount option implied by a parameter ({@code mountMode=soft} → {@code soft}). */
record ParameterOption(Parameter parameter, MountOption option) {

    /** Attribute cache time for readOnlyCache, in seconds (nfs(5) {@code actimeo}). */
    static final String READ_ONLY_CACHE_ACTIMEO = "600";

    /** The options {@code parameters} imply, in table order. */
    static List<ParameterOption> implied(VolumeParameters parameters) {
        List<ParameterOption> implied = new ArrayList<>();
        implied.add(new ParameterOption(Parameter.NFS_VERSION,
                MountOption.of("vers", parameters.value(Parameter.NFS_VERSION))));
        implied.add(new ParameterOption(Parameter.MOUNT_MODE,
                MountOption.flag(parameters.value(Parameter.MOUNT_MODE))));
        for (Parameter setting : new Parameter[] {Parameter.TIMEO, Parameter.RETRANS, Parameter.NCONNECT,
            Parameter.RSIZE, Parameter.WSIZE}) {
            parameters.get(setting).ifPresent(value ->
                    implied.add(new ParameterOption(setting, MountOption.of(setting.key(), value))));
        }
        if (parameters.isTrue(Parameter.READ_ONLY_CACHE)) {
            implied.add(new ParameterOption(Parameter.READ_ONLY_CACHE, MountOption.flag("nocto")));
            implied.add(new ParameterOption(Parameter.READ_ONLY_CACHE,
                    MountOption.of("actimeo", READ_ONLY_CACHE_ACTIMEO)));
        }
        if (parameters.isTrue(Parameter.ENCRYPT_IN_TRANSIT)) {
            implied.add(new ParameterOption(Parameter.ENCRYPT_IN_TRANSIT, MountOption.of("xprtsec", "tls")));
        }
        return implied;
    }
}
