#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, unit and integration tests (with scapy as
# an independent ESP peer), and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --release 2>&1 | tee target/test.log
echo "== netns: two fast path nodes between two hosts"
bash ci/netns_ping.sh
echo "== interop with DPDK's ipsec-secgw (built from dpdk-doc by the anchor harness)"
bash ci/interop_secgw.sh
echo "== fuzz: every target, 20 s each"
bash ci/fuzz.sh 20
