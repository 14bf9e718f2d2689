#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, the ISA suite and the end-to-end boots of the Linux guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh"
make -s -C examples/isa
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo test --workspace --release
