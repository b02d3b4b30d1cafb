/**
 * Kubernetes Events about the objects a user looks at ({@code kubectl describe pod|pvc}): the mount helper
 * fallback and why, mount failures with their classified reason, repairs. {@link
 * io.gatewaycsi.common.events.EventRecorder} is what the services call; it never blocks an RPC: events are
 * logged at once (one structured line each), rate-limited per object and reason, and handed to a bounded
 * queue that one background thread delivers to the API server (fabric8, {@link
 * io.gatewaycsi.common.events.KubernetesEventPublisher}). Without API access they are only logged.
 */
package io.gatewaycsi.common.events;
