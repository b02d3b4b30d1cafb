package io.gatewaycsi.nfs;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * An XDR-encoded NFSv4 {@code fattr4} for SETATTR (RFC 7530 §5): the attribute bitmap and the values in
 * attribute-number order. Supports mode (33), owner (36), owner_group (37), time_access_set (48) and
 * time_modify_set (54). Owners are sent as decimal numbers (DESIGN §8: the gateway keeps owners numeric).
 *
 * @param bitmap the {@code bitmap4} words
 * @param values the {@code attrlist4} bytes
 */
record Nfs4Attrs(int[] bitmap, byte[] values) {
    private static final int FATTR4_MODE = 33;
    private static final int FATTR4_OWNER = 36;
    private static final int FATTR4_OWNER_GROUP = 37;
    private static final int FATTR4_TIME_ACCESS_SET = 48;
    private static final int FATTR4_TIME_MODIFY_SET = 54;
    private static final int SET_TO_SERVER_TIME4 = 0;
    private static final int SET_TO_CLIENT_TIME4 = 1;

    /** Builds a SETATTR attribute list; every argument may be absent. */
    static final class Builder {
        private Integer mode;
        private Integer uid;
        private Integer gid;
        private Instant atime;
        private boolean atimeServer;
        private Instant mtime;
        private boolean mtimeServer;

        Builder mode(int m) {
            mode = m & 07777;
            return this;
        }

        Builder owner(int u) {
            uid = u;
            return this;
        }

        Builder group(int g) {
            gid = g;
            return this;
        }

        Builder atime(Instant t) {
            atime = t;
            return this;
        }

        Builder mtime(Instant t) {
            mtime = t;
            return this;
        }

        /** Both times to the server's clock (SET_TO_SERVER_TIME4). */
        Builder timesNow() {
            atimeServer = true;
            mtimeServer = true;
            return this;
        }

        Nfs4Attrs build() {
            int[] bitmap = new int[2];
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (mode != null) {
                set(bitmap, FATTR4_MODE);
                u32(out, mode);
            }
            if (uid != null) {
                set(bitmap, FATTR4_OWNER);
                string(out, Integer.toUnsignedString(uid));
            }
            if (gid != null) {
                set(bitmap, FATTR4_OWNER_GROUP);
                string(out, Integer.toUnsignedString(gid));
            }
            if (atime != null || atimeServer) {
                set(bitmap, FATTR4_TIME_ACCESS_SET);
                time(out, atimeServer ? null : atime);
            }
            if (mtime != null || mtimeServer) {
                set(bitmap, FATTR4_TIME_MODIFY_SET);
                time(out, mtimeServer ? null : mtime);
            }
            return new Nfs4Attrs(bitmap, out.toByteArray());
        }

        private static void set(int[] bitmap, int attr) {
            bitmap[attr / 32] |= 1 << (attr % 32);
        }

        private static void u32(ByteArrayOutputStream out, int v) {
            out.writeBytes(ByteBuffer.allocate(4).putInt(v).array());
        }

        private static void string(ByteArrayOutputStream out, String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u32(out, b.length);
            out.writeBytes(b);
            out.writeBytes(new byte[(4 - b.length % 4) % 4]);
        }

        /** settime4: SET_TO_SERVER_TIME4, or SET_TO_CLIENT_TIME4 + nfstime4 {int64 seconds; uint32 nseconds}. */
        private static void time(ByteArrayOutputStream out, Instant t) {
            if (t == null) {
                u32(out, SET_TO_SERVER_TIME4);
                return;
            }
            u32(out, SET_TO_CLIENT_TIME4);
            out.writeBytes(ByteBuffer.allocate(12).putLong(t.getEpochSecond()).putInt(t.getNano()).array());
        }
    }
}
