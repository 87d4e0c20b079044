# Sourced by the install-* scripts: `debian_install WHAT PACKAGE...` installs Debian
# packages as root or through passwordless sudo, updating the package lists only when the
# first try fails (a fresh machine may have none yet). It calls the sourcing script's
# `give_up MESSAGE` when it cannot (no root, no apt-get, apt-get failed).
debian_install() {
    local what=$1
    shift
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            give_up "$what missing and installing it needs root: apt-get install $*"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || give_up "$what missing and there is no apt-get"
    _debian_get() {
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "$@"
    }
    _debian_get "$@" || { "${as_root[@]}" apt-get update -q && _debian_get "$@"; } \
        || give_up "apt-get could not install $*"
}
