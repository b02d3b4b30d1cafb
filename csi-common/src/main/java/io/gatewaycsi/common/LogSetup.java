package io.gatewaycsi.common;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Configures java.util.logging for the process: one line per event on standard error, as
 * {@code ts=<ISO-8601 UTC> level=<level> logger=<name> <message>}, where the message is a {@link LogLine}.
 */
public final class LogSetup {

    /** gRPC's and netty's loggers, held so the levels set on them stay (java.util.logging keeps loggers weakly). */
    private static final List<Logger> LIBRARY_LOGGERS = List.of(Logger.getLogger("io.grpc"), Logger.getLogger("io.netty"));

    private LogSetup() {
    }

    /**
     * Installs the single-line formatter on the root logger at {@code level}.
     *
     * @param level one of {@code error}, {@code warn}, {@code info}, {@code debug} (case-insensitive)
     * @throws IllegalArgumentException for any other level, naming the choices
     */
    public static void configure(String level) {
        Level julLevel = parseLevel(level);
        Logger root = Logger.getLogger("");
        for (Handler handler : root.getHandlers()) {
            root.removeHandler(handler);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new LineFormatter());
        handler.setLevel(julLevel);
        root.addHandler(handler);
        root.setLevel(julLevel);
        // gRPC and netty are chatty at FINE; their warnings still reach the log.
        Level libraries = julLevel.intValue() < Level.INFO.intValue() ? Level.INFO : julLevel;
        for (Logger logger : LIBRARY_LOGGERS) {
            logger.setLevel(libraries);
        }
    }

    /** Maps a log level flag value to its java.util.logging level. */
    public static Level parseLevel(String level) {
        return switch (level == null ? "" : level.toLowerCase(Locale.ROOT)) {
            case "error" -> Level.SEVERE;
            case "warn", "warning" -> Level.WARNING;
            case "info" -> Level.INFO;
            case "debug" -> Level.FINE;
            default -> throw new IllegalArgumentException("log level `" + level
                    + "` is invalid; choose error, warn, info or debug");
        };
    }

    /** The formatter: one line per record, stack traces folded onto that line. */
    static final class LineFormatter extends Formatter {
        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder(160)
                    .append("ts=").append(Instant.ofEpochMilli(record.getMillis()))
                    .append(" level=").append(levelName(record.getLevel()))
                    .append(" logger=").append(shortName(record.getLoggerName()))
                    .append(' ').append(formatMessage(record).replace('\n', ' '));
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                record.getThrown().printStackTrace(new PrintWriter(trace));
                line.append(" stack=");
                LogLine.quote(trace.toString(), line);
            }
            return line.append('\n').toString();
        }

        private static String levelName(Level level) {
            int v = level.intValue();
            if (v >= Level.SEVERE.intValue()) {
                return "error";
            }
            if (v >= Level.WARNING.intValue()) {
                return "warn";
            }
            return v >= Level.INFO.intValue() ? "info" : "debug";
        }

        private static String shortName(String name) {
            if (name == null) {
                return "root";
            }
            int dot = name.lastIndexOf('.');
            return dot < 0 ? name : name.substring(dot + 1);
        }
    }
}
