package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One benchmark's section of bench/RESULTS.md: what was compared, a table of measures (gateway-csi, the
 * baseline, their ratio, the target and whether it was met), extra tables, and notes (profiles of missed
 * targets, how the numbers were taken). Verdict lines are also collected into {@code <file>.verdicts}, from
 * which bench/run builds the summary at the top of RESULTS.md.
 */
final class Report {

    /** Whether a row's target was met; {@link #NONE} for rows without a target. */
    enum Verdict {
        MET("met"), MISSED("**missed**"), NONE("—");

        final String text;

        Verdict(String text) {
            this.text = text;
        }

        static Verdict of(boolean met) {
            return met ? MET : MISSED;
        }
    }

    private final String title;
    private final String compared;
    private final List<String> rows = new ArrayList<>();
    private final List<String> verdicts = new ArrayList<>();
    private final List<String> extra = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    Report(String title, String compared) {
        this.title = title;
        this.compared = compared;
    }

    /** A table row: the measure, our value, the baseline's, the ratio, the target and the verdict. */
    Report row(String measure, String ours, String baseline, String ratio, String target, Verdict verdict) {
        // A relative target (×) is judged on the ratio, an absolute one on our value.
        String measured = target.endsWith("×") && !ratio.equals("—") ? ratio : !ours.equals("—") ? ours : baseline;
        return row(measure, ours, baseline, ratio, target, verdict, measured);
    }

    /** The same, with what the summary at the top of RESULTS.md shows as measured. */
    Report row(String measure, String ours, String baseline, String ratio, String target, Verdict verdict,
               String measured) {
        rows.add("| " + String.join(" | ", measure, ours, baseline, ratio, target, verdict.text) + " |");
        if (verdict != Verdict.NONE) {
            verdicts.add("| " + title.replaceFirst("^\\d+\\.\\s*", "") + " | " + measure + " | " + target + " | "
                    + measured + " | " + verdict.text + " |");
        }
        return this;
    }

    /** A row without a baseline. */
    Report row(String measure, String value, String target, Verdict verdict) {
        return row(measure, value, "—", "—", target, verdict);
    }

    /** An extra table after the main one, with its own caption and header. */
    Report table(String caption, List<String> header, List<List<String>> body) {
        StringBuilder text = new StringBuilder(caption).append("\n\n| ").append(String.join(" | ", header))
                .append(" |\n|").append("---|".repeat(header.size())).append('\n');
        for (List<String> row : body) {
            text.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        extra.add(text.toString());
        return this;
    }

    Report note(String note) {
        notes.add(note);
        return this;
    }

    /** Writes the section to {@code dir/<file>.md} (and the verdicts to {@code <file>.verdicts}). */
    void write(Path dir, String file) throws IOException {
        StringBuilder text = new StringBuilder("## ").append(title).append("\n\n").append(compared).append("\n\n")
                .append("| measure | gateway-csi | baseline | ratio | target | verdict |\n|---|---|---|---|---|---|\n");
        rows.forEach(row -> text.append(row).append('\n'));
        extra.forEach(table -> text.append('\n').append(table));
        notes.forEach(note -> text.append('\n').append(note).append('\n'));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(file + ".md"), text.append('\n').toString());
        Files.write(dir.resolve(file + ".verdicts"), verdicts);
        System.out.print(text);
        System.out.flush();
    }
}
