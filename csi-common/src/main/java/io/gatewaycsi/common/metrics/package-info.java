/**
 * Prometheus metrics (client_java 1.x) shared by every role: the per-RPC interceptor
 * ({@link io.gatewaycsi.common.metrics.RpcMetrics}), the {@code /metrics} HTTP endpoint
 * ({@link io.gatewaycsi.common.metrics.MetricsServer}) and the naming rules every metric of the project follows:
 * a {@code gatewaycsi_} prefix, base units in the name ({@code _seconds}, {@code _bytes}), {@code _total} on
 * counters, and only label values from small fixed sets (methods, status codes, backends, reasons — never a
 * volume ID or a path).
 */
package io.gatewaycsi.common.metrics;
