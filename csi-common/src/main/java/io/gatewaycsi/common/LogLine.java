package io.gatewaycsi.common;

/**
 * One structured log event in logfmt: {@code event=rpc method=NodeStageVolume volume_id=… code=OK}.
 * Values with spaces, quotes, {@code =} or control characters are quoted and escaped, so one event is always
 * one line and every key can be parsed back.
 */
public final class LogLine {

    private final StringBuilder text = new StringBuilder();

    private LogLine(String event) {
        text.append("event=").append(event);
    }

    /** Starts a line for {@code event} (a word such as {@code rpc}, {@code mount}, {@code fallback}). */
    public static LogLine event(String event) {
        return new LogLine(event);
    }

    /** Adds {@code key=value}; a {@code null} value is left out. */
    public LogLine with(String key, Object value) {
        if (value != null) {
            text.append(' ').append(key).append('=');
            quote(String.valueOf(value), text);
        }
        return this;
    }

    @Override
    public String toString() {
        return text.toString();
    }

    static void quote(String value, StringBuilder out) {
        boolean plain = !value.isEmpty() && value.chars().allMatch(c -> c > ' ' && c != '"' && c != '=' && c < 127);
        if (plain) {
            out.append(value);
            return;
        }
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < ' ' || c == 127) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
