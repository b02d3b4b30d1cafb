package io.gatewaycsi.common.events;

/**
 * Records Kubernetes Events on behalf of the services. Implementations never block the caller and never
 * throw: an event that cannot be delivered is logged and dropped.
 */
public interface EventRecorder {

    /**
     * Records an event about {@code object}.
     *
     * @param reason  a short UpperCamelCase word from a fixed set, e.g. {@code MountHelperFallback}
     * @param message what happened and, for a failure, what to do about it
     */
    void record(ObjectRef object, EventType type, String reason, String message);

    /** A recorder that drops everything (tests, and services built without events). */
    static EventRecorder none() {
        return (object, type, reason, message) -> { };
    }
}
