package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * A JFR recording summarized as the profile of a missed target: the hottest methods by CPU samples
 * ({@code jdk.ExecutionSample}, top frame = where the time is spent) and the gateway-csi methods the samples
 * pass through (the first {@code io.gatewaycsi} frame of each stack = which of our code paths costs it).
 * async-profiler is not available here; JFR's sampler is what the JDK ships.
 */
final class JfrTop {

    private JfrTop() {
    }

    /** A Markdown table of the top {@code limit} self and gateway-csi methods in {@code recording}. */
    static String summarize(Path recording, int limit) throws IOException {
        Map<String, Integer> self = new HashMap<>();
        Map<String, Integer> ours = new HashMap<>();
        Map<String, Integer> nativeSelf = new HashMap<>();
        int samples = 0;
        int nativeSamples = 0;
        for (RecordedEvent event : RecordingFile.readAllEvents(recording)) {
            String type = event.getEventType().getName();
            boolean java = type.equals("jdk.ExecutionSample");
            if (!java && !type.equals("jdk.NativeMethodSample")) {
                continue;
            }
            RecordedStackTrace stack = event.getStackTrace();
            if (stack == null || stack.getFrames().isEmpty()) {
                continue;
            }
            List<RecordedFrame> frames = stack.getFrames();
            if (java) {
                samples++;
                self.merge(name(frames.getFirst()), 1, Integer::sum);
                for (RecordedFrame frame : frames) {
                    String name = name(frame);
                    if (name.startsWith("io.gatewaycsi.") && !name.startsWith("io.gatewaycsi.bench.")) {
                        ours.merge(name, 1, Integer::sum);
                        break;
                    }
                }
            } else {
                nativeSamples++;
                nativeSelf.merge(name(frames.getFirst()), 1, Integer::sum);
            }
        }
        StringBuilder text = new StringBuilder();
        text.append(String.format("JFR `%s`: %d CPU samples (jdk.ExecutionSample), %d threads-in-native samples.%n%n",
                recording.getFileName(), samples, nativeSamples));
        text.append("| where CPU samples land (top frame) | share | first gateway-csi frame on the stack | share |\n")
                .append("|---|---|---|---|\n");
        List<Map.Entry<String, Integer>> a = top(self, limit);
        List<Map.Entry<String, Integer>> b = top(ours, limit);
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            text.append("| ").append(i < a.size() ? "`" + a.get(i).getKey() + "`" : "")
                    .append(" | ").append(i < a.size() ? percent(a.get(i).getValue(), samples) : "")
                    .append(" | ").append(i < b.size() ? "`" + b.get(i).getKey() + "`" : "")
                    .append(" | ").append(i < b.size() ? percent(b.get(i).getValue(), samples) : "").append(" |\n");
        }
        if (nativeSamples > 0) {
            text.append("\nThreads waiting in native code (top frames): ");
            List<String> parts = new ArrayList<>();
            for (Map.Entry<String, Integer> entry : top(nativeSelf, 5)) {
                parts.add("`" + entry.getKey() + "` " + percent(entry.getValue(), nativeSamples));
            }
            text.append(String.join(", ", parts)).append('\n');
        }
        return text.toString();
    }

    private static String percent(int count, int total) {
        return total == 0 ? "" : String.format("%.0f%%", 100.0 * count / total);
    }

    private static List<Map.Entry<String, Integer>> top(Map<String, Integer> counts, int limit) {
        return counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .limit(limit).toList();
    }

    private static String name(RecordedFrame frame) {
        String type = frame.getMethod().getType().getName();
        int dollar = type.indexOf("$$Lambda");
        if (dollar > 0) {
            type = type.substring(0, dollar) + "$$Lambda";
        }
        return type + "." + frame.getMethod().getName();
    }
}
