#!/usr/bin/env bash
# Runs every test Nightshift has, on a fresh machine: installs what the tests
# need first (each step is skipped when it is already there), then the suite.
# This is the README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "error: cargo is missing: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
# A C compiler for the bundled SQLite; git and make for the real repositories
# the builder, forge and discovery tests create; bubblewrap for the job sandbox.
missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v git >/dev/null || missing+=(git)
command -v make >/dev/null || missing+=(make)
command -v bwrap >/dev/null || missing+=(bubblewrap)   # the job sandbox
command -v chromium >/dev/null || missing+=(chromium)               # the dashboard's browser test
command -v chromedriver >/dev/null || missing+=(chromium-driver)   # and its WebDriver
command -v npm >/dev/null || missing+=(nodejs npm)             # the janitor's npm test
command -v python3 >/dev/null || missing+=(python3)           # checksums for the npm registry stand-in
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}..."
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"
fi
# moto, the AWS emulator the AWS adapters' contract tests run against.
if ! python3 -c 'import moto.server, werkzeug' 2>/dev/null; then
    echo "installing moto (the AWS emulator) from PyPI..."
    python3 -m pip install --quiet 'moto[server]'
fi
# The shared data the benchmarks and some tests read.
if [ ! -d ../shared/data ]; then
    echo "note: ../shared/data is not next to this checkout; tests that need it will say so" >&2
fi

# template.yaml: cfn-lint and `sam validate --lint` (both from PyPI, installed
# into their own virtualenv on first use).
NIGHTSHIFT_SKIP_CARGO=1 ./scripts/validate-template.sh   # its Rust test runs with the rest below

# Run everything, then close with one line that counts every test binary's
# results (cargo's own last line is the doc tests', often "0 passed").
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
