# shellcheck shell=bash
# Sourced by test/image/build and test/image/test: podman/buildah (Debian's 4.3/1.28) set up for this project
# without touching the system's configuration. Everything lives under $GATEWAY_CSI_IMAGE_CACHE
# (default /var/cache/gateway-csi/image):
#   conf/containers.conf  the two settings these machines need (notes/containers-here.md): the nofile/nproc
#                         limits root may set here, and runc (crun 1.8 refuses this cgroup layout)
#   conf/storage.conf     a storage of the project's own (overlay), so the stand-ins for the base images and the
#                         built image never mix with the machine's images
#   storage/              that storage; base/ the base images' root file systems; out/ the saved image
image_cache=${GATEWAY_CSI_IMAGE_CACHE:-/var/cache/gateway-csi/image}
image_runroot=/run/gateway-csi-image

image_env() {
  mkdir -p "$image_cache/conf" "$image_cache/storage" "$image_cache/base" "$image_cache/out"
  cat >"$image_cache/conf/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  cat >"$image_cache/conf/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$image_cache/storage"
runroot = "$image_runroot"
CONF
  export CONTAINERS_CONF="$image_cache/conf/containers.conf"
  export CONTAINERS_STORAGE_CONF="$image_cache/conf/storage.conf"
}

# containers-storage on the project's storage (adds the names buildah resolves a pinned FROM to).
image_storage() {
  containers-storage --graph "$image_cache/storage" --run "$image_runroot" --storage-driver overlay "$@"
}
