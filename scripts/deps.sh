# Sourced by the scripts here: makes sure Debian packages are installed.
#   ensure_packages PKG...   installs the missing ones (as root, or with sudo)
#   ensure_server_packages PKG...   the same, and stops and disables the
#                            services the packages it installed started
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

ensure_server_packages() {
    local new
    new=$(missing_packages "$@" | tr '\n' ' ')
    ensure_packages "$@" || return 1
    [ -n "${new// /}" ] || return 0
    # Only where systemd runs (a container's policy-rc.d keeps them from starting).
    [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 || return 0
    local sudo="" pkg units
    [ "$(id -u)" = 0 ] || sudo="sudo"
    for pkg in $new; do
        case $pkg in
            redis-server) units="redis-server" ;;
            mosquitto) units="mosquitto" ;;
            openssh-server) units="ssh ssh.socket" ;;
            *) continue ;;
        esac
        echo "kawatch: $pkg was installed for the tests only: stopping and disabling $units" >&2
        $sudo systemctl disable --now $units >/dev/null 2>&1 || true
    done
}

ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "kawatch: cargo is not installed; install a Rust toolchain (https://rustup.rs) and run this again" >&2
        return 1
    fi
}
