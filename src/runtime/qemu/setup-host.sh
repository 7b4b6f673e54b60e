#!/bin/sh
# Installs the Debian packages the qemu runtime needs on a host (run as root); the list matches REQUIRED_PACKAGES in available.ts.
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host.sh: run as root (apt-get install, and the runtime itself needs root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  qemu-system-x86 linux-image-cloud-amd64 busybox-static qemu-guest-agent \
  dnsmasq-base nftables iproute2 cpio
