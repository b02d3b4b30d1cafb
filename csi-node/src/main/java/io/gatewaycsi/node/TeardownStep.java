package io.gatewaycsi.node;

/**
 * How a {@link Teardown} got a path unmounted, declared in escalation order so that the most escalated step of
 * several layers is the greatest. Meant for a metric label and a log field ({@code teardown=forced}).
 */
public enum TeardownStep {
    /** Nothing was mounted at the path. */
    NOT_MOUNTED,
    /** A plain umount2(2) succeeded. */
    NORMAL,
    /** umount2(MNT_FORCE) was needed: the mount was broken, stuck or stayed busy. */
    FORCED,
    /** Only umount2(MNT_DETACH) worked: the mount was detached and is released when no longer busy. */
    LAZY;

    /** The more escalated of this step and {@code other}. */
    public TeardownStep max(TeardownStep other) {
        return compareTo(other) >= 0 ? this : other;
    }

    /** The lower-case name, for logs and metric labels. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
