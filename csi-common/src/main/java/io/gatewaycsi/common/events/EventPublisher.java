package io.gatewaycsi.common.events;

/** Delivers events to the API server; called from one background thread only. */
public interface EventPublisher extends AutoCloseable {

    /**
     * Creates the event; may block up to the publisher's own request deadline.
     *
     * @throws Exception when the API server refused it or could not be reached
     */
    void publish(EventRecord event) throws Exception;

    /** Where events go, for logs (e.g. the API server's URL). */
    String target();

    @Override
    void close();
}
