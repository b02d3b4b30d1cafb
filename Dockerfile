# syntax=docker/dockerfile:1
# gateway-csi: one image for every role; the arguments select it (the Helm chart's containers run
# `gateway-csi controller …`, `gateway-csi node …` and `gateway-csi mount-helper …`).
#   docker build -t gateway-csi:0.1.0 .
#   docker run --rm gateway-csi:0.1.0 controller --help
#
# The Maven build does the work (cli/pom.xml): it assembles cli/target/dist with the launcher
# (bin/gateway-csi), the class path (lib/) and a jlink-trimmed Java 25 runtime (runtime/). This file only
# builds it and copies it onto a slim Debian with the native libraries the driver loads.

# ---- build: the Maven Wrapper on Temurin 25 (the JDK's jlink makes the runtime) ----
FROM eclipse-temurin:25-jdk-noble AS build
WORKDIR /src
# .dockerignore keeps the context to the Maven build's inputs.
COPY . .
# The cache mount keeps Maven's downloads (and the wrapper's Maven) between builds; tests run in CI, not here.
# The AOT caches are trained below, where the dist is installed (a cache serves only its own paths and jars).
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp -DskipTests -Dgatewaycsi.aot.skip -pl cli -am package

# ---- runtime: Debian bookworm (libnfs 4.0 as libnfs.so.13, libfuse3.so.3 where the driver looks) ----
FROM debian:bookworm-slim
# nfs-common: mount.nfs for kernel mounts (node plugin); libnfs13: the user-space NFS client (controller and
# mount helper); fuse3 + libfuse3-3: FUSE (mount helper); util-linux: mount/umount. Versions follow
# bookworm and its security updates; the image is rebuilt to pick them up.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nfs-common libnfs13 fuse3 libfuse3-3 util-linux \
 && rm -rf /var/lib/apt/lists/*
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
LABEL org.opencontainers.image.title="gateway-csi" \
      org.opencontainers.image.description="CSI driver that mounts an NFS gateway into Kubernetes pods"
USER 65532:65532
ENTRYPOINT ["gateway-csi"]
CMD ["--help"]
