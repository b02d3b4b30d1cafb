package io.gatewaycsi.common.volume;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The NFS mount options of one staging mount (nfs(5)), resolved from a volume's parameters plus the
 * StorageClass {@code mountOptions} (CSI {@code mount_flags}).
 *
 * <p>Order and precedence: the options the parameters imply come first, in table order ({@code vers},
 * {@code hard|soft}, {@code timeo}, {@code retrans}, {@code nconnect}, {@code rsize}, {@code wsize},
 * {@code nocto,actimeo=600} for readOnlyCache, {@code xprtsec=tls}); then the {@code mountOptions}
 * parameter's and the mount flags' options in the order given. An option identical to one already present is
 * dropped. An option of the same group as one a parameter's <em>default</em> implies replaces it in place
 * ({@code soft} in mountOptions beats the default {@code hard}). Two different options of one group are a
 * conflict, whether one came from an explicit parameter or both from mount options. Unknown options are
 * refused unless the operator allowed their names.
 */
public final class MountOptions {

    private record Entry(MountOption option, Parameter parameter, boolean defaulted) {
    }

    private final List<MountOption> options;
    private final Set<Parameter> overriddenDefaults;
    private final String extraOptions;

    private MountOptions(List<MountOption> options, Set<Parameter> overriddenDefaults, String extraOptions) {
        this.options = List.copyOf(options);
        this.overriddenDefaults = overriddenDefaults;
        this.extraOptions = extraOptions;
    }

    /**
     * Resolves the options of a volume.
     *
     * @param parameters   the volume's parameters or context
     * @param mountFlags   the capability's {@code mount_flags}; an entry may hold several comma-separated options
     * @param allowedExtra option names the operator allows beyond nfs(5)'s known ones (values still checked
     *                     for shape)
     * @throws IllegalArgumentException for an unknown option, a bad value or a conflict, naming both sides
     */
    public static MountOptions resolve(VolumeParameters parameters, Collection<String> mountFlags,
                                       Set<String> allowedExtra) {
        Map<String, Entry> byGroup = new LinkedHashMap<>();
        for (ParameterOption implied : ParameterOption.implied(parameters)) {
            byGroup.put(group(implied.option()), new Entry(implied.option(), implied.parameter(),
                    !parameters.isExplicit(implied.parameter())));
        }
        List<String> extraTexts = new ArrayList<>();
        parameters.explicit(Parameter.MOUNT_OPTIONS).ifPresent(extraTexts::add);
        extraTexts.addAll(mountFlags);
        EnumSet<Parameter> overridden = EnumSet.noneOf(Parameter.class);
        List<MountOption> extras = new ArrayList<>();
        for (String text : extraTexts) {
            for (MountOption raw : MountOption.parseList(text)) {
                MountOption option = validate(raw, allowedExtra);
                String group = group(option);
                Entry existing = byGroup.get(group);
                if (existing == null) {
                    byGroup.put(group, new Entry(option, null, false));
                } else if (sameSetting(existing.option(), option)) {
                    continue;
                } else if (existing.defaulted()) {
                    byGroup.put(group, new Entry(option, null, false));
                    overridden.add(existing.parameter());
                } else if (existing.parameter() != null) {
                    throw new IllegalArgumentException("mount option `" + option + "` conflicts with parameter `"
                            + existing.parameter().key() + "=" + parameters.value(existing.parameter())
                            + "`; remove one of them");
                } else {
                    throw new IllegalArgumentException("mount options `" + existing.option() + "` and `" + option
                            + "` conflict; keep one of them");
                }
                if (!extras.contains(option)) {
                    extras.add(option);
                }
            }
        }
        List<MountOption> resolved = byGroup.values().stream().map(Entry::option).toList();
        return new MountOptions(resolved, overridden,
                String.join(",", extras.stream().map(MountOption::toString).toList()));
    }

    /**
     * The capability's {@code mount_flags} on their own, validated as {@link #resolve} validates them (known
     * nfs(5)/mount(8) names or names the operator allowed, values of the right shape, no two different
     * options of one group), as {@code name} / {@code name=value} strings in the order given, duplicates
     * dropped. NodePublishVolume checks its flags with this.
     *
     * @throws IllegalArgumentException for an unknown option, a bad value or a conflict, naming them
     */
    public static List<String> validatedFlags(Collection<String> mountFlags, Set<String> allowedExtra) {
        Map<String, MountOption> byGroup = new LinkedHashMap<>();
        for (String text : mountFlags) {
            for (MountOption raw : MountOption.parseList(text)) {
                MountOption option = validate(raw, allowedExtra);
                MountOption existing = byGroup.putIfAbsent(group(option), option);
                if (existing != null && !sameSetting(existing, option)) {
                    throw new IllegalArgumentException("mount options `" + existing + "` and `" + option
                            + "` conflict; keep one of them");
                }
            }
        }
        return byGroup.values().stream().map(MountOption::toString).toList();
    }

    private static MountOption validate(MountOption option, Set<String> allowedExtra) {
        var spec = NfsOptionTable.find(option.name());
        if (spec.isEmpty()) {
            if (allowedExtra.contains(option.name())) {
                return option;
            }
            throw new IllegalArgumentException("mount option `" + option.name() + "` is not an nfs(5) option"
                    + " gateway-csi knows; the operator can allow it with --allowed-mount-options");
        }
        if (spec.get().isFlag()) {
            if (option.value() != null) {
                throw new IllegalArgumentException("mount option `" + option.name() + "` takes no value, got `"
                        + option + "`");
            }
            return option;
        }
        if (option.value() == null) {
            throw new IllegalArgumentException("mount option `" + option.name() + "` needs a value, as in `"
                    + option.name() + "=…`");
        }
        try {
            return MountOption.of(option.name(), spec.get().value().apply(option.value()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mount option `" + option + "` has an invalid value");
        }
    }

    private static String group(MountOption option) {
        return NfsOptionTable.find(option.name()).map(NfsOptionTable.Spec::group).orElse(option.name());
    }

    private static boolean sameSetting(MountOption a, MountOption b) {
        return a.value() == null ? a.name().equals(b.name()) : a.value().equals(b.value());
    }

    /** The same options with {@code ro} in force (replacing {@code rw}). */
    public MountOptions readOnly() {
        List<MountOption> copy = new ArrayList<>(options.stream().filter(o -> !o.name().equals("rw")).toList());
        if (!copy.contains(MountOption.flag("ro"))) {
            copy.add(MountOption.flag("ro"));
        }
        return new MountOptions(copy, overriddenDefaults, extraOptions);
    }

    /** The options, in mount order. */
    public List<MountOption> options() {
        return options;
    }

    /** The options as {@code name} / {@code name=value} strings. */
    public List<String> asStrings() {
        return options.stream().map(MountOption::toString).toList();
    }

    /** The value of setting {@code name}, if present. */
    public java.util.Optional<String> value(String name) {
        return options.stream().filter(o -> o.name().equals(name) && o.value() != null)
                .map(MountOption::value).findFirst();
    }

    /** Whether flag {@code name} is present. */
    public boolean has(String name) {
        return options.contains(MountOption.flag(name));
    }

    /** The NFS version asked for ({@code vers} or {@code nfsvers}), e.g. {@code 4.1}. */
    public String nfsVersion() {
        return value("vers").or(() -> value("nfsvers")).orElseThrow();
    }

    /** Parameters whose default a mount option replaced. */
    Set<Parameter> overriddenDefaults() {
        return overriddenDefaults;
    }

    /** The {@code mountOptions} parameter and mount flags, validated and de-duplicated, comma-joined. */
    String extraOptions() {
        return extraOptions;
    }

    /** The comma-joined option string for mount(8)'s {@code -o}. */
    @Override
    public String toString() {
        return String.join(",", asStrings());
    }
}
