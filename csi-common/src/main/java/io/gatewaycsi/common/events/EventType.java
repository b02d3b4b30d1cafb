package io.gatewaycsi.common.events;

/** The {@code type} of a core/v1 Event. */
public enum EventType {
    /** Information: the volume works, perhaps in a degraded way (the mount helper fallback, a repair). */
    NORMAL("Normal"),
    /** Something failed or needed force. */
    WARNING("Warning");

    private final String value;

    EventType(String value) {
        this.value = value;
    }

    /** {@code Normal} or {@code Warning}, as the API wants it. */
    public String value() {
        return value;
    }
}
