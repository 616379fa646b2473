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
# A C compiler for the bundled SQLite.
if ! command -v cc >/dev/null; then
    echo "installing a C compiler (gcc) for the bundled SQLite..."
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gcc; else sudo apt-get update -qq && sudo apt-get install -y -qq gcc; fi
fi
# The shared data the benchmarks and some tests read.
if [ ! -d ../shared/data ]; then
    echo "note: ../shared/data is not next to this checkout; tests that need it will say so" >&2
fi

cargo test --workspace --locked "$@"
