package io.gatewaycsi.nfs;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NFSv3 ({@code nfsstat3}, RFC 1813) and NFSv4.0 ({@code nfsstat4}, RFC 7530) status codes and the errno
 * each maps to. Used for raw NFSv4 compounds and to correct libnfs 4.0's own mapping, which runs NFSv4
 * codes through its NFSv3 table and so reports every NFSv4-only status (and {@code DQUOT}) as
 * {@code ERANGE}; its error text still names the status ({@code "... failed with NFS4ERR_EXPIRED(-5)"}).
 */
final class NfsStatus {
    /** How a status affects the context it came from. */
    enum Effect {
        /** An ordinary file system error. */
        NONE,
        /** The context's NFSv4 client or open state is gone on the gateway: the context must be replaced. */
        STATE_LOST,
        /** Try again later (DELAY, GRACE, JUKEBOX). */
        RETRY
    }

    record Entry(int code, String name, int errno, Effect effect) {
    }

    private static final Map<Integer, Entry> BY_V4_CODE = new HashMap<>();
    private static final Map<String, Entry> BY_NAME = new HashMap<>();
    private static final Pattern NAME = Pattern.compile("NFS[34]ERR_[A-Z_]+");

    static {
        v4(1, "PERM", Errno.EPERM);
        v4(2, "NOENT", Errno.ENOENT);
        v4(5, "IO", Errno.EIO);
        v4(6, "NXIO", Errno.ENXIO);
        v4(13, "ACCESS", Errno.EACCES);
        v4(17, "EXIST", Errno.EEXIST);
        v4(18, "XDEV", Errno.EXDEV);
        v4(20, "NOTDIR", Errno.ENOTDIR);
        v4(21, "ISDIR", Errno.EISDIR);
        v4(22, "INVAL", Errno.EINVAL);
        v4(27, "FBIG", Errno.EFBIG);
        v4(28, "NOSPC", Errno.ENOSPC);
        v4(30, "ROFS", Errno.EROFS);
        v4(31, "MLINK", Errno.EMLINK);
        v4(63, "NAMETOOLONG", Errno.ENAMETOOLONG);
        v4(66, "NOTEMPTY", Errno.ENOTEMPTY);
        v4(69, "DQUOT", Errno.EDQUOT);
        v4(70, "STALE", Errno.ESTALE);
        v4(10001, "BADHANDLE", Errno.ESTALE);
        v4(10003, "BAD_COOKIE", Errno.EIO);
        v4(10004, "NOTSUPP", Errno.EOPNOTSUPP);
        v4(10005, "TOOSMALL", Errno.EIO);
        v4(10006, "SERVERFAULT", Errno.EIO);
        v4(10007, "BADTYPE", Errno.EINVAL);
        v4(10008, "DELAY", Errno.EAGAIN, Effect.RETRY);
        v4(10009, "SAME", Errno.EIO);
        v4(10010, "DENIED", Errno.EACCES);
        v4(10011, "EXPIRED", Errno.ESTALE, Effect.STATE_LOST);
        v4(10012, "LOCKED", Errno.EAGAIN);
        v4(10013, "GRACE", Errno.EAGAIN, Effect.RETRY);
        v4(10014, "FHEXPIRED", Errno.ESTALE);
        v4(10015, "SHARE_DENIED", Errno.EACCES);
        v4(10016, "WRONGSEC", Errno.EPERM);
        v4(10017, "CLID_INUSE", Errno.EIO, Effect.STATE_LOST);
        v4(10018, "RESOURCE", Errno.EIO);
        v4(10019, "MOVED", Errno.EIO);
        v4(10020, "NOFILEHANDLE", Errno.EIO);
        v4(10021, "MINOR_VERS_MISMATCH", Errno.EPROTO);
        v4(10022, "STALE_CLIENTID", Errno.ESTALE, Effect.STATE_LOST);
        v4(10023, "STALE_STATEID", Errno.ESTALE, Effect.STATE_LOST);
        v4(10024, "OLD_STATEID", Errno.ESTALE, Effect.STATE_LOST);
        v4(10025, "BAD_STATEID", Errno.ESTALE, Effect.STATE_LOST);
        v4(10026, "BAD_SEQID", Errno.ESTALE, Effect.STATE_LOST);
        v4(10027, "NOT_SAME", Errno.EIO);
        v4(10028, "LOCK_RANGE", Errno.EINVAL);
        v4(10029, "SYMLINK", Errno.ELOOP);
        v4(10030, "RESTOREFH", Errno.EIO);
        v4(10031, "LEASE_MOVED", Errno.EIO, Effect.STATE_LOST);
        v4(10032, "ATTRNOTSUPP", Errno.EOPNOTSUPP);
        v4(10033, "NO_GRACE", Errno.EIO);
        v4(10034, "RECLAIM_BAD", Errno.EIO);
        v4(10035, "RECLAIM_CONFLICT", Errno.EIO);
        v4(10036, "BADXDR", Errno.EINVAL);
        v4(10037, "LOCKS_HELD", Errno.EBUSY);
        v4(10038, "OPENMODE", Errno.EBADF);
        v4(10039, "BADOWNER", Errno.EINVAL);
        v4(10040, "BADCHAR", Errno.EINVAL);
        v4(10041, "BADNAME", Errno.EINVAL);
        v4(10042, "BAD_RANGE", Errno.EINVAL);
        v4(10043, "LOCK_NOTSUPP", Errno.EOPNOTSUPP);
        v4(10044, "OP_ILLEGAL", Errno.EOPNOTSUPP);
        v4(10045, "DEADLOCK", 35);
        v4(10046, "FILE_OPEN", Errno.EBUSY);
        v4(10047, "ADMIN_REVOKED", Errno.ESTALE, Effect.STATE_LOST);
        v4(10048, "CB_PATH_DOWN", Errno.EIO);
        // NFSv3 names libnfs maps unhelpfully (DQUOT -> ERANGE, NOTSUPP -> EINVAL)
        v3("DQUOT", Errno.EDQUOT, Effect.NONE);
        v3("NOTSUPP", Errno.EOPNOTSUPP, Effect.NONE);
        v3("JUKEBOX", Errno.EAGAIN, Effect.RETRY);
        v3("BADHANDLE", Errno.ESTALE, Effect.NONE);
        v3("STALE", Errno.ESTALE, Effect.NONE);
        v3("SERVERFAULT", Errno.EIO, Effect.NONE);
    }

    private NfsStatus() {
    }

    private static void v4(int code, String name, int errno) {
        v4(code, name, errno, Effect.NONE);
    }

    private static void v4(int code, String name, int errno, Effect effect) {
        Entry e = new Entry(code, "NFS4ERR_" + name, errno, effect);
        BY_V4_CODE.put(code, e);
        BY_NAME.put(e.name(), e);
    }

    private static void v3(String name, int errno, Effect effect) {
        BY_NAME.put("NFS3ERR_" + name, new Entry(-1, "NFS3ERR_" + name, errno, effect));
    }

    /** The entry for an {@code nfsstat4} code; unknown codes map to {@code EIO}. */
    static Entry ofV4(int code) {
        Entry e = BY_V4_CODE.get(code);
        return e != null ? e : new Entry(code, "NFS4ERR(" + code + ")", Errno.EIO, Effect.NONE);
    }

    /** The first {@code NFS3ERR_*}/{@code NFS4ERR_*} name in libnfs's error text, or null. */
    static Entry inText(String libnfsError) {
        if (libnfsError == null) {
            return null;
        }
        Matcher m = NAME.matcher(libnfsError);
        while (m.find()) {
            Entry e = BY_NAME.get(m.group());
            if (e != null) {
                return e;
            }
        }
        return null;
    }
}
