package io.gatewaycsi.controller;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.nfs.NfsAttributes;
import io.gatewaycsi.nfs.NfsDirEntry;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsSession;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Who owns which directory of a share. A volume owns its whole tree: no other volume may lie inside it, and
 * no volume may lie inside a directory gateway-csi did not make (another team's data, a volume retained after
 * deletion). The parent directories a nested {@code subDir} needs ({@code team-a} of {@code team-a/pvc-1}) are
 * made by gateway-csi with mode {@value #PARENT_DIR_MODE_TEXT}, marked under {@code /.gateway-csi/parents/},
 * and removed again when their last volume is deleted and they are empty.
 *
 * <p>Making and removing parents of one share is serialized ({@link #locked}), so a DeleteVolume never
 * removes a parent that a concurrent CreateVolume has just made for its new volume.
 */
final class VolumeTrees {

    /** Mode of the parent directories gateway-csi makes for nested subDirs: owner writes, everyone traverses. */
    static final int PARENT_DIR_MODE = 0755;
    static final String PARENT_DIR_MODE_TEXT = "0755";
    /**
     * Most path segments a new volume's subDir may have. Deeper subDirs are refused, so a walk looking for
     * volumes inside another volume need not go deeper than this below the share.
     */
    static final int MAX_SUBDIR_SEGMENTS = 64;

    private final Map<NfsSession, ReentrantLock> locks = new ConcurrentHashMap<>();

    /** Work on the parents of one share, with no other such work on that share at the same time. */
    interface ParentsWork {
        void run() throws NfsException;
    }

    void locked(NfsSession session, ParentsWork work) throws NfsException {
        ReentrantLock lock = locks.computeIfAbsent(session, s -> new ReentrantLock());
        lock.lock();
        try {
            work.run();
        } finally {
            lock.unlock();
        }
    }

    /** {@code a} and {@code a/b} for {@code a/b/c}: every proper ancestor below the share, shallowest first. */
    static List<String> ancestors(String subDir) {
        List<String> ancestors = new ArrayList<>();
        int slash = subDir.indexOf('/');
        while (slash > 0) {
            ancestors.add(subDir.substring(0, slash));
            slash = subDir.indexOf('/', slash + 1);
        }
        return ancestors;
    }

    /**
     * CreateVolume: refuses a subDir deeper than {@link #MAX_SUBDIR_SEGMENTS}, or with a volume or a directory
     * gateway-csi did not make among its ancestors.
     *
     * @throws CsiException INVALID_ARGUMENT (too deep), FAILED_PRECONDITION naming the volume or directory
     */
    static void requireFreeAncestors(NfsSession session, String subDir, String share) throws NfsException {
        int segments = subDir.split("/", -1).length;
        if (segments > MAX_SUBDIR_SEGMENTS) {
            throw CsiException.invalidArgument("parameter `subDir` resolves to `" + subDir + "`, " + segments
                    + " directories deep; gateway-csi makes volumes at most " + MAX_SUBDIR_SEGMENTS + " deep");
        }
        for (String ancestor : ancestors(subDir)) {
            Optional<VolumeRecord> volume = record(session, ancestor);
            if (volume.isPresent()) {
                throw CsiException.failedPrecondition("subDir `" + subDir + "` lies inside volume `"
                        + volume.get().name() + "` (directory " + share + "/" + ancestor + "), whose tree belongs"
                        + " to it alone; choose a subDir outside every volume, e.g. one that includes"
                        + " ${pvc.metadata.namespace} so that a claim named like a namespace cannot reach into it");
            }
            if (!session.exists(GatewayLayout.volumeDir(ancestor))) {
                return; // nothing below a missing directory exists either
            }
            if (!session.exists(GatewayLayout.parentMarker(ancestor))) {
                throw CsiException.failedPrecondition("subDir `" + subDir + "` lies inside directory " + share + "/"
                        + ancestor + ", which gateway-csi did not make (someone's data, or a volume retained after"
                        + " its deletion); choose a subDir outside it, or, if that directory is meant to hold"
                        + " volumes, name it as the share (share: " + share.replaceAll("/$", "") + "/" + ancestor
                        + ") and move its data aside");
            }
        }
    }

    /**
     * Makes the missing parents of {@code subDir}, each marked as gateway-csi's before it is made (so that a
     * directory without a marker is never mistaken for one of ours), with mode {@link #PARENT_DIR_MODE}.
     * Call within {@link #locked}.
     */
    static void makeParents(NfsSession session, String subDir) throws NfsException {
        for (String ancestor : ancestors(subDir)) {
            String dir = GatewayLayout.volumeDir(ancestor);
            if (session.exists(dir)) {
                continue;
            }
            GatewayFiles.mkdirs(session, GatewayLayout.PARENTS, GatewayLayout.PRIVATE_DIR_MODE);
            GatewayFiles.writeAtomically(session, GatewayLayout.parentMarker(ancestor),
                    ("path=" + ancestor + "\n").getBytes(StandardCharsets.UTF_8));
            try {
                session.mkdir(dir, PARENT_DIR_MODE);
            } catch (NfsException e) {
                if (!e.isAlreadyExists()) {
                    throw e;
                }
            }
        }
    }

    /**
     * After a volume's directory is gone: removes the parents gateway-csi made for it, deepest first, while
     * they are empty and marked as gateway-csi's. Call within {@link #locked}.
     */
    static void removeEmptyParents(NfsSession session, String subDir) throws NfsException {
        List<String> ancestors = ancestors(subDir);
        for (int i = ancestors.size() - 1; i >= 0; i--) {
            String ancestor = ancestors.get(i);
            String marker = GatewayLayout.parentMarker(ancestor);
            if (!session.exists(marker)) {
                return;
            }
            String dir = GatewayLayout.volumeDir(ancestor);
            try {
                if (!session.lstat(dir).isDirectory()) {
                    return;
                }
                session.rmdir(dir);
            } catch (NfsException e) {
                if (e.isNotEmpty() || e.isAlreadyExists()) {
                    return;
                }
                if (!e.isNotFound()) {
                    throw e;
                }
            }
            GatewayFiles.unlinkIfExists(session, marker);
        }
    }

    /** A volume found inside another: its subDir and its record. */
    record Nested(String subDir, VolumeRecord record) {
    }

    /**
     * The first volume found inside {@code subDir}'s tree, looking at every directory down to
     * {@link #MAX_SUBDIR_SEGMENTS} below the share (no volume is deeper), never following symbolic links.
     */
    static Optional<Nested> volumeInside(NfsSession session, String subDir) throws NfsException {
        Deque<String> pending = new ArrayDeque<>();
        pending.add(subDir);
        while (!pending.isEmpty()) {
            String dir = pending.poll();
            List<NfsDirEntry> entries;
            try {
                entries = session.readdir(GatewayLayout.volumeDir(dir));
            } catch (NfsException e) {
                if (e.isNotFound() || e.isNotDirectory()) {
                    continue;
                }
                throw e;
            }
            int depth = dir.split("/", -1).length + 1;
            for (NfsDirEntry entry : entries) {
                NfsAttributes attributes = entry.attributes();
                if (!attributes.isDirectory() || depth > MAX_SUBDIR_SEGMENTS) {
                    continue;
                }
                String child = dir + "/" + entry.name();
                Optional<VolumeRecord> volume = record(session, child);
                if (volume.isPresent()) {
                    return Optional.of(new Nested(child, volume.get()));
                }
                pending.add(child);
            }
        }
        return Optional.empty();
    }

    private static Optional<VolumeRecord> record(NfsSession session, String subDir) throws NfsException {
        return Provisioner.readRecord(session, GatewayLayout.volumeRecord(GatewayLayout.volumeDigest(subDir)))
                .filter(record -> record.subDir().equals(subDir));
    }
}
