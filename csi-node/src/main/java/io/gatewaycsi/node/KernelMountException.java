package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * A kernel NFS mount that failed, with its classification ({@link #failure()}), the command run, its exit code
 * and its trimmed error output. NodeStageVolume tests {@link #isNotAvailableOnNode()} to decide on falling back
 * to the mount helper, and otherwise answers with {@link #toCsiException()}.
 */
public final class KernelMountException extends IOException {

    /** The most characters of command output kept. */
    static final int MAX_OUTPUT = 4000;

    private final MountFailure failure;
    private final List<String> command;
    private final int exitCode;
    private final String output;
    private final boolean timedOut;

    /**
     * @param failure  the classification
     * @param command  the argv run
     * @param exitCode its exit code, or -1 when it did not start or was killed at its deadline
     * @param output   its stderr (and stdout), trimmed
     * @param timedOut whether it was killed at its deadline
     * @param detail   what happened instead of an exit (e.g. {@code did not finish within …}), or {@code null}
     */
    public KernelMountException(MountFailure failure, List<String> command, int exitCode, String output,
                                boolean timedOut, String detail) {
        super(message(failure, command, exitCode, output, timedOut, detail));
        this.failure = Objects.requireNonNull(failure, "failure");
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
        this.output = trim(output);
        this.timedOut = timedOut;
    }

    /** The classification. */
    public MountFailure failure() {
        return failure;
    }

    /** Whether the kernel path is unavailable on this node, so the mount helper should be tried. */
    public boolean isNotAvailableOnNode() {
        return failure == MountFailure.NOT_AVAILABLE_ON_NODE;
    }

    /** The argv that was run. */
    public List<String> command() {
        return command;
    }

    /** The command's exit code, or -1 when it did not start or was killed at its deadline. */
    public int exitCode() {
        return exitCode;
    }

    /** The command's error output (stderr, then stdout), trimmed to at most {@value #MAX_OUTPUT} characters. */
    public String output() {
        return output;
    }

    /** Whether the command ran past its deadline and was killed with its process group. */
    public boolean timedOut() {
        return timedOut;
    }

    /**
     * The failure as the CSI status NodeStageVolume returns: FAILED_PRECONDITION, UNAVAILABLE, PERMISSION_DENIED,
     * NOT_FOUND, INVALID_ARGUMENT or INTERNAL (see {@link MountFailure}), with this exception's message (what failed, the
     * command's output, the fix).
     */
    public CsiException toCsiException() {
        return new CsiException(failure.code(), getMessage(), this);
    }

    private static String message(MountFailure failure, List<String> command, int exitCode, String output,
                                  boolean timedOut, String detail) {
        StringBuilder text = new StringBuilder(failure.summary()).append(": `")
                .append(String.join(" ", command)).append('`');
        if (timedOut) {
            text.append(' ').append(detail);
        } else if (exitCode >= 0) {
            text.append(" exited ").append(exitCode);
        } else if (detail != null) {
            text.append(' ').append(detail);
        }
        String shown = trim(output);
        if (!shown.isEmpty()) {
            text.append(": ").append(shown.replace('\n', ' '));
        }
        return text.append(". Fix: ").append(failure.fixFor(command, output)).toString();
    }

    private static String trim(String output) {
        String text = output == null ? "" : output.strip();
        return text.length() <= MAX_OUTPUT ? text : text.substring(0, MAX_OUTPUT) + "…";
    }
}
