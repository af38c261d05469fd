#!/usr/bin/env bash
# Installs everything ecsguard needs to build, test and demo on Debian 12. Idempotent: when every
# package is already installed it does not touch apt at all (fast on repeated runs).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root" >&2
    exit 1
fi

# Build.
packages=(
    cmake make gcc clang llvm libbpf-dev bpftool pkg-config libelf-dev zlib1g-dev libseccomp-dev
    libcmocka-dev libjson-c-dev libcurl4-openssl-dev libssl-dev libyaml-dev clang-format
)
# The fuzz targets (tests/fuzz, scripts/fuzz.sh): libFuzzer and the sanitizer runtimes of clang.
packages+=(libclang-rt-dev)
# Tests and demo (libc6-dev for the static egprobe helper; util-linux's mkfs.minix and mount's
# losetup for ContainerMountsHostDirectory's test block device).
packages+=(runc busybox-static python3 iproute2 util-linux mount procps libc6-dev)
# The soak's plot (bench/soak.py, integration.test_soak); e2fsprogs for the EIO spool test's ext2.
packages+=(python3-matplotlib e2fsprogs)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
# Node.js with npm: either Debian's nodejs + npm packages, or a nodejs package that ships npm
# itself (NodeSource); the Debian npm package conflicts with the latter, so check the commands.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    for pkg in nodejs npm; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        if [ "$status" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
fi

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps.sh: all packages already installed"
else
    echo "install-deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

"$(dirname "$0")/host-prep.sh"
