package io.gatewaycsi.nfs;

import java.util.Objects;

/**
 * One entry of a directory listing ({@link NfsSession#readdir}).
 *
 * @param name the entry's name (never {@code "."} or {@code ".."}), decoded as UTF-8
 * @param attributes the entry's own attributes (a symbolic link's, not its target's), as of the listing
 */
public record NfsDirEntry(String name, NfsAttributes attributes) {
    public NfsDirEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(attributes, "attributes");
    }
}
