#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs the system packages
# the tests drive (headless Chromium and its WebDriver for the emulator's web
# UI tests, PostgreSQL for the outbox's, Node.js and npm for the official
# Node SDK run against the emulator) when they are missing, then runs
# `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
    echo "installing ${missing[*]} (Debian packages) for the browser and database tests..."
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# --no-fail-fast: a failing test binary must not hide the results of the
# binaries after it; cargo still exits non-zero and lists every failure.
cargo test --workspace --no-fail-fast "$@"
