#!/usr/bin/env bash
# Generate bpf/vmlinux/<ARCH>/vmlinux.h, the CO-RE type header the BPF
# programs are compiled against, from a real kernel's BTF.
#
#   scripts/gen-vmlinux-h.sh [-o OUT] ARCH
#
#   x86_64  from /sys/kernel/btf/vmlinux of the running kernel; the host must
#           be x86_64 with CONFIG_DEBUG_INFO_BTF=y.
#   arm64   from Debian's arm64 kernel package (any host architecture). The
#           package is fetched with a private apt configuration under a
#           temporary directory: the system's dpkg architectures, apt lists
#           and caches are not touched. The BTF blob is cut out of the kernel
#           image (/boot/vmlinuz-*) by its header and dumped with bpftool.
#
# Output: OUT (default bpf/vmlinux/<ARCH>/vmlinux.h in this repository). The
# kernel the header came from is printed on stdout as "source: ...".
#
# Environment (arm64):
#   ECSGUARD_ARM64_FLAVOUR   Debian kernel flavour: arm64 (default) or cloud-arm64
#   ECSGUARD_ARM64_KERNEL    exact binary package, e.g. linux-image-6.1.0-56-arm64
#                            (default: what linux-image-<flavour> depends on now)
#   ECSGUARD_DEBIAN_SUITE    default bookworm (Debian 12)
#   ECSGUARD_DEBIAN_MIRROR   default http://deb.debian.org/debian
#   ECSGUARD_DEBIAN_SECURITY default http://deb.debian.org/debian-security
#   ECSGUARD_KERNEL_DEB      use this already-downloaded .deb instead of apt
#
# Needs: bpftool, python3, dpkg-deb; for arm64 without ECSGUARD_KERNEL_DEB also
# apt-get and debian-archive-keyring; zstd only for zstd-compressed images.
set -euo pipefail
shopt -s inherit_errexit

usage() {
    echo "usage: $0 [-o OUT] {x86_64|arm64}" >&2
    exit 2
}

out=""
while getopts "o:h" opt; do
    case "$opt" in
    o) out="$OPTARG" ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
arch="$1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/private-apt.sh
. "$repo_root/scripts/private-apt.sh"
case "$arch" in
x86_64 | arm64) ;;
amd64) arch=x86_64 ;;
aarch64) arch=arm64 ;;
*) echo "gen-vmlinux-h: unsupported ARCH '$arch' (x86_64 or arm64)" >&2; exit 2 ;;
esac
[ -n "$out" ] || out="$repo_root/bpf/vmlinux/$arch/vmlinux.h"

BPFTOOL="${BPFTOOL:-$(command -v bpftool || echo /usr/sbin/bpftool)}"
[ -x "$BPFTOOL" ] || { echo "gen-vmlinux-h: bpftool not found (apt-get install bpftool)" >&2; exit 1; }

work="$(mktemp -d /tmp/gen-vmlinux-h.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Dump BTF file $1 as C into $out (atomically: never leave a half header).
dump_btf() {
    mkdir -p "$(dirname "$out")"
    "$BPFTOOL" btf dump file "$1" format c >"$work/vmlinux.h"
    grep -q '^struct task_struct {' "$work/vmlinux.h" ||
        { echo "gen-vmlinux-h: dumped BTF has no struct task_struct" >&2; exit 1; }
    mv "$work/vmlinux.h" "$out"
}

bpftool_version() { "$BPFTOOL" version 2>/dev/null | head -1; }

gen_x86_64() {
    local host
    host="$(uname -m)"
    if [ "$host" != x86_64 ]; then
        echo "gen-vmlinux-h: x86_64 is generated from the running kernel; this host is $host" >&2
        exit 1
    fi
    [ -r /sys/kernel/btf/vmlinux ] ||
        { echo "gen-vmlinux-h: /sys/kernel/btf/vmlinux missing (kernel without CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
    dump_btf /sys/kernel/btf/vmlinux
    echo "source: x86_64 running kernel $(uname -r) ($(uname -v)), /sys/kernel/btf/vmlinux"
    echo "tool: $(bpftool_version)"
    echo "wrote: $out"
}

# Fetch the Debian arm64 kernel package into $work/deb/ and echo its path.
fetch_arm64_deb() {
    local suite="${ECSGUARD_DEBIAN_SUITE:-bookworm}"
    local mirror="${ECSGUARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    local security="${ECSGUARD_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
    local flavour="${ECSGUARD_ARM64_FLAVOUR:-arm64}"
    mkdir -p "$work/deb"
    private_apt_arm64 "$work/apt" "$suite" "$mirror" "$security" || exit 1
    local opts=("${PRIVATE_APT_OPTS[@]}")

    apt-get "${opts[@]}" -qq update >&2
    local pkg="${ECSGUARD_ARM64_KERNEL:-}"
    if [ -z "$pkg" ]; then
        pkg="$(apt-cache "${opts[@]}" depends "linux-image-$flavour" |
            awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
        [ -n "$pkg" ] || { echo "gen-vmlinux-h: cannot resolve linux-image-$flavour in $suite" >&2; exit 1; }
    fi
    (cd "$work/deb" && apt-get "${opts[@]}" -qq download "$pkg" >&2)
    ls "$work"/deb/*.deb
}

# Cut the vmlinux BTF blob out of kernel image $1 into $2; print a summary.
extract_btf() {
    python3 - "$1" "$2" <<'PY'
import gzip, lzma, struct, subprocess, sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()

def zstd(buf):
    return subprocess.run(["zstd", "-dc"], input=buf, stdout=subprocess.PIPE, check=True).stdout

def unpack(buf):
    """Return the raw kernel image: Image, Image.gz/.zst/.xz or EFI zboot."""
    # EFI zboot (CONFIG_EFI_ZBOOT): "MZ", then "zimg", payload offset/size, comp type.
    if buf[:2] == b"MZ" and buf[4:8] == b"zimg":
        off, size = struct.unpack_from("<II", buf, 8)
        comp = buf[24:32].split(b"\0")[0].decode()
        payload = buf[off:off + size]
        return {"gzip": gzip.decompress, "xz": lzma.decompress, "lzma": lzma.decompress,
                "zstd": zstd}[comp](payload), "EFI zboot/" + comp
    if buf[:2] == b"\x1f\x8b":
        return gzip.decompress(buf), "gzip"
    if buf[:4] == b"\x28\xb5\x2f\xfd":
        return zstd(buf), "zstd"
    if buf[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(buf), "xz"
    return buf, "uncompressed"

img, how = unpack(data)

# struct btf_header { u16 magic=0xeB9F; u8 version=1; u8 flags; u32 hdr_len;
#                     u32 type_off, type_len, str_off, str_len; } (little endian)
best = None
i = img.find(b"\x9f\xeb\x01\x00")
while i >= 0:
    if i + 24 <= len(img):
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<5I", img, i + 4)
        end = i + hdr_len + max(type_off + type_len, str_off + str_len)
        if (hdr_len == 24 and type_off == 0 and str_off == type_len and str_len > 0
                and end <= len(img) and img[i + hdr_len + str_off] == 0
                and img[end - 1] == 0 and (best is None or end - i > best[1] - best[0])):
            best = (i, end)
    i = img.find(b"\x9f\xeb\x01\x00", i + 1)
if best is None:
    sys.exit("gen-vmlinux-h: no BTF blob in %s (kernel without CONFIG_DEBUG_INFO_BTF?)" % src)
open(dst, "wb").write(img[best[0]:best[1]])

banner = b""
j = img.find(b"Linux version ")
if j >= 0:
    banner = img[j:img.find(b"\n", j)]
print("image: %s, BTF at offset 0x%x, %d bytes" % (how, best[0], best[1] - best[0]))
print("banner: %s" % banner.decode("ascii", "replace").strip())
PY
}

gen_arm64() {
    local deb="${ECSGUARD_KERNEL_DEB:-}"
    [ -n "$deb" ] || deb="$(fetch_arm64_deb)"
    local pkg ver
    pkg="$(dpkg-deb -f "$deb" Package)"
    ver="$(dpkg-deb -f "$deb" Version)"
    [ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] ||
        { echo "gen-vmlinux-h: $deb is not an arm64 package" >&2; exit 1; }
    mkdir -p "$work/x"
    dpkg-deb -x "$deb" "$work/x"
    local img
    img="$(find "$work/x/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort | head -1)"
    [ -n "$img" ] || { echo "gen-vmlinux-h: $pkg has no /boot/vmlinuz-*" >&2; exit 1; }
    local info
    info="$(extract_btf "$img" "$work/vmlinux.btf")"
    dump_btf "$work/vmlinux.btf"
    echo "source: arm64 Debian package $pkg $ver ($(basename "$img"))"
    echo "$info"
    echo "deb sha256: $(sha256sum "$deb" | cut -d' ' -f1)"
    echo "btf sha256: $(sha256sum "$work/vmlinux.btf" | cut -d' ' -f1)"
    echo "tool: $(bpftool_version)"
    echo "wrote: $out"
}

"gen_$arch"
