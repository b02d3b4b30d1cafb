package io.gatewaycsi.mounthelper;

import java.util.ArrayList;
import java.util.List;

/**
 * How long a mount helper mount trusts what it learnt of the gateway's names and attributes, from nfs(5)'s
 * options {@code acregmin}, {@code acregmax}, {@code acdirmin}, {@code acdirmax}, {@code actimeo},
 * {@code noac} and {@code lookupcache} (pure logic, no I/O), and the libfuse timeouts that give it.
 *
 * <p>The kernel NFS client keeps a file's attributes between {@code acregmin} and {@code acregmax} seconds
 * (3 and 60 by default; directories {@code acdirmin}/{@code acdirmax}, 30 and 60), growing the time while the
 * file does not change, and revalidates a cached name when its directory's attributes expire. FUSE has one
 * fixed attribute timeout for every node, one for names and one for names that do not exist, so:
 * <ul>
 *   <li>{@code attr_timeout} = {@code acregmin}: a change on the gateway is seen at most {@code acregmin}
 *       seconds later (the kernel may take up to {@code acregmax}); directories are refreshed as often as
 *       files, more often than the kernel's {@code acdirmin}.</li>
 *   <li>{@code entry_timeout} = the smaller of {@code acregmin} and {@code acdirmin} with {@code lookupcache=all}
 *       or {@code positive}; 0 with {@code lookupcache=none} (every path is looked up on the gateway again). Not
 *       longer than the attributes: once a node's attributes expire, the kernel refreshes them through the node
 *       (for its permission check) and an open of a name another client removed would fail with ENOENT, where
 *       a name looked up again lets {@code O_CREAT} create it anew, as on a kernel NFS mount.</li>
 *   <li>{@code negative_timeout} = {@code acdirmin} with {@code lookupcache=all} (a name found missing stays
 *       missing that long, as a negative dentry does in the kernel); 0 with {@code positive} or {@code none}.</li>
 *   <li>{@code noac}: all three 0 (every stat and lookup asks the gateway).</li>
 * </ul>
 * {@code actimeo=N} sets the four {@code ac*} values to N; later options win over earlier ones, as with
 * mount(8). {@code readOnlyCache} arrives as {@code nocto,actimeo=600}: ten minutes for everything.
 *
 * @param acregmin seconds, 0–86400
 * @param acregmax seconds, 0–86400
 * @param acdirmin seconds, 0–86400
 * @param acdirmax seconds, 0–86400
 * @param noac whether attribute caching is off
 * @param lookupcache {@code lookupcache} mode
 */
public record AttributeCache(int acregmin, int acregmax, int acdirmin, int acdirmax, boolean noac,
        LookupCache lookupcache) {

    /** nfs(5)'s defaults: 3, 60, 30, 60 seconds, attribute caching on, {@code lookupcache=all}. */
    public static final AttributeCache DEFAULT = new AttributeCache(3, 60, 30, 60, false, LookupCache.ALL);

    /** Longest cache time accepted, in seconds (one day). */
    public static final int MAX_SECONDS = 86400;

    /** nfs(5) {@code lookupcache}: which directory entries the client caches. */
    public enum LookupCache {
        /** Names found and names found missing. */
        ALL("all"),
        /** Names found only. */
        POSITIVE("positive"),
        /** Nothing: every lookup goes to the gateway. */
        NONE("none");

        private final String option;

        LookupCache(String option) {
            this.option = option;
        }

        /** The option's value, e.g. {@code "positive"}. */
        public String option() {
            return option;
        }

        /**
         * Parses a {@code lookupcache} value as nfs(5) spells it ({@code all}, {@code none}, {@code pos},
         * {@code positive}).
         *
         * @throws IllegalArgumentException for any other value, naming the choices
         */
        public static LookupCache of(String value) {
            return switch (value) {
                case "all" -> ALL;
                case "pos", "positive" -> POSITIVE;
                case "none" -> NONE;
                default -> throw new IllegalArgumentException("mount option `lookupcache=" + value + "`: use one of"
                        + " all, positive (pos), none");
            };
        }
    }

    /** With all four {@code ac*} values set to {@code seconds} ({@code actimeo}); caching on again. */
    public AttributeCache withActimeo(int seconds) {
        return new AttributeCache(seconds, seconds, seconds, seconds, false, lookupcache);
    }

    /** libfuse {@code attr_timeout}, seconds. */
    public int attrTimeoutSeconds() {
        return noac ? 0 : acregmin;
    }

    /** libfuse {@code entry_timeout}, seconds. */
    public int entryTimeoutSeconds() {
        return noac || lookupcache == LookupCache.NONE ? 0 : Math.min(acregmin, acdirmin);
    }

    /** libfuse {@code negative_timeout}, seconds. */
    public int negativeTimeoutSeconds() {
        return noac || lookupcache != LookupCache.ALL ? 0 : acdirmin;
    }

    /**
     * The options in force, nfs(5) form: {@code noac}, or {@code actimeo=N} when the four are equal, or the
     * four {@code ac*} values; then {@code lookupcache=…}.
     */
    public List<String> options() {
        List<String> o = new ArrayList<>();
        if (noac) {
            o.add("noac");
        } else if (acregmin == acregmax && acregmin == acdirmin && acregmin == acdirmax) {
            o.add("actimeo=" + acregmin);
        } else {
            o.add("acregmin=" + acregmin);
            o.add("acregmax=" + acregmax);
            o.add("acdirmin=" + acdirmin);
            o.add("acdirmax=" + acdirmax);
        }
        o.add("lookupcache=" + lookupcache.option());
        return o;
    }

    /** The libfuse {@code -o} options that give this caching. */
    public List<String> fuseOptions() {
        return List.of("attr_timeout=" + attrTimeoutSeconds(), "entry_timeout=" + entryTimeoutSeconds(),
                "negative_timeout=" + negativeTimeoutSeconds());
    }
}
