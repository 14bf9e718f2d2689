#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, the ISA suite and the end-to-end boots of the Linux guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh"
step() { echo "scripts/test.sh: $*" >&2; }
# The advisories check needs the RustSec database from the network: run `cargo deny check advisories` by hand.
CARGO_DENY_VERSION=0.20.2
step "building the ISA test programs"
make -s -C examples/isa
step "checking formatting"
cargo fmt --all -- --check
step "checking that every crate's imports form a tree"
python3 scripts/import-graph.py --check src machines/src replay/src debugger/src
step "checking dependency licences and duplicate versions (cargo deny, deny.toml)"
if ! cargo deny --version >/dev/null 2>&1; then
  step "installing cargo-deny $CARGO_DENY_VERSION (once, about four minutes)"
  cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
fi
cargo deny --log-level error check licenses bans
step "clippy (the first build takes a few minutes)"
cargo clippy --workspace --all-targets -- -D warnings
step "building and running every test (the Linux boots take a few minutes more)"
cargo test --workspace --release
