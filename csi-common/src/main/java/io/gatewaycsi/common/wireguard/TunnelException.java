package io.gatewaycsi.common.wireguard;

import java.io.IOException;

/**
 * A WireGuard tunnel could not be brought up (or taken down): the message names the step, what the tool said and
 * what to check. It never holds a key of this side (those reach wg(8) only on its standard input).
 */
public final class TunnelException extends IOException {

    TunnelException(String message) {
        super(message);
    }
}
