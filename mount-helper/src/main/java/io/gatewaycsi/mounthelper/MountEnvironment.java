package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.NfsClient;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;

/**
 * What every mount of one helper process shares.
 *
 * @param client opens gateway sessions
 * @param libfuse3 the libfuse3 shared library jfuse loads (set explicitly: Debian has no {@code libfuse3.so})
 * @param fuseCaller the FUSE caller lookup, or null
 * @param chunks the read-ahead buffers (bounded for the whole process)
 * @param prefetcher runs read-ahead fetches (platform threads)
 * @param connections the FUSE control file system, for aborting connections
 * @param helperIsRoot whether this process runs as root
 * @param readAheadChunks chunks prefetched per sequential stream
 * @param metrics the helper's metrics
 */
record MountEnvironment(NfsClient client, Path libfuse3, FuseCaller fuseCaller, ChunkPool chunks,
        ExecutorService prefetcher, FuseConnections connections, boolean helperIsRoot, int readAheadChunks,
        HelperMetrics metrics) {
}
