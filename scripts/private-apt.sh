# shellcheck shell=bash
# Sourced by scripts that download Debian arm64 packages on an x86_64 host (build-arm64.sh's
# sysroot, gen-vmlinux-h.sh's kernel): a private apt state of its own, so that the host's apt
# sources, dpkg architectures and installed packages are never touched.
#
#   private_apt_arm64 DIR SUITE [MIRROR] [SECURITY_MIRROR]
#
# makes DIR (lists, cache, an empty dpkg status, a sources.list of SUITE, -updates and
# -security for arm64) and sets the array PRIVATE_APT_OPTS to the apt-get/apt-cache options
# that use it. An empty status makes apt resolve the whole dependency closure of what is
# asked for; --download-only and download fetch into DIR/cache/archives or the working
# directory, and nothing is installed.
private_apt_arm64() {
    local a=$1 suite=$2
    local mirror=${3:-http://deb.debian.org/debian}
    local security=${4:-http://deb.debian.org/debian-security}
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -r "$keyring" ] || { echo "$keyring missing (apt-get install debian-archive-keyring)" >&2; return 1; }
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d" "$a/preferences.d"
    : >"$a/status"
    {
        echo "deb [arch=arm64 signed-by=$keyring] $mirror $suite main"
        echo "deb [arch=arm64 signed-by=$keyring] $mirror $suite-updates main"
        echo "deb [arch=arm64 signed-by=$keyring] $security $suite-security main"
    } >"$a/sources.list"
    PRIVATE_APT_OPTS=(
        -o APT::Architecture=arm64 -o APT::Architectures=arm64
        -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts="$a/sources.list.d"
        -o Dir::Etc::Preferences="$a/preferences" -o Dir::Etc::PreferencesParts="$a/preferences.d"
        -o Dir::State::Lists="$a/lists" -o Dir::State::status="$a/status"
        -o Dir::Cache="$a/cache" -o Debug::NoLocking=1 -o APT::Install-Recommends=false
    )
    # Downloads land in a root-only temporary directory.
    [ "$(id -u)" -ne 0 ] || PRIVATE_APT_OPTS+=(-o APT::Sandbox::User=root)
}
