package io.gatewaycsi.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Latencies of one round, in nanoseconds, and their percentiles. Thread-safe. */
final class Samples {

    private long[] nanos = new long[64];
    private int count;

    synchronized void add(long elapsedNanos) {
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = elapsedNanos;
    }

    /** The {@code p}-th percentile (0..100, nearest rank) in milliseconds; NaN when empty. */
    synchronized double percentileMillis(double p) {
        if (count == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
    }

    synchronized int count() {
        return count;
    }

    /** Median and spread (min, max) of per-round values. */
    record Summary(double median, double min, double max, int rounds) {
        static Summary of(List<Double> values) {
            double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            if (sorted.length == 0) {
                return new Summary(Double.NaN, Double.NaN, Double.NaN, 0);
            }
            double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
            return new Summary(median, sorted[0], sorted[sorted.length - 1], sorted.length);
        }

        /** E.g. {@code 3.21 ms (2.90–4.02)}. */
        String format(String unit) {
            return String.format("%s%s (%s–%s)", number(median), unit.isEmpty() ? "" : " " + unit, number(min),
                    number(max));
        }

        /** E.g. {@code 1.23× (1.10–1.40)}. */
        String ratio() {
            return String.format("%.2f× (%.2f–%.2f)", median, min, max);
        }

        private static String number(double value) {
            double magnitude = Math.abs(value);
            return magnitude >= 100 ? String.format("%.0f", value)
                    : magnitude >= 10 ? String.format("%.1f", value) : String.format("%.2f", value);
        }
    }

    /** Per-round values by measure name, in insertion order. */
    static final class Rounds {
        private final Map<String, List<Double>> values = new LinkedHashMap<>();

        synchronized void add(String measure, double value) {
            values.computeIfAbsent(measure, k -> new ArrayList<>()).add(value);
        }

        synchronized Summary summary(String measure) {
            return Summary.of(values.getOrDefault(measure, List.of()));
        }

        /** The per-round ratio {@code numerator / denominator}, summarized (rounds are paired: interleaved). */
        synchronized Summary ratio(String numerator, String denominator) {
            List<Double> top = values.getOrDefault(numerator, List.of());
            List<Double> bottom = values.getOrDefault(denominator, List.of());
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < Math.min(top.size(), bottom.size()); i++) {
                ratios.add(top.get(i) / bottom.get(i));
            }
            return Summary.of(ratios);
        }

        /** The value of the latest round, for progress lines. */
        synchronized double latest(String measure) {
            return values.getOrDefault(measure, List.of(Double.NaN)).getLast();
        }

        synchronized int rounds(String measure) {
            return values.getOrDefault(measure, List.of()).size();
        }
    }
}
