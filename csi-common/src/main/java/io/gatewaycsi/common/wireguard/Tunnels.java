package io.gatewaycsi.common.wireguard;

import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.volume.WireGuardTunnel;
import java.io.File;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The WireGuard tunnels of one process (the node plugin, or the controller in its own pod network namespace):
 * one interface per gateway peer ({@link WireGuardTunnel#interfaceName()}), brought up (or reused) when a user
 * (a staging path) needs it, routing only the gateway's tunnel address, and removed when its last user lets go.
 *
 * <p>Implementation: kernel WireGuard where {@code ip link add … type wireguard} works, else Debian's
 * {@code wireguard-go} (userspace, over /dev/net/tun), started with setsid(1) in a session of its own so that it
 * outlives the process that started it (a node-plugin restart leaves the tunnel and the mounts over it alone);
 * the next process adopts it from the state file. Keys reach wg(8) on its standard input only: never on a
 * command line, in a file, a log line or an error.
 *
 * <p>State: one properties file per interface in the state directory (mode 0700): peer, endpoint, route,
 * implementation, wireguard-go's PID, a fingerprint of the configuration (a digest; a rotated Secret changes
 * it, so the next acquire reconfigures the interface) and the users. Calls are serialized.
 */
public final class Tunnels {

    private static final Logger LOG = Logger.getLogger(Tunnels.class.getName());
    /** The MTU of a tunnel interface: wg-quick's default for an IPv4 underlay of 1500 bytes (1500 - 80). */
    public static final int MTU = 1420;
    /** Seconds between keepalives: keeps NAT mappings open, and the first one starts the handshake at once. */
    static final int KEEPALIVE_SECONDS = 25;
    private static final String WIREGUARD_GO = "wireguard-go";
    private static final Path UAPI_DIR = Path.of("/var/run/wireguard");

    private final Path dir;
    private final Duration deadline;
    private final Duration handshakeWait;
    private final boolean kernelAllowed;

    /**
     * @param dir           where the tunnels are recorded (created 0700)
     * @param deadline      of each ip(8)/wg(8) run
     * @param handshakeWait how long a new tunnel may take to complete its first handshake before acquire fails
     * @param kernelAllowed try kernel WireGuard first (false: always wireguard-go)
     */
    public Tunnels(Path dir, Duration deadline, Duration handshakeWait, boolean kernelAllowed) throws IOException {
        this.dir = dir;
        this.deadline = deadline;
        this.handshakeWait = handshakeWait;
        this.kernelAllowed = kernelAllowed;
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    /**
     * A recorded tunnel.
     *
     * @param interfaceName  e.g. {@code gcsi-1a2b3c4d5e}
     * @param peerPublicKey  the gateway's public key
     * @param endpoint       the gateway's {@code host:port}
     * @param gatewayRoute   the one route through it, {@code a.b.c.d/32}
     * @param implementation {@code kernel} or {@code wireguard-go}
     * @param pid            wireguard-go's PID, 0 for kernel WireGuard
     * @param fingerprint    {@link WireGuardTunnel#fingerprint()} of the configuration in force
     * @param users          who needs it (staging paths, or {@code controller})
     */
    public record Recorded(String interfaceName, String peerPublicKey, String endpoint, String gatewayRoute,
                           String implementation, long pid, String fingerprint, Set<String> users) {
    }

    /**
     * Brings up (or reuses) the tunnel and records {@code user} as one of its users.
     *
     * @return the tunnel as now recorded
     * @throws TunnelException when the interface cannot be made or configured, or no handshake completes within
     *                         the wait (the message says which and what to check)
     */
    public synchronized Recorded acquire(WireGuardTunnel tunnel, String user) throws IOException {
        String name = tunnel.interfaceName();
        Optional<Recorded> recorded = read(name);
        boolean exists = linkExists(name);
        String implementation = recorded.map(Recorded::implementation).orElse(null);
        long pid = recorded.map(Recorded::pid).orElse(0L);
        boolean created = false;
        if (!exists) {
            if (kernelAllowed && createKernel(name)) {
                implementation = "kernel";
                pid = 0;
            } else {
                pid = startUserspace(name);
                implementation = WIREGUARD_GO;
            }
            created = true;
        } else if (implementation == null) {
            // Made by another process of this network namespace (the controller beside a node plugin), or a
            // record lost: wireguard-go has its UAPI socket, kernel WireGuard has none.
            implementation = Files.exists(UAPI_DIR.resolve(name + ".sock")) ? WIREGUARD_GO : "kernel";
        }
        Set<String> users = new LinkedHashSet<>(recorded.map(Recorded::users).orElse(Set.of()));
        boolean reconfigure = created || recorded.isEmpty() || !recorded.get().fingerprint().equals(tunnel.fingerprint());
        try {
            if (reconfigure) {
                configure(name, tunnel);
            }
            ip("route", "replace", tunnel.gatewayRoute(), "dev", name);
            awaitHandshake(name, tunnel);
        } catch (IOException | RuntimeException e) {
            if (users.isEmpty()) {
                // Nobody else uses it: leave nothing behind.
                delete(name, implementation, pid);
                Files.deleteIfExists(file(name));
            }
            throw e;
        }
        users.add(user);
        Recorded now = new Recorded(name, tunnel.peerPublicKey(), tunnel.endpoint(), tunnel.gatewayRoute(),
                implementation, pid, tunnel.fingerprint(), users);
        write(now);
        if (reconfigure) {
            LOG.info(LogLine.event(created ? "tunnel_up" : "tunnel_reconfigured").with("interface", name)
                    .with("implementation", implementation).with("peer", tunnel.peerPublicKey())
                    .with("endpoint", tunnel.endpoint()).with("route", tunnel.gatewayRoute())
                    .with("address", tunnel.address()).toString());
        }
        return now;
    }

    /**
     * Drops {@code user} from every tunnel; a tunnel left without users is removed (its interface deleted, its
     * wireguard-go gone with it).
     *
     * @return the interfaces removed
     */
    public synchronized List<String> release(String user) throws IOException {
        List<String> removed = new ArrayList<>();
        for (Recorded recorded : all()) {
            if (!recorded.users().contains(user)) {
                continue;
            }
            Set<String> users = new LinkedHashSet<>(recorded.users());
            users.remove(user);
            if (users.isEmpty()) {
                delete(recorded.interfaceName(), recorded.implementation(), recorded.pid());
                Files.deleteIfExists(file(recorded.interfaceName()));
                removed.add(recorded.interfaceName());
                LOG.info(LogLine.event("tunnel_down").with("interface", recorded.interfaceName())
                        .with("peer", recorded.peerPublicKey()).toString());
            } else {
                write(new Recorded(recorded.interfaceName(), recorded.peerPublicKey(), recorded.endpoint(),
                        recorded.gatewayRoute(), recorded.implementation(), recorded.pid(), recorded.fingerprint(),
                        users));
            }
        }
        return removed;
    }

    /** Every recorded tunnel; damaged records are logged and skipped. */
    public synchronized List<Recorded> all() throws IOException {
        List<Recorded> all = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.properties")) {
            for (Path file : files) {
                String name = file.getFileName().toString().replace(".properties", "");
                read(name).ifPresent(all::add);
            }
        }
        return all;
    }

    /**
     * What a tunnel looks like now (wg(8) {@code show … latest-handshakes} and {@code transfer}, never
     * {@code dump}, which prints the private key).
     *
     * @param latestHandshake when the latest handshake completed, empty when none did
     * @param receivedBytes   bytes received from the peer
     * @param sentBytes       bytes sent to the peer
     * @param mtu             the interface's MTU, -1 when it is gone
     * @param routeDevice     the device {@code ip route get <gateway>} names, empty when none
     */
    public record Status(Recorded tunnel, boolean present, Optional<Instant> latestHandshake, long receivedBytes,
                         long sentBytes, int mtu, String routeDevice) {
    }

    /** The status of {@code recorded} now. */
    public Status status(Recorded recorded) throws IOException {
        String name = recorded.interfaceName();
        if (!linkExists(name)) {
            return new Status(recorded, false, Optional.empty(), 0, 0, -1, "");
        }
        Optional<Instant> handshake = Optional.empty();
        Command handshakes = wg("show", name, "latest-handshakes");
        for (String line : handshakes.output().split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && f[0].equals(recorded.peerPublicKey()) && f[1].matches("\\d+") && !f[1].equals("0")) {
                handshake = Optional.of(Instant.ofEpochSecond(Long.parseLong(f[1])));
            }
        }
        long received = 0;
        long sent = 0;
        for (String line : wg("show", name, "transfer").output().split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 3 && f[0].equals(recorded.peerPublicKey())) {
                received = Long.parseLong(f[1]);
                sent = Long.parseLong(f[2]);
            }
        }
        int mtu = -1;
        try {
            mtu = Integer.parseInt(Files.readString(Path.of("/sys/class/net", name, "mtu")).strip());
        } catch (IOException | NumberFormatException e) {
            // gone meanwhile
        }
        String gateway = recorded.gatewayRoute().substring(0, recorded.gatewayRoute().indexOf('/'));
        Command route = Command.run(List.of("ip", "-o", "route", "get", gateway), null, deadline);
        String device = "";
        String[] words = route.output().strip().split("\\s+");
        for (int i = 0; i + 1 < words.length; i++) {
            if (words[i].equals("dev")) {
                device = words[i + 1];
                break;
            }
        }
        return new Status(recorded, true, handshake, received, sent, mtu, device);
    }

    // ------------------------------------------------------------------------------------------------------

    private boolean linkExists(String name) throws IOException {
        return Command.run(List.of("ip", "link", "show", "dev", name), null, deadline).ok();
    }

    /** {@code ip link add … type wireguard}; false when this kernel has no WireGuard (then wireguard-go). */
    private boolean createKernel(String name) throws IOException {
        Command add = Command.run(List.of("ip", "link", "add", "dev", name, "type", "wireguard"), null, deadline);
        if (add.ok()) {
            return true;
        }
        String why = add.output();
        if (why.contains("Unknown device type") || why.contains("not supported") || why.contains("Not supported")) {
            return false;
        }
        throw new TunnelException("could not create WireGuard interface " + name + ": `" + String.join(" ", add.argv())
                + "` said: " + add.summary() + "; the node plugin needs CAP_NET_ADMIN");
    }

    /** Starts wireguard-go in a session of its own (it outlives us) and waits for its interface and socket. */
    private long startUserspace(String name) throws IOException {
        Path log = dir.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(List.of("setsid", WIREGUARD_GO, name))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().clear();
        builder.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        builder.environment().put("WG_PROCESS_FOREGROUND", "1");
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new TunnelException("this kernel has no WireGuard and " + WIREGUARD_GO + " could not be started ("
                    + e.getMessage() + "); install Debian's wireguard-go in the node plugin's image, or load the"
                    + " kernel's wireguard module");
        }
        long until = System.nanoTime() + deadline.toNanos();
        while (!(linkExists(name) && Files.exists(UAPI_DIR.resolve(name + ".sock")))) {
            if (!process.isAlive()) {
                throw new TunnelException(WIREGUARD_GO + " exited (" + process.exitValue() + ") before making " + name
                        + ": " + tail(log) + "; it needs /dev/net/tun and CAP_NET_ADMIN");
            }
            if (System.nanoTime() - until > 0) {
                process.destroyForcibly();
                throw new TunnelException(WIREGUARD_GO + " did not make " + name + " within " + deadline.toMillis()
                        + " ms: " + tail(log));
            }
            sleep(50);
        }
        return process.pid();
    }

    private static String tail(Path log) {
        try {
            String text = Files.readString(log).strip();
            return text.isEmpty() ? "(no output)" : text.substring(Math.max(0, text.length() - 300));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private void configure(String name, WireGuardTunnel tunnel) throws IOException {
        // Keys on standard input only.
        wgSet(tunnel.privateKey(), "set", name, "private-key", "/dev/stdin");
        wgSet(tunnel.presharedKey().orElse(null), "set", name, "peer", tunnel.peerPublicKey(),
                "preshared-key", tunnel.presharedKey().isPresent() ? "/dev/stdin" : "/dev/null",
                "endpoint", tunnel.endpoint(), "allowed-ips", tunnel.gatewayRoute(),
                "persistent-keepalive", Integer.toString(KEEPALIVE_SECONDS));
        // Only this peer: a peer left from an earlier configuration would keep its route.
        for (String line : wg("show", name, "peers").output().split("\n")) {
            String peer = line.strip();
            if (!peer.isEmpty() && !peer.equals(tunnel.peerPublicKey())) {
                wgSet(null, "set", name, "peer", peer, "remove");
            }
        }
        ip("address", "flush", "dev", name);
        ip("address", "add", tunnel.address(), "dev", name);
        ip("link", "set", "dev", name, "mtu", Integer.toString(MTU), "up");
    }

    private void awaitHandshake(String name, WireGuardTunnel tunnel) throws IOException {
        long until = System.nanoTime() + handshakeWait.toNanos();
        while (true) {
            for (String line : wg("show", name, "latest-handshakes").output().split("\n")) {
                String[] f = line.strip().split("\\s+");
                if (f.length == 2 && f[0].equals(tunnel.peerPublicKey()) && f[1].matches("[1-9]\\d*")) {
                    return;
                }
            }
            if (System.nanoTime() - until > 0) {
                String publicKey = wg("show", name, "public-key").output().strip();
                throw new TunnelException("no WireGuard handshake with the gateway (peer " + tunnel.peerPublicKey()
                        + " at " + tunnel.endpoint() + ") within " + handshakeWait.toSeconds() + " s over " + name
                        + ": check that UDP to " + tunnel.endpoint() + " is open, that the gateway's operator added"
                        + " this side's public key " + publicKey + " with AllowedIPs " + tunnel.address() + ", that"
                        + " wireguardPeerPublicKey is the gateway's and that the preshared key (if any) matches");
            }
            sleep(200);
        }
    }

    private void delete(String name, String implementation, long pid) throws IOException {
        if (linkExists(name)) {
            Command del = Command.run(List.of("ip", "link", "del", "dev", name), null, deadline);
            if (!del.ok() && linkExists(name)) {
                throw new TunnelException("could not delete WireGuard interface " + name + ": " + del.summary());
            }
        }
        if (WIREGUARD_GO.equals(implementation) && pid > 0) {
            // wireguard-go exits when its interface goes; make sure, and only if it is still ours.
            long until = System.nanoTime() + deadline.toNanos();
            while (running(pid)) {
                if (System.nanoTime() - until > 0) {
                    ProcessHandle.of(pid).filter(h -> h.info().command().map(c -> c.endsWith(WIREGUARD_GO))
                            .orElse(false)).ifPresent(ProcessHandle::destroyForcibly);
                    break;
                }
                sleep(50);
            }
        }
    }

    /** Whether {@code pid} runs (a zombie, dead and waiting for its parent, does not): proc(5) stat field 3. */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private Command ip(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(Arrays.asList(args));
        Command run = Command.run(argv, null, deadline);
        if (!run.ok()) {
            throw new TunnelException("`" + String.join(" ", argv) + "` failed: " + run.summary());
        }
        return run;
    }

    private Command wg(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("wg"));
        argv.addAll(Arrays.asList(args));
        Command run = Command.run(argv, null, deadline);
        if (!run.ok()) {
            throw new TunnelException("`" + String.join(" ", argv) + "` failed: " + run.summary()
                    + (run.output().contains("No such file") ? "; is wireguard-tools installed?" : ""));
        }
        return run;
    }

    /** wg(8) with a key (or nothing) on standard input; the key is never in argv or in a message. */
    private void wgSet(String key, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("wg"));
        argv.addAll(Arrays.asList(args));
        Command run = Command.run(argv, key == null ? null : (key + "\n").getBytes(StandardCharsets.US_ASCII), deadline);
        if (!run.ok()) {
            String said = key == null ? run.summary() : run.summary().replace(key, "<key>");
            throw new TunnelException("`" + String.join(" ", argv) + "` failed: " + said);
        }
    }

    private Optional<Recorded> read(String name) {
        Path file = file(name);
        try {
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
            String users = p.getProperty("users", "");
            return Optional.of(new Recorded(name, p.getProperty("peer"), p.getProperty("endpoint"),
                    p.getProperty("route"), p.getProperty("implementation"), Long.parseLong(p.getProperty("pid", "0")),
                    p.getProperty("fingerprint", ""), users.isEmpty() ? Set.of()
                            : new LinkedHashSet<>(Arrays.asList(users.split("\n")))));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.warning(LogLine.event("tunnel_record_damaged").with("file", file).with("error", e.getMessage()).toString());
            return Optional.empty();
        }
    }

    private void write(Recorded recorded) throws IOException {
        Properties p = new Properties();
        p.setProperty("peer", recorded.peerPublicKey());
        p.setProperty("endpoint", recorded.endpoint());
        p.setProperty("route", recorded.gatewayRoute());
        p.setProperty("implementation", recorded.implementation());
        p.setProperty("pid", Long.toString(recorded.pid()));
        p.setProperty("fingerprint", recorded.fingerprint());
        p.setProperty("users", String.join("\n", recorded.users()));
        StringWriter text = new StringWriter();
        p.store(text, "gateway-csi WireGuard tunnel (no keys: a digest of the configuration only)");
        Path file = file(recorded.interfaceName());
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(temporary, text.toString(), StandardCharsets.UTF_8);
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private Path file(String name) {
        return dir.resolve(name + ".properties");
    }

    private static void sleep(long millis) throws java.io.InterruptedIOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while bringing up a WireGuard tunnel");
        }
    }
}
