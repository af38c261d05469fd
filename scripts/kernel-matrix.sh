#!/usr/bin/env bash
# The kernel matrix: runs chosen test suites of an already-built tree under the kernels ECS hosts
# run (Debian's builds of them), each booted under QEMU, and prints kernel x suite.
#
# No ECS host runs the kernel this project is developed on, and the BPF code takes different
# paths on each kernel (hook fallbacks, kfuncs that exist or not). This runs those paths.
#
#   scripts/kernel-matrix.sh [--kernels 6.1,6.12,5.10] [--cgroup hybrid|v2|both]
#                            [--suites capabilities,rootfs,...|all] [--build DIR]
#                            [--variant LINE[/MODE]:HOOKS:SUITES[:CAPS]]... [--results DIR]
#                            [--jobs N] [--timeout SECONDS] [--forced-twins] [--arch amd64|arm64]
#
# --arch arm64 boots Debian's arm64 kernels (6.1, 6.12) on qemu-system-aarch64 with an arm64
# userland (debootstrap, cached; see make_userland below) as the guest's root, the repository and
# an arm64 build (scripts/build-arm64.sh) overlaid at their host paths. Opt-in: CI does not run it
# (docs/kernel-matrix.md, "arm64").
#
# ECSGUARD_TEST_SECCOMP (e.g. trap) in this script's environment is passed to the guests' suites
# (tests/integration/harness.py: every agent runs with `--seccomp` set to it).
#
# --variant runs SUITES once more on kernel LINE (in cgroup MODE, default the line's first)
# with every agent forced to HOOKS (`--hook` options, e.g. capability=kprobe,rootfsWrites=
# probe-read; empty for none): the fallbacks that kernel would not choose by itself, run
# where they load, or a kernel or cgroup mode that needs only some suites. CAPS, when given,
# starts every agent with only those capabilities (e.g. bpf,perfmon,syslog, or ecs-unprivileged:
# the set the unprivileged daemon task definition adds; tests/integration/harness.py).
#
# The suite name hook_tax is not a test suite: it runs bench/hook_tax.py in the guest (getppid
# and open-write loops with no agent, with the syscall concerns on syscall tracepoints, and on
# fentry/fexit; the ratios between them are the syscall-tracepoint tax on that kernel), e.g.
#   scripts/kernel-matrix.sh --kernels 6.1,6.12 --cgroup v2 --suites hook_tax
#
# The test classes that force every concern through its legacy task-access twins (the
# LegacyTaskAccess mixin) are not run in the guests unless --forced-twins is given: the matrix
# runs the twins where a kernel chooses them by itself (5.10), the native suite forces them on
# the development kernel, and forcing them on 6.1/6.12 as well doubled each guest's time.
#
# Each kernel is the newest Debian package of its line, fetched with apt-get download through a
# private apt state (the host's apt configuration is not touched, nothing is installed), unpacked
# with dpkg -x into a cache (/var/cache/ecsguard-kernels, or $ECSGUARD_KERNEL_CACHE). The guest
# boots a busybox initramfs that mounts the host's root read-only over 9p with a tmpfs overlay
# on top, so the same build, runc, Python and busybox rootfs run inside; it then runs
# scripts/kernel-matrix-guest.sh, which writes each suite's log to a shared results directory.
# KVM is not used (this kind of host has no usable /dev/kvm): QEMU emulates (TCG).
#
# Exit status: 0 when every suite passed on every kernel (skips with a reason count as passed:
# they say what the kernel lacks), 1 when a suite failed or a guest did not finish, 2 on a usage
# or set-up error.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

kernels="6.1,6.12"
cgroup_modes=""
suites="capabilities,rootfs,hostns,cli_and_flood"
build_dir="$repo/build"
results=""
jobs=1
timeout_s=3600
variants=()
forced_twins=0
arch=amd64
cache=${ECSGUARD_KERNEL_CACHE:-/var/cache/ecsguard-kernels}

usage() {
    sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --kernels) kernels=$2; shift 2 ;;
    --cgroup) cgroup_modes=$2; shift 2 ;;
    --suites) suites=$2; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --build) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --results) results=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --forced-twins) forced_twins=1; shift ;;
    --arch) arch=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "kernel-matrix: unknown argument $1" >&2; usage ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "kernel-matrix: run as root (the guests run the integration tests as root)" >&2
    exit 2
fi
case "$arch" in
amd64) elf_machine=3e ;;  # EM_X86_64
arm64) elf_machine=b7 ;;  # EM_AARCH64
*) echo "kernel-matrix: --arch is amd64 or arm64, not $arch" >&2; exit 2 ;;
esac
if [ "$arch" = arm64 ] && [ "$build_dir" = "$repo/build" ]; then
    build_dir="$repo/build-arm64" # scripts/build-arm64.sh's default
fi
if [ ! -x "$build_dir/agent/ecsguard" ] && [ ! -x "$build_dir/ecsguard" ]; then
    echo "kernel-matrix: no built agent in $build_dir (build the tree first)" >&2
    exit 2
fi
# An agent of the other architecture would fail in every suite with "exec format error".
agent_bin=$build_dir/ecsguard
[ -x "$agent_bin" ] || agent_bin=$build_dir/agent/ecsguard
if [ "$(od -An -tx1 -j18 -N1 "$agent_bin" | tr -d ' ')" != "$elf_machine" ]; then
    echo "kernel-matrix: $agent_bin is not an $arch build" \
        "(arm64: scripts/build-arm64.sh $build_dir)" >&2
    exit 2
fi
# The guest sees the host's root file system only: its own tmpfs covers /tmp, /run and /dev/shm,
# and other mounts are not shared. A build there would not exist inside, and every suite would
# find nothing to run.
for hidden in /tmp /run /dev/shm; do
    case "$build_dir/" in
    "$hidden"/*)
        echo "kernel-matrix: the build dir $build_dir is under $hidden, which the guests cover" \
            "with a tmpfs of their own: build somewhere else" >&2
        exit 2
        ;;
    esac
done
if [ "$(stat -c %d "$build_dir")" != "$(stat -c %d /)" ]; then
    echo "kernel-matrix: the build dir $build_dir is on another file system than /, which the" \
        "guests do not see (they share the host's root only)" >&2
    exit 2
fi
results=${results:-$build_dir/kernel-matrix}
rm -rf "$results"
mkdir -p "$results" "$cache"

need_pkgs=()
if [ "$arch" = amd64 ]; then
    command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
    command -v busybox >/dev/null || need_pkgs+=(busybox-static)
else
    # The initramfs's busybox is the arm64 userland's own (busybox-static there).
    command -v qemu-system-aarch64 >/dev/null || need_pkgs+=(qemu-system-arm)
    command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
    [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
fi
# objcopy reads the modules' .modinfo: the host's binutils know only the host's ELF machine.
objcopy=objcopy
[ "$arch" = amd64 ] || objcopy=aarch64-linux-gnu-objcopy
command -v "$objcopy" >/dev/null || need_pkgs+=("$([ "$arch" = amd64 ] && echo binutils || echo binutils-aarch64-linux-gnu)")
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v depmod >/dev/null || need_pkgs+=(kmod)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "kernel-matrix: installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# ---- kernels: line -> (package-name pattern, cgroup modes the platforms using it run) ----
# Amazon Linux 2023 (6.1, 6.12) and Bottlerocket run cgroup v2; the ECS-optimized AL2023 6.1
# AMIs and Amazon Linux 2 (5.10) run hybrid (v1 controllers, v2 for systemd).
kernel_pattern() {
    case "$1" in
    6.1) echo "^linux-image-6\\.1\\.0-[0-9]+-$arch\$" ;;
    6.12) echo "^linux-image-6\\.12\\.[0-9]+\\+deb13-$arch\$" ;;
    5.10) echo "^linux-image-5\\.10\\.0-[0-9]+-$arch\$" ;;
    *) return 1 ;;
    esac
}
kernel_modes() {
    if [ -n "$cgroup_modes" ]; then
        [ "$cgroup_modes" = both ] && echo "hybrid v2" || echo "$cgroup_modes"
        return
    fi
    case "$1" in
    6.1) echo "hybrid v2" ;;
    6.12) echo "v2" ;;
    5.10) echo "hybrid" ;;
    esac
}

apt_dir="$cache/apt"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State=$apt_dir/state" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
if [ "$arch" != amd64 ]; then
    # Another architecture's package lists: a state of their own, never the host's.
    apt_dir="$cache/apt-$arch"
    apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State=$apt_dir/state" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root"
        -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
fi
apt_ready=0
apt_prepare() {
    [ $apt_ready = 1 ] && return
    mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial"
    {
        for s in bookworm trixie bullseye; do
            echo "deb http://deb.debian.org/debian $s main"
            echo "deb http://deb.debian.org/debian-security $s-security main"
        done
    } >"$apt_dir/sources.list"
    apt-get "${apt_opts[@]}" -qq update >/dev/null
    apt_ready=1
}

# Unpack the newest package of kernel line $1 into $cache/<package>; print that directory.
fetch_kernel() {
    local line=$1 pattern pkg dir
    pattern=$(kernel_pattern "$line") || { echo "kernel-matrix: unknown kernel line $line" >&2; return 1; }
    # A cached kernel is used as is: the newest package of the line when it was fetched.
    dir=$(ls -d "$cache"/linux-image-* 2>/dev/null | grep -E "/${pattern#^}" | sort -V | tail -1 || true)
    if [ -z "$dir" ]; then
        apt_prepare
        # The newest package the mirror serves: an index can list a version whose file the
        # mirror lacks (bullseye-security's arm64 kernels here), so older ones are tried too.
        local candidates
        candidates=$(apt-cache "${apt_opts[@]}" search --names-only "$pattern" | awk '{print $1}' | sort -V -r)
        [ -n "$candidates" ] || { echo "kernel-matrix: no package matches $pattern" >&2; return 1; }
        pkg=
        for p in $candidates; do
            if (cd "$cache" && apt-get "${apt_opts[@]}" -qq download "$p" >/dev/null 2>&1); then
                pkg=$p
                break
            fi
            echo "kernel-matrix: $p is listed but could not be downloaded; trying an older one" >&2
        done
        [ -n "$pkg" ] || { echo "kernel-matrix: no package of $pattern could be downloaded" >&2; return 1; }
        dir="$cache/$pkg"
        rm -rf "$dir.tmp"
        dpkg -x "$cache/${pkg}"_*.deb "$dir.tmp" || { echo "kernel-matrix: cannot unpack $pkg" >&2; return 1; }
        rm -f "$cache/${pkg}"_*.deb
        mv "$dir.tmp" "$dir" || return 1
    fi
    # The module index (modules.dep, modules.alias) the package leaves to its postinst: the
    # guests run the host's modprobe when their kernel asks for a module (request_module).
    local moddir
    moddir=$(ls -d "$dir"/lib/modules/* "$dir"/usr/lib/modules/* 2>/dev/null | head -1 || true)
    if [ -n "$moddir" ] && [ ! -s "$moddir/modules.alias" ]; then
        depmod -b "$(dirname "$(dirname "$(dirname "$moddir")")")" "$(basename "$moddir")" >&2
    fi
    echo "$dir"
}

# The modules the initramfs loads (9p root, overlay, loop, minix) and everything they depend on,
# in load order.
module_closure() {
    local moddir=$1; shift
    local -A seen=()
    local order=()
    visit() {
        local name=$1 file deps d
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        file=$(find "$moddir" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" \) | head -1)
        [ -n "$file" ] || return 0 # built in
        deps=$(module_info "$file" depends)
        for d in ${deps//,/ }; do visit "$d"; done
        order+=("$file")
    }
    for m in "$@"; do visit "$m"; done
    printf '%s\n' "${order[@]}"
}

module_info() {
    local file=$1 key=$2 tmp
    tmp=$(mktemp)
    case "$file" in
    *.xz) xz -dc "$file" >"$tmp" ;;
    *) cp "$file" "$tmp" ;;
    esac
    "$objcopy" -O binary --only-section=.modinfo "$tmp" "$tmp.info"
    tr '\0' '\n' <"$tmp.info" | sed -n "s/^$key=//p" | head -1
    rm -f "$tmp" "$tmp.info"
}

# Build the initramfs of kernel dir $1 at $2.
make_initramfs() {
    local kdir=$1 out=$2 moddir root
    moddir=$(ls -d "$kdir"/lib/modules/* "$kdir"/usr/lib/modules/* 2>/dev/null | head -1 || true)
    root=$(mktemp -d)
    mkdir -p "$root"/{bin,dev,proc,sys,newroot,lower,userland,upper,modules}
    if [ "$arch" = amd64 ]; then
        cp "$(command -v busybox)" "$root/bin/busybox"
    else
        cp "$cache/$arch-busybox" "$root/bin/busybox" # make_userland's
    fi
    # loop and a disk file system (minix: no dependencies) are for ContainerMountsHostDirectory's
    # test, which mounts a block device from a container as an attacker mounts the host's disk.
    local i=0 f
    while read -r f; do
        [ -n "$f" ] || continue
        i=$((i + 1))
        case "$f" in
        *.xz) xz -dc "$f" >"$root/modules/$(printf %02d $i)-$(basename "${f%.xz}")" ;;
        *) cp "$f" "$root/modules/$(printf %02d $i)-$(basename "$f")" ;;
        esac
    done < <(module_closure "$moddir" virtio_pci 9pnet_virtio 9p overlay loop minix)
    cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# Stage one: load the modules, mount the host root (9p, read-only) under a tmpfs overlay, and
# hand over to the project's guest script in it.
# eg_userland=1 on the kernel command line (arm64; init gets it in its environment): the root is
# the userland shared as "eguser" instead, and the host paths listed in the results directory's
# "binds" file (the repository, the build, the kernel's modules) are overlaid onto it at the same
# paths. eg_userland=setup: finish debootstrap's second stage (make_userland) and power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /modules/*.ko; do insmod "$m" 2>/dev/null || true; done
opts=trans=virtio,version=9p2000.L,msize=524288
if [ "${eg_userland:-}" = setup ]; then
    # The share holds first-stage.tar; the second stage runs on a tmpfs and its result goes
    # back as one tar: dpkg's many small writes and fsyncs straight onto 9p installed about two
    # packages a minute here.
    mkdir -p /share
    mount -t 9p -o "$opts" eguser /share || { echo "kernel-matrix: no userland share"; poweroff -f; }
    mount -t tmpfs -o size=90% tmpfs /newroot
    tar -xf /share/first-stage.tar -C /newroot
    mount -t proc proc /newroot/proc
    mount -t sysfs sys /newroot/sys
    mount --bind /dev /newroot/dev
    chroot /newroot /debootstrap/debootstrap --second-stage >/share/second-stage.log 2>&1
    rc=$?
    echo "kernel-matrix: debootstrap --second-stage exited $rc"
    umount /newroot/proc /newroot/sys /newroot/dev 2>/dev/null # debootstrap unmounts them itself
    [ $rc != 0 ] || tar -cf /share/userland.tar -C /newroot .
    echo $rc >/share/second-stage.rc
    sync
    poweroff -f
fi
mount -t 9p -o "$opts,ro,cache=loose" egroot /lower ||
    { echo "kernel-matrix: cannot mount the host root over 9p"; poweroff -f; }
lower=/lower
if [ -n "${eg_userland:-}" ]; then
    mount -t 9p -o "$opts,ro,cache=loose" eguser /userland ||
        { echo "kernel-matrix: cannot mount the userland over 9p"; poweroff -f; }
    lower=/userland
fi
mount -t tmpfs -o size=75% tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=$lower,upperdir=/upper/u,workdir=/upper/w /newroot ||
    { echo "kernel-matrix: cannot mount the overlay root"; poweroff -f; }
# The host's /run (its runc state, locks) must not show through: a fresh one.
mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p /newroot/run/kernel-matrix
mount -t 9p -o "$opts" egout /newroot/run/kernel-matrix
if [ -n "${eg_userland:-}" ]; then
    # Writable like the rest of the root (ctest and the harness write into the build dir), the
    # writes going to the tmpfs. Parents before children: the list is sorted.
    i=0
    for p in $(cat /newroot/run/kernel-matrix/binds); do
        i=$((i + 1))
        mkdir -p "/upper/b$i/u" "/upper/b$i/w" "/newroot$p"
        mount -t overlay overlay -o "lowerdir=/lower$p,upperdir=/upper/b$i/u,workdir=/upper/b$i/w" \
            "/newroot$p" || { echo "kernel-matrix: cannot overlay $p"; poweroff -f; }
    done
fi
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /bin/bash /run/kernel-matrix/guest-init
EOF
    chmod +x "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$out")
    rm -rf "$root"
}

# The emulator for --arch, as the array qemu, and the kernel command line, as append. (The commas
# are inside QEMU's options.)
# shellcheck disable=SC2054
qemu_base() {
    if [ "$arch" = amd64 ]; then
        qemu=(qemu-system-x86_64 -cpu max)
        append="console=ttyS0"
    else
        # virt: QEMU's generic arm64 board (PL011 serial, PCIe for the virtio devices). The
        # implementation-defined pointer-authentication algorithm: the architected one (QARMA)
        # costs TCG many host instructions per signed return, and Debian's kernel signs them.
        qemu=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on)
        append="console=ttyAMA0"
    fi
    # thread=single: all vCPUs on one host thread. With a thread per vCPU (MTTCG) a 6.12 guest
    # died in get_page_from_freelist on an int3 left by kernel text patching (static keys
    # flip on every BPF attach and detach) racing another vCPU; one thread never races, and
    # --jobs 2 keeps both host cores busy with two guests.
    qemu+=(-accel tcg,thread=single -smp 2 -m 3072 -nodefaults -no-reboot -display none)
    append="$append panic=-1 quiet loglevel=4 rw"
}

# ---- the arm64 userland ----
# Debian bookworm for --arch, made by debootstrap: the first stage (download, unpack) on the host,
# the second (the packages' maintainer scripts, arm64 code) in a guest booted once with the
# userland shared read-write, so nothing on the host runs or registers an emulator. Cached in
# $cache/<arch>-userland-bookworm, made again when the package list changes. It holds what the
# guest script and the suites run: bash, python3, runc, busybox-static (the containers' rootfs,
# and the initramfs), util-linux and mount, iproute2, procps, kmod, ctest (cmake), bpftool, node
# (the finding schema check), and the agent's shared libraries (CMakeLists.txt's
# pkg_check_modules, as run-time packages) and the unit tests' cmocka.
userland_pkgs=(python3 runc busybox-static util-linux mount iproute2 procps kmod cmake bpftool
    nodejs libbpf1 libelf1 zlib1g libseccomp2 libcurl4 libssl3 libjson-c5 libyaml-0-2 libcmocka0)
userland=""
make_userland() {
    local dir=$cache/$arch-userland-bookworm stamp kdir initrd deb start
    stamp=$(echo "${userland_pkgs[*]}" | sha256sum | cut -c1-16)
    if [ "$(cat "$dir/.ecsguard-userland" 2>/dev/null)" = "$stamp" ] && [ -s "$cache/$arch-busybox" ]; then
        userland=$dir
        return
    fi
    echo "kernel-matrix: making the $arch userland in $dir (debootstrap)"
    rm -rf "$dir.tmp"
    debootstrap --foreign --arch="$arch" --variant=minbase \
        --include="$(IFS=,; echo "${userland_pkgs[*]}")" bookworm "$dir.tmp" \
        http://deb.debian.org/debian >"$cache/$arch-debootstrap.log" 2>&1 ||
        { echo "kernel-matrix: debootstrap failed: $cache/$arch-debootstrap.log" >&2; exit 2; }
    # The initramfs's busybox: the static one of the downloaded packages (the first stage
    # unpacks only the required ones).
    deb=$(ls "$dir.tmp"/var/cache/apt/archives/busybox-static_*.deb)
    dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$cache/$arch-busybox"
    chmod 755 "$cache/$arch-busybox"
    kdir=$(fetch_kernel 6.1) || exit 1
    initrd="$cache/initrd-$(basename "$kdir" | sed 's/^linux-image-//').gz"
    make_initramfs "$kdir" "$initrd"
    local share=$cache/$arch-second-stage
    rm -rf "$share"
    mkdir -p "$share"
    tar -cf "$share/first-stage.tar" -C "$dir.tmp" .
    qemu_base
    start=$SECONDS
    timeout --kill-after=10 3600 "${qemu[@]}" -serial "file:$share/console.log" \
        -kernel "$(ls "$kdir"/boot/vmlinuz-*)" -initrd "$initrd" \
        -append "$append eg_userland=setup" \
        -virtfs "local,path=$share,mount_tag=eguser,security_model=none" \
        -device virtio-rng-pci >/dev/null 2>&1 || true
    if [ "$(cat "$share/second-stage.rc" 2>/dev/null)" != 0 ] || [ ! -s "$share/userland.tar" ]; then
        echo "kernel-matrix: debootstrap's second stage did not finish: see" \
            "$share/second-stage.log and $share/console.log" >&2
        exit 2
    fi
    echo "kernel-matrix: debootstrap's second stage took $((SECONDS - start)) s in the guest"
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    tar -xpf "$share/userland.tar" -C "$dir.tmp" --numeric-owner
    rm -f "$share/first-stage.tar" "$share/userland.tar"
    echo "$stamp" >"$dir.tmp/.ecsguard-userland"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    userland=$dir
}
[ "$arch" = amd64 ] || make_userland

IFS=, read -r -a kernel_list <<<"$kernels"
runs=()
for line in "${kernel_list[@]}"; do
    kdir=$(fetch_kernel "$line") || exit 1
    kver=$(basename "$kdir" | sed 's/^linux-image-//')
    initrd="$cache/initrd-$kver.gz"
    [ -s "$initrd" ] && [ "$initrd" -nt "$0" ] || make_initramfs "$kdir" "$initrd"
    for mode in $(kernel_modes "$line"); do
        runs+=("$line|$mode|$kdir|$initrd||$suites")
    done
done
for v in ${variants[@]+"${variants[@]}"}; do
    IFS=: read -r line hooks vsuites vcaps <<<"$v"
    if [ -z "$line" ] || [ -z "$vsuites" ]; then
        echo "kernel-matrix: --variant expects LINE[/MODE]:HOOKS:SUITES[:CAPS], got '$v'" >&2
        exit 2
    fi
    mode=${line#*/}
    [ "$mode" != "$line" ] || mode=$(cgroup_modes='' kernel_modes "$line" | awk '{print $1}')
    line=${line%%/*}
    kdir=$(fetch_kernel "$line") || exit 1
    kver=$(basename "$kdir" | sed 's/^linux-image-//')
    initrd="$cache/initrd-$kver.gz"
    [ -s "$initrd" ] && [ "$initrd" -nt "$0" ] || make_initramfs "$kdir" "$initrd"
    runs+=("$line|$mode|$kdir|$initrd|$hooks|$vsuites|${vcaps:-}")
done

# One guest: boot it, wait for it to power off (or the timeout), leave its results in $out.
run_guest() {
    local line=$1 mode=$2 kdir=$3 initrd=$4 out=$5 hooks=$6 run_suites=$7 agent_caps=$8 vmlinuz
    vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)
    mkdir -p "$out"
    cp "$repo/scripts/kernel-matrix-guest.sh" "$out/guest-init"
    cat >"$out/job" <<EOF
ECSGUARD_MATRIX_KERNEL=$line
ECSGUARD_MATRIX_CGROUP=$mode
ECSGUARD_MATRIX_BUILD=$build_dir
ECSGUARD_MATRIX_SUITES=$run_suites
ECSGUARD_TEST_HOOKS=$hooks
ECSGUARD_TEST_AGENT_CAPS=$agent_caps
ECSGUARD_TEST_FORCED_TWINS=$forced_twins
ECSGUARD_TEST_SECCOMP=${ECSGUARD_TEST_SECCOMP:-}
ECSGUARD_MATRIX_MODULES=$(ls -d "$kdir"/lib/modules/* "$kdir"/usr/lib/modules/* 2>/dev/null | head -1)
EOF
    local start=$SECONDS extra=()
    qemu_base
    if [ -n "$userland" ]; then
        # The userland is the root; what the suites need of the host is overlaid onto it.
        printf '%s\n' "$repo" "$build_dir" "$kdir" | sort -u >"$out/binds"
        extra=(-virtfs "local,path=$userland,mount_tag=eguser,security_model=none,readonly=on,multidevs=remap")
        append="$append eg_userland=1"
    fi
    timeout --kill-after=10 "$timeout_s" "${qemu[@]}" -serial "file:$out/console.log" \
        -kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
        -virtfs local,path=/,mount_tag=egroot,security_model=none,readonly=on,multidevs=remap \
        ${extra[@]+"${extra[@]}"} \
        -virtfs "local,path=$out,mount_tag=egout,security_model=none" \
        -device virtio-rng-pci >/dev/null 2>"$out/qemu.err" || true
    echo $((SECONDS - start)) >"$out/seconds"
}

running=0
declare -A used_out=()
for r in "${runs[@]}"; do
    IFS='|' read -r line mode kdir initrd hooks run_suites agent_caps <<<"$r"
    out="$results/$line-$mode"
    [ -z "$hooks" ] || out="$out-$(echo "$hooks" | sed 's/[a-zA-Z]*=//g; s/,/+/g')"
    [ -z "$agent_caps" ] || out="$out-caps-$(echo "$agent_caps" | sed 's/,/+/g')"
    # A kernel and mode may run twice (its suites split over two guests): -2, -3...
    n=1
    base=$out
    while [ -n "${used_out[$out]:-}" ]; do
        n=$((n + 1))
        out="$base-$n"
    done
    used_out[$out]=1
    echo "kernel-matrix: booting $(basename "$kdir") ($mode cgroups${hooks:+, --hook $hooks}${agent_caps:+, agent capabilities $agent_caps}) -> $out"
    run_guest "$line" "$mode" "$kdir" "$initrd" "$out" "$hooks" "$run_suites" "$agent_caps" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

# ---- the matrix ----
exec python3 "$repo/scripts/kernel-matrix-report.py" "$results"
