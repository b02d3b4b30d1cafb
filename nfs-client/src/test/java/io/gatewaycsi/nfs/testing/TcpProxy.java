package io.gatewaycsi.nfs.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy to the gateway for fault injection without touching the shared gateway: each client
 * connection gets its own upstream connection, and any one of them (or all) can be frozen (bytes are held,
 * so calls on it hang until their timeout) or broken (both sockets closed). Listens on 127.0.0.1.
 */
public final class TcpProxy implements AutoCloseable {
    /** One proxied client connection. */
    public static final class Connection {
        private final Socket client;
        private final Socket upstream;
        private final RecordCounter requests = new RecordCounter();
        private volatile boolean frozen;

        private Connection(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        /** How many complete RPC records (ONC RPC record marking, RFC 5531 §11) the client has sent. */
        public long requests() {
            return requests.records;
        }

        /** Stops forwarding in both directions: the peer sees silence, as in a network partition. */
        public void freeze() {
            frozen = true;
        }

        /** Resumes forwarding. */
        public void thaw() {
            frozen = false;
        }

        /** Closes both sides. */
        public void breakConnection() {
            close(client);
            close(upstream);
        }

        public boolean isClosed() {
            return client.isClosed();
        }
    }

    private final ServerSocket server;
    private final InetSocketAddress upstreamAddress;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private volatile boolean freezeNew;

    /** Starts a proxy to {@code host:port}. */
    public TcpProxy(String host, int port) throws IOException {
        this.upstreamAddress = new InetSocketAddress(host, port);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("proxy-accept").start(this::acceptLoop);
    }

    /** The local port clients connect to. */
    public int port() {
        return server.getLocalPort();
    }

    /** Every connection accepted so far, in order. */
    public List<Connection> connections() {
        return List.copyOf(connections);
    }

    /** Freezes every current connection and every one accepted from now on. */
    public void freezeAll() {
        freezeNew = true;
        connections.forEach(Connection::freeze);
    }

    /** Thaws every connection and stops freezing new ones. */
    public void thawAll() {
        freezeNew = false;
        connections.forEach(Connection::thaw);
    }

    /** Breaks every current connection. */
    public void breakAll() {
        connections.forEach(Connection::breakConnection);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            Socket upstream = new Socket();
            try {
                upstream.connect(upstreamAddress, 5000);
            } catch (IOException e) {
                close(client);
                close(upstream);
                continue;
            }
            Connection c = new Connection(client, upstream);
            c.frozen = freezeNew;
            connections.add(c);
            Thread.ofVirtual().start(() -> pump(c, client, upstream, c.requests));
            Thread.ofVirtual().start(() -> pump(c, upstream, client, null));
        }
    }

    /**
     * Follows the record marking of one direction: each fragment starts with a 4-byte header, the fragment's
     * length in the low 31 bits and the last-fragment flag in the top bit.
     */
    private static final class RecordCounter {
        private volatile long records;
        private long remaining;
        private int headerBytes;
        private int header;

        void feed(byte[] buf, int n) {
            int i = 0;
            while (i < n) {
                if (remaining > 0) {
                    int skip = (int) Math.min(remaining, n - i);
                    remaining -= skip;
                    i += skip;
                    continue;
                }
                header = (header << 8) | (buf[i++] & 0xff);
                if (++headerBytes == 4) {
                    remaining = header & 0x7fffffffL;
                    if (header < 0) {
                        records++;
                    }
                    headerBytes = 0;
                    header = 0;
                }
            }
        }
    }

    private static void pump(Connection c, Socket from, Socket to, RecordCounter counter) {
        byte[] buf = new byte[64 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                while (c.frozen && !from.isClosed()) {
                    Thread.sleep(10);
                }
                if (counter != null) {
                    counter.feed(buf, n);
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // connection broken
        } finally {
            close(from);
            close(to);
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        breakAll();
    }
}
