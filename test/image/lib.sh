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

# image_source REPO: the org.opencontainers.image.source label: $GATEWAY_CSI_IMAGE_SOURCE, else REPO's `origin`
# remote as an https URL (git@host:owner/name.git → https://host/owner/name), else "unknown" (the Dockerfile's default).
image_source() {
  local url=${GATEWAY_CSI_IMAGE_SOURCE:-}
  [ -n "$url" ] || url=$(git -C "$1" remote get-url origin 2>/dev/null || true)
  case "$url" in
    "") url=unknown ;;
    git@*:*) url="https://$(sed 's/^git@//; s/:/\//' <<<"$url")" ;;
    ssh://git@*) url="https://${url#ssh://git@}" ;;
  esac
  printf '%s\n' "${url%.git}"
}

# image_start IMAGE NAME DIR PODMAN-FLAGS… -- ARGS…: starts a detached container NAME of IMAGE with DIR at /csi
# (mode 0777, as the chart's emptyDir) and no network; waits (≤ 90 s) for the role to log that it listens and
# prints the seconds from `podman run` to then. Fails (its log on stderr) if it stops or does not listen in time.
# The caller removes the container.
image_start() {
  local image=$1 name=$2 dir=$3; shift 3
  local -a flags=()
  while [ "$1" != -- ]; do flags+=("$1"); shift; done
  shift
  mkdir -p "$dir"
  chmod 0777 "$dir"
  local t0 i
  t0=$(date +%s.%N)
  podman run -d --pull=never --name "$name" --network=none -v "$dir:/csi" "${flags[@]}" "$image" "$@" >/dev/null
  for ((i = 0; i < 900; i++)); do
    if podman logs "$name" 2>&1 | grep -q 'event=listening'; then
      awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'
      return 0
    fi
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.1
  done
  podman logs "$name" >&2 || true
  return 1
}

# The podman flags and arguments of each role as the chart runs it (test/image/test, test/image/startup).
image_restricted=(--read-only --tmpfs /tmp --cap-drop=ALL --security-opt=no-new-privileges)
image_controller=(--user 65532:65532 "${image_restricted[@]}" -- controller --endpoint=unix:///csi/csi.sock
  --log-level=info --events=off)
image_node=(--privileged --user 0:0 --tmpfs /tmp -- node --endpoint=unix:///csi/csi.sock --node-id=image-test
  --state-dir=/csi/state --mount-helper-endpoint=unix:///csi/helper.sock --events=off)
image_helper=(--privileged --user 0:0 --device /dev/fuse --tmpfs /tmp -- mount-helper
  --endpoint=unix:///csi/helper.sock)
