package io.gatewaycsi.nfs;

/** {@link NfsClient} over libnfs 4.0. */
final class LibnfsClient implements NfsClient {
    static final LibnfsClient INSTANCE = new LibnfsClient();

    private LibnfsClient() {
    }

    @Override
    public NfsSession connect(NfsTarget target, NfsSessionOptions options) throws NfsException {
        java.util.Objects.requireNonNull(target, "target");
        java.util.Objects.requireNonNull(options, "options");
        Libnfs lib;
        try {
            lib = Libnfs.get();
        } catch (UnsatisfiedLinkError e) {
            throw new NfsException("mount", null, target.spec(), Errno.ELIBACC, e.getMessage(), false, e);
        }
        LibnfsSession session = new LibnfsSession(lib, target, options);
        try {
            session.start();
        } catch (NfsException | RuntimeException e) {
            session.close();
            throw e;
        }
        return session;
    }
}
