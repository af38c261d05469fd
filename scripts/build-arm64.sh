#!/usr/bin/env bash
# Cross-builds ecsguard (agent, unit tests, egprobe) for arm64 on an x86_64 Debian host:
#
#   scripts/build-arm64.sh [BUILD_DIR]      (default build-arm64; extra cmake -D... via CMAKE_ARGS)
#
# The compiler is Debian's gcc-aarch64-linux-gnu (installed here when missing); the libraries
# and headers come from a sysroot of Debian bookworm's arm64 packages, downloaded through a
# private apt state and unpacked with dpkg -x: the host's apt sources, dpkg architectures and
# installed packages are not touched. The sysroot is cached under $ECSGUARD_KERNEL_CACHE/arm64
# (default /var/cache/ecsguard-kernels, beside the kernel matrix's kernels) and made again when
# the package list below changes. The BPF objects are compiled by the host's clang for the
# arm64 target (bpf/bpf.cmake follows CMAKE_SYSTEM_PROCESSOR, cmake/toolchain-arm64.cmake).
#
# The result runs in the arm64 guests of scripts/kernel-matrix.sh --arch arm64.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
# shellcheck source=scripts/private-apt.sh
. "$repo/scripts/private-apt.sh"
build_dir=${1:-build-arm64}
cache=${ECSGUARD_KERNEL_CACHE:-/var/cache/ecsguard-kernels}/arm64
suite=bookworm

if [ "$(id -u)" -ne 0 ]; then
    echo "build-arm64: run as root (it installs the cross compiler when missing)" >&2
    exit 2
fi

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v dpkg-deb >/dev/null || need+=(dpkg)
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    echo "build-arm64: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi

# What the agent links (CMakeLists.txt's pkg_check_modules), the unit tests' cmocka, and libc6-dev
# (egprobe links statically). Their dependencies come along through apt's resolver.
dev_pkgs=(libc6-dev libbpf-dev libelf-dev zlib1g-dev libseccomp-dev libjson-c-dev
    libcurl4-openssl-dev libssl-dev libyaml-dev libcmocka-dev)
sysroot=$cache/sysroot-$suite
stamp=$(echo "$suite ${dev_pkgs[*]}" | sha256sum | cut -c1-16)

make_sysroot() {
    local a=$cache/apt-$suite
    rm -rf "$a" "$sysroot.tmp"
    private_apt_arm64 "$a" "$suite"
    apt-get "${PRIVATE_APT_OPTS[@]}" -qq update
    apt-get "${PRIVATE_APT_OPTS[@]}" -qq -y --download-only install "${dev_pkgs[@]}" >/dev/null
    mkdir -p "$sysroot.tmp"
    local deb
    for deb in "$a"/cache/archives/*.deb; do
        dpkg -x "$deb" "$sysroot.tmp"
    done
    # Absolute symbolic links inside the sysroot (lib*.so -> /lib/...) would point into the
    # host: make them relative to the sysroot.
    local link target
    while IFS= read -r link; do
        target=$(readlink "$link")
        case "$target" in
        /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot.tmp$target")" "$link" ;;
        esac
    done < <(find "$sysroot.tmp" -type l)
    echo "$stamp" >"$sysroot.tmp/.ecsguard-sysroot"
    rm -rf "$sysroot" "$a"
    mv "$sysroot.tmp" "$sysroot"
}

if [ "$(cat "$sysroot/.ecsguard-sysroot" 2>/dev/null)" != "$stamp" ]; then
    echo "build-arm64: making the arm64 sysroot in $sysroot"
    make_sysroot
fi

# The tests' interpreters are the arm64 guest's (the kernel matrix's userland has both at these
# paths): a python3 found on this host (a pyenv shim) does not exist there. CMAKE_ARGS is split
# into its -D options on purpose.
# shellcheck disable=SC2086
cmake -S "$repo" -B "$build_dir" -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchain-arm64.cmake" \
    -DECSGUARD_ARM64_SYSROOT="$sysroot" -DECSGUARD_WERROR=ON \
    -DPYTHON3=/usr/bin/python3 -DNODE=/usr/bin/node ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
file "$build_dir/ecsguard" 2>/dev/null || true
