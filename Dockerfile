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

# ---- runtime: Debian bookworm (libnfs 4.0 as libnfs.so.13, libfuse3.so.3 where the driver looks) ----
FROM debian:bookworm-slim@sha256:7b140f374b289a7c2befc338f42ebe6441b7ea838a042bbd5acbfca6ec875818
# nfs-common: mount.nfs for kernel mounts (node plugin); netbase: /etc/protocols and /etc/services, without
# which mount.nfs cannot resolve the transports NFSv3 needs ("mount.nfs: Protocol not supported"); libnfs13: the
# user-space NFS client (controller and mount helper); fuse3 + libfuse3-3: FUSE (mount helper); util-linux:
# mount/umount. Versions follow bookworm and its security updates; the image is rebuilt to pick them up.
# Then: no setuid/setgid file (the controller runs as 65532 and needs none; the node plugin and the mount helper
# run as root), and nothing of the build (apt's and dpkg's logs, debconf's backups).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nfs-common netbase libnfs13 fuse3 libfuse3-3 util-linux \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/cache/debconf/*-old \
 && find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
# The controller's user (the chart runs the controller as 65532 and the node plugin and mount helper as
# root through their securityContext).
RUN groupadd --system --gid 65532 gateway-csi \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin gateway-csi
COPY --from=build /src/cli/target/dist /opt/gateway-csi
# train-aot: one AOT cache per role (JEP 483/514), made on this runtime and these jars; the launcher maps it
# at start-up (node plugin ready in ~0.5 s instead of ~1 s, bench/RESULTS.md).
RUN ln -s /opt/gateway-csi/bin/gateway-csi /usr/local/bin/gateway-csi \
 && gateway-csi --version \
 && gateway-csi train-aot
# The image's version and the commit it was built from (test/image/build passes both:
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t gateway-csi:0.1.0 .)
ARG VERSION=0.1.0-SNAPSHOT
ARG REVISION=unknown
ARG SOURCE=https://github.com/gateway-csi/gateway-csi
LABEL org.opencontainers.image.title="gateway-csi" \
      org.opencontainers.image.description="CSI driver that mounts an NFS gateway into Kubernetes pods" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
USER 65532:65532
ENTRYPOINT ["gateway-csi"]
CMD ["--help"]
