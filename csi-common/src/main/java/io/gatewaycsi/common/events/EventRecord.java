package io.gatewaycsi.common.events;

import java.time.Instant;

/**
 * One event to deliver.
 *
 * @param object  what it is about
 * @param type    Normal or Warning
 * @param reason  a short UpperCamelCase word from a fixed set, e.g. {@code MountHelperFallback}
 * @param message what happened and, for a failure, the fix; at most {@link #MAX_MESSAGE} characters
 * @param at      when it happened
 */
public record EventRecord(ObjectRef object, EventType type, String reason, String message, Instant at) {

    /** The API server's limit on an event message is 1 KiB; longer messages are cut. */
    public static final int MAX_MESSAGE = 1024;

    /** Cuts the message to {@link #MAX_MESSAGE} characters. */
    public EventRecord {
        if (message.length() > MAX_MESSAGE) {
            message = message.substring(0, MAX_MESSAGE - 1) + "…";
        }
    }
}
