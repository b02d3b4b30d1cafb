package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The processes of a process group and session this driver created (with setsid(1), whose leader's PID is
 * the group's and the session's ID), found in /proc/[pid]/stat (proc(5): field 5 {@code pgrp}, field 6
 * {@code session}), and killed with SIGKILL. Only processes whose group or session is the given leader's are
 * touched; zombies (state Z, already dead) are not counted.
 */
public final class ProcessGroup {

    private static final Path PROC = Path.of("/proc");

    private ProcessGroup() {
    }

    /** The live processes whose process group or session ID is {@code leader}. */
    public static List<Long> members(long leader) {
        List<Long> members = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC, "[0-9]*")) {
            for (Path entry : entries) {
                long pid;
                try {
                    pid = Long.parseLong(entry.getFileName().toString());
                } catch (NumberFormatException e) {
                    continue;
                }
                Stat stat = stat(pid);
                if (stat != null && stat.state != 'Z' && stat.state != 'X'
                        && (stat.pgrp == leader || stat.session == leader)) {
                    members.add(pid);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        return members;
    }

    /**
     * SIGKILLs every member of {@code leader}'s group and session, again until none is left (a member may fork
     * while being killed) or {@code wait} has passed.
     *
     * @return whether no member is left
     */
    public static boolean killAll(long leader, Duration wait) {
        long until = System.nanoTime() + wait.toNanos();
        while (true) {
            List<Long> members = members(leader);
            if (members.isEmpty()) {
                return true;
            }
            for (long pid : members) {
                // ProcessHandle checks the process's start time, so a PID reused meanwhile is not hit.
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            if (System.nanoTime() - until > 0) {
                return members(leader).isEmpty();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return members(leader).isEmpty();
            }
        }
    }

    /** The process group ID of {@code pid}, if it exists. */
    public static OptionalLong groupOf(long pid) {
        Stat stat = stat(pid);
        return stat == null ? OptionalLong.empty() : OptionalLong.of(stat.pgrp);
    }

    /** Whether {@code pid} exists and is not a zombie. */
    public static boolean isRunning(long pid) {
        Stat stat = stat(pid);
        return stat != null && stat.state != 'Z' && stat.state != 'X';
    }

    private record Stat(char state, long pgrp, long session) {
    }

    /** Fields 3, 5 and 6 of /proc/[pid]/stat; the command name (field 2) may hold spaces and parentheses. */
    private static Stat stat(long pid) {
        String text;
        try {
            text = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return null;
        }
        int close = text.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        String[] f = text.substring(close + 2).split(" ");
        if (f.length < 4) {
            return null;
        }
        try {
            return new Stat(f[0].charAt(0), Long.parseLong(f[2]), Long.parseLong(f[3]));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
