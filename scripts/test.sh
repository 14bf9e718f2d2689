#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, the ISA suite and the end-to-end boots of the Linux guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh"
step() { echo "scripts/test.sh: $*" >&2; }
step "building the ISA test programs"
make -s -C examples/isa
step "checking formatting"
cargo fmt --all -- --check
step "checking that every crate's imports form a tree"
python3 scripts/import-graph.py --check src machines/src replay/src debugger/src
step "clippy (the first build takes a few minutes)"
cargo clippy --workspace --all-targets -- -D warnings
step "building and running every test (the Linux boots take a few minutes more)"
cargo test --workspace --release
