# Shared by scripts/run and scripts/test: install what is missing on a
# Debian/Ubuntu machine, idempotently (anything present is left alone).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MIN_RUST="1.95"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $* (install sudo or run as root)"
    fi
}

# Debian packages the project needs, installed only when missing.
APT_PACKAGES=(
    build-essential pkg-config ca-certificates curl
    postgresql postgresql-client
    # The reminder tests: a notification daemon on a private D-Bus and X.
    dunst xvfb dbus-daemon dbus-bin
    # The session tests: a real Secret Service (keyring) on a private bus.
    gnome-keyring
    # The desktop app (Tauri 2 on WebKitGTK), and its end-to-end tests in a
    # real window: WebKitWebDriver, which tauri-driver starts.
    libwebkit2gtk-4.1-dev librsvg2-dev libxdo-dev libssl-dev webkit2gtk-driver
    # Screenshots of the end-to-end test's windows (import).
    imagemagick
    # moto, the S3-compatible server of the storage tests, in a virtualenv.
    python3 python3-venv
)

install_system_packages() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

install_rust() {
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    local have=""
    command -v cargo >/dev/null && have="$(cargo --version | awk '{print $2}')"
    if [ -z "$have" ] || ! version_at_least "$have" "$MIN_RUST"; then
        log "installing Rust (found '${have:-none}', need >= $MIN_RUST)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --profile minimal --component clippy,rustfmt
        . "$HOME/.cargo/env"
    fi
    if command -v rustup >/dev/null; then
        for component in clippy rustfmt; do
            rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
        done
    fi
}

# The UI's build tools run on Node.js 18 or later (Vite 6).
install_node() {
    local major=""
    command -v node >/dev/null && major="$(node -p 'process.versions.node.split(".")[0]')"
    if [ -z "$major" ] || [ "$major" -lt 18 ] || ! command -v npm >/dev/null; then
        log "installing Node.js and npm (found '${major:-none}', need >= 18)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
    fi
}

# tauri-driver: the WebDriver server the end-to-end tests talk to.
TAURI_DRIVER_VERSION="2.1.0"
install_tauri_driver() {
    if ! tauri-driver --help >/dev/null 2>&1 ||
        [ "$(cargo install --list | awk '/^tauri-driver /{print $2}')" != "v$TAURI_DRIVER_VERSION:" ]; then
        log "installing tauri-driver $TAURI_DRIVER_VERSION"
        cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION"
    fi
}

# moto: a real S3-compatible server (from PyPI) for the attachment store's
# S3 backend tests, in a virtualenv of its own. The tests find it through
# CRM_MOTO_SERVER.
MOTO_VERSION="5.2.1"
install_moto() {
    local venv="$HOME/.cache/crm-tools/moto-$MOTO_VERSION"
    if [ ! -x "$venv/bin/moto_server" ]; then
        log "installing moto $MOTO_VERSION (an S3-compatible server for the storage tests)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    export CRM_MOTO_SERVER="$venv/bin/moto_server"
}

# schemathesis checks the live server against /openapi.json; the
# standardwebhooks package verifies webhook signatures independently.
SCHEMATHESIS_VERSION=4.32.5
STANDARDWEBHOOKS_VERSION=1.1.0
install_schemathesis() {
    local venv="$HOME/.cache/crm-tools/schemathesis-$SCHEMATHESIS_VERSION"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        log "installing schemathesis $SCHEMATHESIS_VERSION (the API contract test)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "schemathesis==$SCHEMATHESIS_VERSION" "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
    fi
    export CRM_SCHEMATHESIS="$venv/bin/schemathesis"
    export CRM_PYTHON_TOOLS="$venv/bin/python"
}

# A real older build of the app's sync client (`crm-sync` of commit
# 14d71f1, sync protocol 1), for the test that a client too old for the
# server is told to update and keeps its outbox. Built once from the source
# kept in desktop-core/tests/fixtures (see its README), in a target
# directory of its own (its crates share names with today's), and only the
# binary kept.
OLD_CLIENT=14d71f1
build_old_client() {
    local dir="$HOME/.cache/crm-tools/old-client-$OLD_CLIENT"
    if [ ! -x "$dir/crm-sync" ]; then
        log "building the sync client of $OLD_CLIENT (protocol 1) for the upgrade test"
        rm -rf "$dir"
        mkdir -p "$dir"
        tar -xzf "$ROOT/desktop-core/tests/fixtures/client-$OLD_CLIENT.tar.gz" -C "$dir"
        (cd "$dir/client-$OLD_CLIENT" &&
            CARGO_TARGET_DIR="$dir/target" cargo build --quiet --locked -p crm-desktop-core --bin crm-sync)
        cp "$dir/target/debug/crm-sync" "$dir/crm-sync.tmp"
        mv "$dir/crm-sync.tmp" "$dir/crm-sync"
        rm -rf "$dir/target" "$dir/client-$OLD_CLIENT"
    fi
    export CRM_OLD_CLIENT="$dir/crm-sync"
}

install_prerequisites() {
    install_system_packages
    install_rust
    install_node
}

# Installs the UI's packages (only when package-lock.json changed) and
# builds ui/dist, which the desktop app embeds when it compiles. The one
# install script among them, esbuild's (it checks and links its binary), is
# allowed in ui/package.json ("allowScripts"): npm 11 runs no dependency's
# script unless told, and warns about each one it skipped.
build_ui() {
    local stamp="$ROOT/ui/node_modules/.installed-lock"
    if ! cmp -s "$ROOT/ui/package-lock.json" "$stamp"; then
        log "installing the UI's packages"
        (cd "$ROOT/ui" && npm ci --no-audit --no-fund)
        cp "$ROOT/ui/package-lock.json" "$stamp"
    fi
    log "building the UI"
    (cd "$ROOT/ui" && npm run --silent build)
}

# Debian puts the server binaries outside PATH.
postgres_bin_dir() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    [ -n "$dir" ] || die "PostgreSQL server binaries not found; apt-get install postgresql"
    echo "$dir"
}
