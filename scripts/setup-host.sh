#!/usr/bin/env bash
# Make this host able to run tfwheelbuild's arm64 containers: a Docker engine that answers,
# arm64 emulation (on non-arm64 hosts) and debootstrap for the air-gapped base image.
# Idempotent: every step checks first and does nothing when the host already has it.
# Installs only from the distribution's own package mirror (Debian/Ubuntu apt). `--test` also
# installs what only the test suite needs (chromium, for the report's browser test; docker-registry
# and podman for the image and engine tests).
set -euo pipefail

log() { printf 'setup-host: %s\n' "$*" >&2; }
need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    log "this step needs root: rerun with sudo, or install '$1' yourself"; exit 3
  fi
}

apt_updated=0
apt_install() {
  need_root "$*"
  if [ "$apt_updated" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

# 1. Docker engine.
if ! engine_answers; then
  if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io
  fi
  if ! engine_answers; then
    need_root dockerd
    log "starting dockerd (log: /var/log/tfwheelbuild-dockerd.log)"
    # cgroupfs/overlay2 are what this host's kernel supports; no systemd here to own the daemon.
    nohup dockerd >/var/log/tfwheelbuild-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
    engine_answers || { log "dockerd did not answer within 60 s; see /var/log/tfwheelbuild-dockerd.log"; exit 4; }
  fi
fi
log "docker engine: $(docker version --format '{{.Server.Version}} ({{.Server.Arch}})')"

# 2. arm64 emulation on non-arm64 hosts.
case "$(uname -m)" in
  aarch64|arm64) log "native arm64 host: no emulation needed" ;;
  *)
    if ! command -v qemu-aarch64-static >/dev/null 2>&1 || ! command -v update-binfmts >/dev/null 2>&1; then
      apt_install qemu-user-static binfmt-support
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
      need_root binfmt_misc
      mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
      need_root binfmt
      update-binfmts --enable qemu-aarch64 || update-binfmts --import qemu-aarch64
    fi
    if [ "$(head -n1 /proc/sys/fs/binfmt_misc/qemu-aarch64)" != enabled ]; then
      need_root binfmt
      echo 1 > /proc/sys/fs/binfmt_misc/qemu-aarch64   # registered but switched off
    fi
    log "arm64 emulation: $(head -n1 /proc/sys/fs/binfmt_misc/qemu-aarch64)"
    ;;
esac

# 3. debootstrap: builds the arm64 base image where no registry can be reached.
if ! command -v debootstrap >/dev/null 2>&1; then
  apt_install debootstrap
fi
# 4. For the test suite only (`setup-host.sh --test`): a headless browser that renders the HTML
#    report, and nginx (its WebDAV module) as a real HTTP remote cache on loopback.
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  command -v nginx >/dev/null 2>&1 || apt_install nginx-light
  # A real image registry on loopback (push, pull back, run) and Podman's Docker-compatible engine.
  command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
  command -v podman >/dev/null 2>&1 || apt_install podman
  # Podman's init for `--init` containers: a package of its own, only recommended by podman.
  [ -x /usr/libexec/podman/catatonit ] || apt_install catatonit
fi
log "ready"
