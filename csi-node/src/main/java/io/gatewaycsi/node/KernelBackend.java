package io.gatewaycsi.node;

import io.gatewaycsi.common.LogLine;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The kernel mount backend: runs {@code setsid -w mount -t nfs4|nfs -o <options> server:/share/subDir
 * <staging>} (mount(8) from util-linux, which calls mount.nfs(8); nfs(5) for the options) as an argument list
 * — never through a shell — in a new session and process group, with a deadline after which the whole group
 * (mount and mount.nfs) is SIGKILLed. Failures are classified from the real output ({@link MountFailure}) and
 * thrown as {@link KernelMountException}.
 *
 * <p>The command runs with an empty environment but {@code PATH} and {@code LC_ALL=C}, so its messages are
 * the English ones the classifier knows. Unstaging goes through {@link Teardown}.
 */
public final class KernelBackend implements MountBackend {

    private static final Logger LOG = Logger.getLogger(KernelBackend.class.getName());

    /** The deadline used by {@link #KernelBackend(Teardown)}. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(60);
    /** The mount(8) command used by {@link #KernelBackend(Teardown)}, found on {@code PATH}. */
    public static final String MOUNT = "mount";
    /** setsid(1) from util-linux, found on {@code PATH}. */
    public static final String SETSID = "setsid";
    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);
    private static final Duration OUTPUT_WAIT = Duration.ofSeconds(1);

    private final String mountCommand;
    private final Duration deadline;
    private final Teardown teardown;

    /** The backend with {@link #MOUNT} and {@link #DEFAULT_DEADLINE}. */
    public KernelBackend(Teardown teardown) {
        this(MOUNT, DEFAULT_DEADLINE, teardown);
    }

    /**
     * @param mountCommand the mount(8) program, a name on {@code PATH} or an absolute path (tests pass a fake)
     * @param deadline     how long one mount may take before its process group is killed
     * @param teardown     how staging mounts are unmounted (also used to clean up a mount that completed while
     *                     its command was being killed)
     */
    public KernelBackend(String mountCommand, Duration deadline, Teardown teardown) {
        this.mountCommand = Objects.requireNonNull(mountCommand, "mountCommand");
        this.deadline = Objects.requireNonNull(deadline, "deadline");
        this.teardown = Objects.requireNonNull(teardown, "teardown");
    }

    @Override
    public String name() {
        return "kernel";
    }

    /**
     * The argv for {@code request}: {@code setsid -w <mount> -t <nfs|nfs4> -o <opt,opt,…> <source> <staging>}
     * with {@link NfsMountRequest#effectiveOptions()} and, unless they set {@code retry}, {@code retry=0}:
     * mount.nfs otherwise retries a foreground mount for 2 minutes (nfs(5), {@code retry=n}), so a gateway that
     * refuses the connection would cost the whole deadline and hide its cause; kubelet retries NodeStageVolume.
     */
    public List<String> command(NfsMountRequest request) {
        List<String> argv = new ArrayList<>(List.of(SETSID, "-w", mountCommand, "-t", request.fsType()));
        List<String> options = new ArrayList<>(request.effectiveOptions());
        if (options.stream().noneMatch(option -> option.startsWith("retry="))) {
            options.add("retry=0");
        }
        argv.add("-o");
        argv.add(String.join(",", options));
        argv.add(request.source());
        argv.add(request.stagingPath().toString());
        return argv;
    }

    /**
     * Runs the mount command and waits for it at most the deadline.
     *
     * @throws KernelMountException classified: NOT_AVAILABLE_ON_NODE (also when setsid or mount cannot be
     *                              started), GATEWAY_UNREACHABLE (also at the deadline, after killing the group),
     *                              EXPORT_NOT_FOUND, BAD_OPTIONS, OTHER
     * @throws InterruptedIOException when interrupted (the group is killed first)
     */
    @Override
    public void stage(NfsMountRequest request) throws IOException {
        List<String> argv = command(request);
        ProcessBuilder builder = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> env = builder.environment();
        env.clear();
        env.put("PATH", PATH);
        env.put("LC_ALL", "C");
        env.put("LANG", "C");
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new KernelMountException(MountFailure.NOT_AVAILABLE_ON_NODE, argv, -1, e.getMessage(), false,
                    "could not be started");
        }
        Output stdout = Output.read(process.getInputStream(), "stdout");
        Output stderr = Output.read(process.getErrorStream(), "stderr");
        boolean finished;
        try {
            finished = process.waitFor(deadline.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while mounting " + request.source());
        }
        if (!finished) {
            kill(process);
            undoLateMount(request.stagingPath());
            throw new KernelMountException(MountFailure.GATEWAY_UNREACHABLE, argv, -1,
                    stderr.text() + "\n" + stdout.text(), true, "did not finish within " + deadline.toMillis()
                    + " ms and was killed with its process group");
        }
        int exit = process.exitValue();
        if (exit == 0) {
            return;
        }
        String output = (stderr.text() + "\n" + stdout.text()).strip();
        throw new KernelMountException(MountFailure.classify(exit, output, MountPrivilege.permitted()), argv, exit,
                output, false, null);
    }

    /** Unmounts the staging mount with {@link Teardown#unmount}; the directory stays (CSI: the CO owns it). */
    @Override
    public Teardown.Result unstage(Path stagingPath) throws IOException {
        return teardown.unmount(stagingPath);
    }

    /** SIGKILLs the command's whole group (setsid made the child its leader) and reaps the child. */
    private static void kill(Process process) {
        long leader = process.pid();
        process.destroyForcibly();
        if (!ProcessGroup.killAll(leader, KILL_WAIT)) {
            LOG.warning(LogLine.event("mount_kill").with("pgid", leader)
                    .with("survivors", ProcessGroup.members(leader)).toString());
        }
        try {
            process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A mount(2) already under way when its command was killed can still complete: do not leave it behind. */
    private void undoLateMount(Path stagingPath) {
        try {
            if (MountTable.read().isMountPoint(stagingPath)) {
                Teardown.Result undone = teardown.unmount(stagingPath);
                LOG.warning(LogLine.event("late_mount_undone").with("staging_path", stagingPath)
                        .with("teardown", undone.step().label()).toString());
            }
        } catch (IOException e) {
            LOG.warning(LogLine.event("late_mount_undo_failed").with("staging_path", stagingPath)
                    .with("error", e.getMessage()).toString());
        }
    }

    /** A process output stream, drained on a daemon thread into a bounded buffer. */
    private static final class Output {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final Thread reader;

        private Output(InputStream in, String name) {
            reader = Thread.ofPlatform().daemon().name("gateway-csi-mount-" + name).stackSize(128 * 1024)
                    .start(() -> drain(in));
        }

        static Output read(InputStream in, String name) {
            return new Output(in, name);
        }

        private void drain(InputStream in) {
            byte[] chunk = new byte[4096];
            try (in) {
                int n;
                while ((n = in.read(chunk)) >= 0) {
                    synchronized (bytes) {
                        if (bytes.size() < KernelMountException.MAX_OUTPUT * 4) {
                            bytes.write(chunk, 0, n);
                        }
                    }
                }
            } catch (IOException e) {
                // the stream closes when the process dies: keep what was read
            }
        }

        /**
         * What was read, waiting briefly for the end of the stream (a process that escaped the group could
         * hold it open forever).
         */
        String text() {
            try {
                reader.join(OUTPUT_WAIT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
