# Sourced by the scripts here: makes sure Debian packages are installed.
#   ensure_packages PKG...   installs the missing ones (as root, or with sudo)
# Returns non-zero, after saying what to do, when they cannot be installed.

missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done
}

ensure_packages() {
    local missing
    missing=$(missing_packages "$@" | tr '\n' ' ')
    [ -z "${missing// /}" ] && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "kawatch: missing Debian packages: $missing- install them as root: apt-get install $missing" >&2
            return 1
        fi
    fi
    echo "kawatch: installing $missing" >&2
    # wireshark-common asks whether non-root users may capture; keep the default (no).
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "kawatch: cargo is not installed; install a Rust toolchain (https://rustup.rs) and run this again" >&2
        return 1
    fi
}
