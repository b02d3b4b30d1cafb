package io.gatewaycsi.node;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One line of /proc/self/mountinfo (proc(5), "/proc/pid/mountinfo"), with octal escapes ({@code \040} space,
 * {@code \011} tab, {@code \012} newline, {@code \134} backslash) decoded in root, mount point, file-system
 * type and source. Options are kept as the kernel wrote them, split at commas.
 *
 * <pre>
 * 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 * </pre>
 *
 * @param mountId        (1) unique ID of the mount (may be reused after an unmount)
 * @param parentId       (2) ID of the parent mount (of itself for the root of the namespace's tree)
 * @param major          (3) major device number of the file system ({@code st_dev})
 * @param minor          (3) minor device number
 * @param root           (4) the directory of the file system that is the root of this mount, e.g. {@code /}
 *                       or, for a bind mount of a subdirectory, that subdirectory's path in the file system
 * @param mountPoint     (5) where it is mounted, relative to this process's root
 * @param mountOptions   (6) per-mount options ({@code rw}/{@code ro}, {@code nosuid}, {@code relatime}…)
 * @param optionalFields (7) zero or more {@code tag[:value]} fields: {@code shared:N}, {@code master:N},
 *                       {@code propagate_from:N}, {@code unbindable}
 * @param fsType         (9) file-system type, {@code type[.subtype]}: {@code nfs4}, {@code fuse.gateway-csi}
 * @param source         (10) file-system specific source, e.g. {@code 10.0.0.2:/export/vol}; may be empty
 * @param superOptions   (11) per-superblock options (for NFS: {@code vers=4.1,…,addr=10.0.0.2})
 */
public record MountEntry(int mountId, int parentId, int major, int minor, String root, Path mountPoint,
                         List<String> mountOptions, List<String> optionalFields, String fsType, String source,
                         List<String> superOptions) {

    /** Copies the option lists; the string fields must not be {@code null}. */
    public MountEntry {
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(mountPoint, "mountPoint");
        Objects.requireNonNull(fsType, "fsType");
        Objects.requireNonNull(source, "source");
        mountOptions = List.copyOf(mountOptions);
        optionalFields = List.copyOf(optionalFields);
        superOptions = List.copyOf(superOptions);
    }

    /** The device as {@code major:minor}, as written in field (3). */
    public String device() {
        return major + ":" + minor;
    }

    /** Whether the mount itself is read-only ({@code ro} among the per-mount options). */
    public boolean readOnly() {
        return mountOptions.contains("ro");
    }

    /** Whether this is a kernel NFS mount ({@code nfs} or {@code nfs4}). */
    public boolean isNfs() {
        return fsType.equals("nfs") || fsType.equals("nfs4");
    }

    /** Whether this is a FUSE mount ({@code fuse}, {@code fuseblk} or {@code fuse.<subtype>}). */
    public boolean isFuse() {
        return fsType.equals("fuse") || fsType.equals("fuseblk") || fsType.startsWith("fuse.");
    }

    /** Whether this mount shows the same file-system tree as {@code other}: same device and same root. */
    public boolean sameTreeAs(MountEntry other) {
        return major == other.major && minor == other.minor && root.equals(other.root);
    }

    /**
     * Whether this mount shows {@code other}'s tree or a part of it: same device, and a root equal to or
     * under {@code other}'s root. A bind mount of a mount, or of a subdirectory of it, is such a mount. For kernel
     * NFS mounts the source must also be {@code other}'s or below it: volumes of one export share one superblock
     * (one device), and each mount of it has a disconnected root shown as {@code /}, so only the source
     * ({@code server:/export/vol}, which a bind mount of it keeps) tells two volumes' mounts apart.
     */
    public boolean showsPartOf(MountEntry other) {
        if (major != other.major || minor != other.minor) {
            return false;
        }
        if (isNfs() && other.isNfs() && !under(source, other.source)) {
            return false;
        }
        return under(root, other.root);
    }

    /** Whether {@code path} is {@code base} or below it, as strings ({@code /a/b} is below {@code /a}, {@code /ab} is not). */
    private static boolean under(String path, String base) {
        return path.equals(base) || path.startsWith(base.endsWith("/") ? base : base + "/");
    }
}
