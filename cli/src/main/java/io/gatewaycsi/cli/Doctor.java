package io.gatewaycsi.cli;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.volume.MountOptions;
import io.gatewaycsi.common.volume.VolumeParameters;
import io.gatewaycsi.mounthelper.MountSemantics;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.HealthResponse;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.node.MountTable;
import io.gatewaycsi.nfs.NfsAttributes;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.NfsTarget;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What {@code gateway-csi doctor} checks: everything a staging mount of one gateway share needs on this node,
 * for each mount backend, and which backend a mount would use. Each check is one line with a verdict and, when
 * it fails, the fix. Nothing is mounted in the kernel; the gateway is reached with the user-space NFS client.
 */
final class Doctor {

    /**
     * One check's outcome: {@code fix} is empty when it passed, or, on a check that passed, what the user should
     * know and can do (a warning: the mount works, but not quite as asked).
     */
    record Check(String name, boolean ok, String detail, String fix) {
        /** Whether it passed with something to heed. */
        boolean warning() {
            return ok && !fix.isEmpty();
        }
    }

    /** The outcome of every check, and the verdict. */
    record Report(List<Check> checks, String backend, String verdict) {
        /** Whether a mount would work. */
        boolean mountable() {
            return backend != null;
        }
    }

    /** What to check. */
    record Request(String server, String share, String nfsVersion, List<String> mountOptions, Set<String> allowed,
                   String mountBackend, Endpoint helper, Duration timeout) {
    }

    /** Where the host facts live (replaceable in tests). */
    record Host(Path procFilesystems, List<Path> mountNfs, Path fuseDevice, Path procSelfStatus, Path mountinfo) {
        static Host real() {
            return new Host(Path.of("/proc/filesystems"), List.of(Path.of("/sbin/mount.nfs"),
                    Path.of("/usr/sbin/mount.nfs")), Path.of("/dev/fuse"), Path.of("/proc/self/status"),
                    MountTable.SELF_MOUNTINFO);
        }
    }

    private static final int CAP_SYS_ADMIN = 21;

    private final Host host;
    private final NfsClient client;

    Doctor(Host host, NfsClient client) {
        this.host = host;
        this.client = client;
    }

    Report run(Request request) {
        Map<String, Check> checks = new LinkedHashMap<>();
        MountSemantics semantics = null;
        Check options;
        List<String> kernelOptions = List.of();
        try {
            Map<String, String> parameters = new LinkedHashMap<>();
            parameters.put("server", request.server());
            parameters.put("share", request.share());
            if (request.nfsVersion() != null) {
                parameters.put("nfsVersion", request.nfsVersion());
            }
            VolumeParameters parsed = VolumeParameters.parse(parameters, VolumeParameters.Source.VOLUME_CONTEXT);
            MountOptions resolved = MountOptions.resolve(parsed, request.mountOptions(), request.allowed());
            kernelOptions = resolved.asStrings();
            try {
                semantics = MountSemantics.parse(resolved.asStrings(), false);
                options = new Check("mount options", true, String.join(",", kernelOptions) + " (mount helper: "
                        + String.join(",", semantics.effectiveOptions())
                        + (semantics.ignoredOptions().isEmpty() ? "" : "; ignores " + String.join(",",
                        semantics.ignoredOptions())) + ")", "");
            } catch (IllegalArgumentException e) {
                options = new Check("mount options", true, String.join(",", kernelOptions) + " (valid for the kernel;"
                        + " the mount helper"
                        + " refuses them: " + e.getMessage() + ")", "");
                checks.put("helper options", new Check("helper options", false, e.getMessage(),
                        "use options the mount helper can honour, or a node with kernel NFS"));
            }
        } catch (IllegalArgumentException e) {
            options = new Check("mount options", false, e.getMessage(),
                    "fix the StorageClass parameters and mountOptions (see `gateway-csi parameters`)");
        }
        checks.put("mount options", options);
        checks.put("kernel NFS", kernelNfs());
        checks.put("mount.nfs", mountNfs());
        checks.put("mount privilege", privilege());
        checks.put("/dev/fuse", fuse());
        checks.put("mount helper", helper(request.helper(), request.timeout()));
        checks.put("gateway over NFS", options.ok()
                ? gateway(request, semantics) : new Check("gateway over NFS", false, "not tried: the options are invalid",
                        "fix the mount options first"));
        if (options.ok() && checks.get("kernel NFS").ok() && !request.mountBackend().equals("sidecar")) {
            checks.put("kernel sharing", kernelSharing(request, kernelOptions));
            KernelBehaviour.softTiming(kernelOptions).ifPresent(check -> checks.put("soft timing", check));
        }
        List<Check> ordered = new ArrayList<>();
        for (String name : new String[] {"mount options", "helper options", "kernel NFS", "mount.nfs", "mount privilege",
            "/dev/fuse", "mount helper", "gateway over NFS", "kernel sharing", "soft timing"}) {
            if (checks.containsKey(name)) {
                ordered.add(checks.get(name));
            }
        }
        boolean common = options.ok() && checks.get("gateway over NFS").ok();
        boolean kernel = common && checks.get("kernel NFS").ok() && checks.get("mount.nfs").ok()
                && checks.get("mount privilege").ok();
        boolean helper = common && semantics != null && checks.get("/dev/fuse").ok() && checks.get("mount helper").ok();
        String kernelWhy = whyNot(checks, "kernel NFS", "mount.nfs", "mount privilege");
        String mode = request.mountBackend();
        String backend;
        String verdict;
        if (!common) {
            backend = null;
            verdict = "no mount would work: " + whyNot(checks, "mount options", "gateway over NFS");
        } else if (mode.equals("kernel")) {
            backend = kernel ? "kernel" : null;
            verdict = kernel ? "a mount would work with the kernel NFS client (mountBackend=kernel)"
                    : "no mount would work: mountBackend=kernel never falls back, and the kernel cannot mount here ("
                            + kernelWhy + ")";
        } else if (mode.equals("sidecar")) {
            backend = helper ? "sidecar" : null;
            verdict = helper ? "a mount would work through the mount helper (mountBackend=sidecar)"
                    : "no mount would work: the mount helper cannot mount here (" + helperWhy(checks, semantics) + ")";
        } else if (kernel) {
            backend = "kernel";
            verdict = "a mount would work with the kernel NFS client";
        } else if (helper) {
            backend = "sidecar";
            verdict = "a mount would work through the mount helper (user-space NFS over FUSE), by fallback: "
                    + kernelWhy;
        } else {
            backend = null;
            verdict = "no mount would work: the kernel cannot mount here (" + kernelWhy + ") and neither can the"
                    + " mount helper (" + helperWhy(checks, semantics) + ")";
        }
        return new Report(ordered, backend, verdict);
    }

    private static String whyNot(Map<String, Check> checks, String... names) {
        List<String> reasons = new ArrayList<>();
        for (String name : names) {
            Check check = checks.get(name);
            if (check != null && !check.ok()) {
                reasons.add(name + ": " + check.detail());
            }
        }
        return String.join("; ", reasons);
    }

    private static String helperWhy(Map<String, Check> checks, MountSemantics semantics) {
        String why = whyNot(checks, "helper options", "/dev/fuse", "mount helper");
        return why.isEmpty() && semantics == null ? "the options are invalid for it" : why;
    }

    // ---------------------------------------------------------------------------------------------

    private Check kernelNfs() {
        String text;
        try {
            text = Files.readString(host.procFilesystems(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return new Check("kernel NFS", false, "cannot read " + host.procFilesystems() + ": " + e.getMessage(),
                    "run the doctor on the node (or in the node plugin's container), where /proc is mounted");
        }
        List<String> found = new ArrayList<>();
        for (String line : text.split("\n")) {
            String fs = line.strip();
            int tab = fs.lastIndexOf('\t');
            fs = tab >= 0 ? fs.substring(tab + 1) : fs.replaceFirst("^nodev\\s+", "");
            if (fs.equals("nfs") || fs.equals("nfs4")) {
                found.add(fs);
            }
        }
        if (found.isEmpty()) {
            return new Check("kernel NFS", false, host.procFilesystems() + " lists neither nfs nor nfs4",
                    "load the kernel's NFS client on the node (modprobe nfs nfsv4; on some distributions the modules"
                            + " come with linux-modules-extra), or let the mount helper mount (mountBackend auto or"
                            + " sidecar)");
        }
        return new Check("kernel NFS", true, String.join(" and ", found) + " in " + host.procFilesystems(), "");
    }

    /** What a kernel mount of the share would share with the kernel NFS mounts already on this node. */
    private Check kernelSharing(Request request, List<String> kernelOptions) {
        try {
            MountTable table = MountTable.read(host.mountinfo(), MountTable.DEFAULT_DEADLINE);
            return KernelBehaviour.sharing(request.server(), request.share(), kernelOptions, table);
        } catch (IOException e) {
            return new Check("kernel sharing", true, "cannot read " + host.mountinfo() + ": " + e.getMessage(),
                    "run the doctor in the node plugin's container, where the node's NFS mounts are visible");
        }
    }

    private Check mountNfs() {
        for (Path candidate : host.mountNfs()) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return new Check("mount.nfs", true, candidate.toString(), "");
            }
        }
        return new Check("mount.nfs", false, "none of " + host.mountNfs() + " exists",
                "install nfs-common (Debian/Ubuntu) or nfs-utils in the node plugin's image");
    }

    private Check privilege() {
        try {
            for (String line : Files.readAllLines(host.procSelfStatus(), StandardCharsets.UTF_8)) {
                if (line.startsWith("CapEff:")) {
                    long caps = Long.parseUnsignedLong(line.substring(7).strip(), 16);
                    if ((caps & (1L << CAP_SYS_ADMIN)) != 0) {
                        return new Check("mount privilege", true, "CAP_SYS_ADMIN is effective", "");
                    }
                    return new Check("mount privilege", false, "CAP_SYS_ADMIN is not effective (CapEff "
                            + line.substring(7).strip() + ")",
                            "run the node plugin privileged (securityContext.privileged: true)");
                }
            }
        } catch (IOException | RuntimeException e) {
            return new Check("mount privilege", false, "cannot read " + host.procSelfStatus() + ": " + e.getMessage(),
                    "run the doctor on the node or in the node plugin's container");
        }
        return new Check("mount privilege", false, "no CapEff line in " + host.procSelfStatus(),
                "run the doctor on Linux");
    }

    private Check fuse() {
        Path device = host.fuseDevice();
        if (!Files.exists(device, LinkOption.NOFOLLOW_LINKS)) {
            return new Check("/dev/fuse", false, device + " does not exist",
                    "give the mount helper container the FUSE device (a hostPath /dev/fuse, privileged) and load the"
                            + " fuse module on the node (modprobe fuse)");
        }
        String kind;
        try {
            Object mode = Files.getAttribute(device, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            kind = ((Integer) mode & 0170000) == 0020000 ? "character device" : "not a character device";
        } catch (IOException | UnsupportedOperationException | ClassCastException e) {
            kind = "of unknown type";
        }
        if (!kind.equals("character device")) {
            return new Check("/dev/fuse", false, device + " is " + kind, "mount the host's /dev/fuse there");
        }
        if (!Files.isReadable(device) || !Files.isWritable(device)) {
            return new Check("/dev/fuse", false, device + " is not readable and writable by this user",
                    "run the mount helper privileged (or with the device allowed by the container runtime)");
        }
        return new Check("/dev/fuse", true, "character device, readable and writable", "");
    }

    private Check helper(Endpoint endpoint, Duration timeout) {
        if (endpoint.isUnix() && !Files.exists(endpoint.socketPath())) {
            return new Check("mount helper", false, endpoint + ": no socket there",
                    "start the mount helper (the node plugin pod's mount-helper container, or `gateway-csi"
                            + " mount-helper`) and pass its socket with --mount-helper-endpoint");
        }
        ManagedChannel channel = CsiChannels.open(endpoint);
        try {
            HealthResponse health = MountHelperGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(Math.min(timeout.toMillis(), 5000), TimeUnit.MILLISECONDS)
                    .health(HealthRequest.getDefaultInstance());
            if (!health.getReady()) {
                return new Check("mount helper", false, endpoint + " answers Health: not ready: " + health.getMessage(),
                        "see the message; the mount helper needs /dev/fuse and libfuse3");
            }
            return new Check("mount helper", true, endpoint + " answers Health: ready", "");
        } catch (StatusRuntimeException e) {
            return new Check("mount helper", false, endpoint + " did not answer Health: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() != null ? " (" + e.getStatus().getDescription() + ")" : ""),
                    "check that the mount helper runs and listens on that socket");
        } finally {
            CsiChannels.close(channel);
        }
    }

    private Check gateway(Request request, MountSemantics semantics) {
        String what = request.server() + ":" + request.share();
        NfsTarget target;
        try {
            target = new NfsTarget(request.server(), semantics == null ? 0 : semantics.port(), request.share(),
                    semantics == null ? io.gatewaycsi.nfs.NfsVersion.V4 : semantics.version());
        } catch (IllegalArgumentException e) {
            return new Check("gateway over NFS", false, e.getMessage(), "check --gateway");
        }
        long started = System.nanoTime();
        FutureTask<NfsAttributes> probe = new FutureTask<>(() -> {
            try (NfsSession session = client.connect(target, NfsSessionOptions.defaults()
                    .withTimeout(request.timeout()).withMaxContexts(1))) {
                return session.stat("/");
            }
        });
        Thread.ofPlatform().daemon().name("doctor-nfs").start(probe);
        try {
            NfsAttributes root = probe.get(request.timeout().toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            if (!root.isDirectory()) {
                return new Check("gateway over NFS", false, what + " is not a directory", "check --gateway's share");
            }
            return new Check("gateway over NFS", true, String.format(Locale.ROOT,
                    "mounted %s (%s, user-space NFS client) and stat / in %d ms: a directory, mode %04o",
                    what, target.version(), ms, root.mode()), "");
        } catch (TimeoutException e) {
            probe.cancel(true);
            return new Check("gateway over NFS", false, what + " did not answer within " + request.timeout().toSeconds()
                    + " s", "check that the gateway is up and reachable from this node on TCP port 2049");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String fix = cause instanceof NfsException n ? fixFor(n) : "see the error";
            return new Check("gateway over NFS", false, what + ": " + cause.getMessage(), fix);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Check("gateway over NFS", false, "interrupted", "");
        }
    }

    private static String fixFor(NfsException e) {
        if (e.isUnreachable() || e.isTimeout()) {
            return "check that the gateway is up and reachable from this node on TCP port 2049";
        }
        if (e.isPermissionDenied()) {
            return "export the share to this node's address (and without root squashing for the mount helper)";
        }
        if (e.isNotFound()) {
            return "check the share: the gateway exports no such path";
        }
        return "see the error";
    }
}
