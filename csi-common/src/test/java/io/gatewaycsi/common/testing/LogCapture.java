package io.gatewaycsi.common.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Captures everything java.util.logging writes in this JVM, at every level (the request bodies logged at
 * debug included), as text: message, parameters and the stack traces of thrown exceptions. For checking that
 * secrets never reach a log. Closing it removes the handler and restores the levels.
 */
public final class LogCapture extends Handler implements AutoCloseable {

    private final Logger root = Logger.getLogger("");
    private final Logger rpc = Logger.getLogger("io.gatewaycsi");
    private final Level rootLevel;
    private final Level rpcLevel;
    private final List<String> lines = new ArrayList<>();

    /** Starts capturing (and lowers the levels of the root and {@code io.gatewaycsi} loggers to ALL). */
    public LogCapture() {
        rootLevel = root.getLevel();
        rpcLevel = rpc.getLevel();
        setLevel(Level.ALL);
        root.addHandler(this);
        rpc.setLevel(Level.ALL);
    }

    @Override
    public synchronized void publish(LogRecord record) {
        StringBuilder line = new StringBuilder().append(record.getLevel()).append(' ').append(record.getLoggerName())
                .append(' ').append(record.getMessage());
        if (record.getParameters() != null) {
            for (Object parameter : record.getParameters()) {
                line.append(' ').append(parameter);
            }
        }
        if (record.getThrown() != null) {
            StringWriter trace = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(trace));
            line.append(' ').append(trace);
        }
        lines.add(line.toString());
    }

    /** Everything captured so far, one entry per record. */
    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** Everything captured so far, as one text. */
    public synchronized String text() {
        return String.join("\n", lines);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        root.removeHandler(this);
        root.setLevel(rootLevel);
        rpc.setLevel(rpcLevel);
    }
}
