/**
 * The mount helper (DESIGN §2, §3): a sidecar that mounts gateway shares in user space for nodes that cannot
 * mount NFS in the kernel, serving each as a FUSE file system.
 *
 * <ul>
 *   <li>{@link io.gatewaycsi.mounthelper.MountHelperService}: the gRPC API (Mount, Unmount, List, Health)
 *       the node plugin calls.</li>
 *   <li>{@link io.gatewaycsi.mounthelper.GatewayMount}: one staging mount (session + FUSE mount + teardown).</li>
 *   <li>{@link io.gatewaycsi.mounthelper.GatewayFileSystem}: the FUSE operations over one NFS session.</li>
 *   <li>{@link io.gatewaycsi.mounthelper.MountSemantics}: nfs(5) mount options → what the mount does.</li>
 *   <li>{@link io.gatewaycsi.mounthelper.GatewayCaller}: hard/soft retry semantics of gateway calls, with
 *       {@link io.gatewaycsi.mounthelper.GatewayHealth}.</li>
 *   <li>{@link io.gatewaycsi.mounthelper.ReadAhead} with {@link io.gatewaycsi.mounthelper.ChunkPool}:
 *       sequential prefetch with bounded memory.</li>
 *   <li>{@link io.gatewaycsi.mounthelper.VolumePaths}: FUSE paths → share paths, never above the volume.</li>
 *   <li>{@link io.gatewaycsi.mounthelper.MountTable}, {@link io.gatewaycsi.mounthelper.FuseConnections},
 *       {@link io.gatewaycsi.mounthelper.LinuxSyscalls}, {@link io.gatewaycsi.mounthelper.Blocking}: the
 *       mount table, FUSE connection abort, umount2/mount, and deadlines for blocking calls.</li>
 * </ul>
 */
package io.gatewaycsi.mounthelper;
