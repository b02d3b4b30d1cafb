# syntax=docker/dockerfile:1
# gateway-csi: one image for every role; the arguments select it (the Helm chart's containers run
# `gateway-csi controller …`, `gateway-csi node …` and `gateway-csi mount-helper …`).
#   docker build -t gateway-csi:0.1.0 .
#   docker run --rm gateway-csi:0.1.0 controller --help
#
# The Maven build does the work (cli/pom.xml): it assembles cli/target/dist with the launcher
# (bin/gateway-csi), the class path (lib/) and a jlink-trimmed Java 25 runtime (runtime/). This file only
# builds it and copies it onto a slim Debian with the native libraries the driver loads.

# Base images are pinned by digest (the tag says what it is, the digest what exactly), so a build takes the same
# bases until someone moves them. To move to the newest of a tag (its security updates, say), on a machine that
# reaches Docker Hub:
#   docker buildx imagetools inspect debian:bookworm-slim   # "Digest:" line (the multi-platform index)
#   docker buildx imagetools inspect eclipse-temurin:25-jdk-noble
# (or `skopeo inspect --format '{{.Digest}}' docker://debian:bookworm-slim`), replace the digests below, rebuild
# and run the image test (test/image/test, which builds local stand-ins under whatever these lines name).

# ---- build: the Maven Wrapper on Temurin 25 (the JDK's jlink makes the runtime) ----
FROM eclipse-temurin:25-jdk-noble@sha256:b866059783e3dd2dd183937b713e77d0fd94d87ce7bdd4ed4a77d79e97a276cd AS build
WORKDIR /src
# .dockerignore keeps the context to the Maven build's inputs.
COPY . .
# The cache mount keeps Maven's downloads (and the wrapper's Maven) between builds; tests run in CI, not here.
# The AOT caches are trained below, where the dist is installed (a cache serves only its own paths and jars).
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp -DskipTests -Dgatewaycsi.aot.skip -pl cli -am package -Dgatewaycsi.cds.skip

# ---- base: Debian bookworm (libnfs 4.0 as libnfs.so.13, libfuse3.so.3 where the driver looks) ----
FROM debian:bookworm-slim@sha256:7b140f374b289a7c2befc338f42ebe6441b7ea838a042bbd5acbfca6ec875818 AS base
# netbase: /etc/protocols and /etc/services, without which mount.nfs cannot resolve the transports NFSv3 needs
# ("mount.nfs: Protocol not supported"); libnfs13: the user-space NFS client (controller and mount helper);
# fuse3 + libfuse3-3: FUSE (mount helper); util-linux: mount/umount, and setsid (wireguard-go's own session).
# WireGuard tunnels (node plugin; controller with --controller-wireguard): iproute2 (`ip`: links, addresses,
# routes, `ip link add … type wireguard`), wireguard-tools (`wg`: keys and peers) and wireguard-go (the userspace
# tunnel over /dev/net/tun where the kernel has no WireGuard); about 12 MB with iproute2's libraries. Without their
# recommends (nftables/iptables, wireguard-dkms, libatm1); iproute2's debconf question (capabilities for
# `ip vrf exec`) keeps its default, no. Versions follow bookworm and its security updates; the image is rebuilt
# to pick them up. Then: no setuid/setgid file (the controller runs as 65532 and needs none; the node plugin and
# the mount helper run as root), and nothing of the build (apt's and dpkg's logs, debconf's backups).
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends netbase libnfs13 fuse3 libfuse3-3 util-linux \
      iproute2 wireguard-tools wireguard-go \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/cache/debconf/*-old \
 && find / -xdev -type f -perm /6000 -exec chmod ug-s {} +

# ---- nfs: the kernel path's NFS tools out of nfs-common ----
# nfs-common depends on Python, rpcbind, LDAP and SASL libraries and brings daemons no role runs (about 50 MB).
# The node plugin needs mount.nfs (with its mount.nfs4/umount.nfs* links) and, for NFSv3 locking, start-statd,
# rpc.statd and sm-notify (mount.nfs runs start-statd when statd does not answer; rpc.statd then needs an
# rpcbind to register with, the node's, reached through the node plugin's host network). This stage installs
# nfs-common on the base above and collects, under /out, those programs, the shared libraries ldd names for them
# that the base lacks (from the same apt run, so they match), the file libtirpc reads (/etc/netconfig), statd's
# state directory, the packages' copyright files, and /usr/share/doc/gateway-csi/nfs-packages, the packages and
# versions the copies come from (dpkg does not list them in the image). test/image/test checks that mount.nfs
# takes NFSv3 and NFSv4 option sets, and that each program finds its libraries.
FROM base AS nfs
# hadolint ignore=DL3008
RUN set -eu; lib=/usr/lib/x86_64-linux-gnu; ls "$lib" >/tmp/libs-before \
 && apt-get update && apt-get install -y --no-install-recommends nfs-common \
 && mkdir -p /out/usr/sbin "/out$lib" /out/etc /out/var/lib /out/usr/share/doc/gateway-csi \
 && cp -a /usr/sbin/mount.nfs /usr/sbin/mount.nfs4 /usr/sbin/umount.nfs /usr/sbin/umount.nfs4 \
      /usr/sbin/start-statd /usr/sbin/rpc.statd /usr/sbin/sm-notify /out/usr/sbin/ \
 && cp -a /etc/netconfig /out/etc/ && cp -a /var/lib/nfs /out/var/lib/ \
 && echo nfs-common libtirpc-common >/tmp/packages \
 && for name in $(ldd /usr/sbin/mount.nfs /usr/sbin/rpc.statd /usr/sbin/sm-notify | awk '$2 == "=>" { print $1 }' | sort -u); do \
      if grep -qx "$name" /tmp/libs-before; then continue; fi; \
      cp -a "$lib/$name" "$(readlink -f "$lib/$name")" "/out$lib/"; \
      { dpkg -S "/lib/x86_64-linux-gnu/$name" 2>/dev/null || dpkg -S "$lib/$name"; } | cut -d: -f1 >>/tmp/packages; \
    done \
 && for package in $(tr ' ' '\n' </tmp/packages | sort -u); do \
      dpkg-query -W -f='${Package} ${Version}\n' "$package" >>/out/usr/share/doc/gateway-csi/nfs-packages; \
      mkdir -p "/out/usr/share/doc/$package"; cp -a "/usr/share/doc/$package/copyright" "/out/usr/share/doc/$package/"; \
    done \
 && find /out -type f -perm /6000 -exec chmod ug-s {} +

# ---- runtime ----
FROM base
COPY --from=nfs /out/ /
# The controller's user (the chart runs the controller as 65532 and the node plugin and mount helper as
# root through their securityContext), and rpc.statd's, which it switches to from root (nfs-common's postinst
# makes the same).
RUN groupadd --system --gid 65532 gateway-csi \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin gateway-csi \
 && useradd --system --gid nogroup --home-dir /var/lib/nfs --no-create-home --shell /usr/sbin/nologin statd \
 && chown statd /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/state
COPY --from=build /src/cli/target/dist /opt/gateway-csi
# train-aot: one AOT cache for every role (JEP 483/514), made on this runtime and these jars; the launcher maps
# it at start-up (node plugin ready in ~0.5 s instead of ~1 s, bench/RESULTS.md).
RUN ln -s /opt/gateway-csi/bin/gateway-csi /usr/local/bin/gateway-csi \
 && gateway-csi --version \
 && gateway-csi train-aot
# The image's version, the commit it was built from and the repository that commit is in (test/image/build
# passes all three, SOURCE from the repository's `origin` remote):
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE=https://github.com/<owner>/gateway-csi -t gateway-csi:0.1.0 .
# Without them the labels say what is known: the version in development and "unknown".
ARG VERSION=0.1.0-SNAPSHOT
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="gateway-csi" \
      org.opencontainers.image.description="CSI driver that mounts an NFS gateway into Kubernetes pods" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
USER 65532:65532
ENTRYPOINT ["gateway-csi"]
CMD ["--help"]
