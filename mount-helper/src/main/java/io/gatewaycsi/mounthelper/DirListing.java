package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.NfsDirEntry;
import java.util.List;

/**
 * An open directory of a FUSE mount: its path on the share and the listing read at offset 0, from which the
 * kernel's later READDIRPLUS pages are served (one gateway listing per open and rewind, not one per page).
 */
final class DirListing {
    private final String sharePath;
    private volatile List<NfsDirEntry> entries;

    DirListing(String sharePath) {
        this.sharePath = sharePath;
    }

    /** The directory's path on the share. */
    String sharePath() {
        return sharePath;
    }

    /** The listing read last, or null before the first read. */
    List<NfsDirEntry> entries() {
        return entries;
    }

    void entries(List<NfsDirEntry> listing) {
        entries = List.copyOf(listing);
    }
}
