#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, unit and integration tests (with scapy as
# an independent ESP peer, keepalived as a VRRP peer, strongSwan as an IKE peer), and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
STEP_AT=$SECONDS
bash ci/setup.sh
# step TITLE: closes the step before with its time (CI's budget is watched step by step), then
# prints TITLE.
step() {
    echo "   (step took $((SECONDS - STEP_AT)) s, $((SECONDS - START)) s so far)"
    STEP_AT=$SECONDS
    echo "== $1"
}

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo test"
# The suite's release builds (the tests, the binaries its scripts run, the fuzz targets)
# without the release profile's thin LTO and single codegen unit, which the product's builds
# and every benchmark keep: from clean on 2 cores, the tests and binaries took 635 s to build
# this way against 984 s for the tests alone with them, the largest step of the suite.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
cargo test --workspace --release 2>&1 | tee target/test.log
# The namespace scripts below run target/release's binaries, which cargo test builds only for
# packages with integration tests: build every binary now, so that none is stale.
cargo build --release --quiet -p fastpath -p slowpath -p bench
step "netns: two fast path nodes between two hosts (one worker, then two with flows spread by fanout hash)"
bash ci/netns_ping.sh 2>&1 | tee target/netns.log
WORKERS=2 bash ci/netns_ping.sh 2>&1 | tee target/netns_rss.log
step "netns: routing by destination from the kernel's FIB (a LAN of hosts, two routers, a route moved under traffic)"
bash ci/fib_routes.sh 2>&1 | tee target/fib_routes.log
V4=100000 V6=10000 STATIC=0 bash bench/fib_load.sh 2>&1 | tee target/fib_load.log
step "interop with DPDK's ipsec-secgw (built from dpdk-doc by the anchor harness)"
bash ci/interop_secgw.sh 2>&1 | tee target/interop.log
step "VRRP interop with keepalived (v3 IPv4, v3 IPv6, v2) in network namespaces"
bash ci/vrrp_keepalived.sh 2>&1 | tee target/vrrp_keepalived.log
step "VRRP: two of our nodes (fast path + slow path) failing over"
bash ci/vrrp_pair.sh 2>&1 | tee target/vrrp_pair.log
step "IKEv2 interop with strongSwan (charon, kernel-libipsec), ESP through our fast path"
bash ci/ike_strongswan.sh 2>&1 | tee target/ike_strongswan.log
step "IKEv2 interop with strongSwan: certificates (RSA, ECDSA), rekeys under traffic, a virtual IP"
bash ci/ike_strongswan_more.sh 2>&1 | tee target/ike_strongswan_more.log
step "IKEv1 interop with strongSwan: Main Mode PSK and Quick Mode both ways, PFS, deletes, rekeys under a ping"
bash ci/ike_v1_strongswan.sh 2>&1 | tee target/ike_v1_strongswan.log
step "IKEv1 with strongSwan: Aggressive Mode PSK both ways, conns picked by identity, a refusal"
bash ci/ike_v1_aggressive.sh 2>&1 | tee target/ike_v1_aggressive.log
step "IKEv1 with strongSwan: Main Mode with RSA and ECDSA certificates both ways, PFS, an untrusted CA"
bash ci/ike_v1_sig.sh 2>&1 | tee target/ike_v1_sig.log
step "IKEv1 with strongSwan: DPD both ways, a killed peer found dead, ISAKMP SA reauthentication under a ping"; bash ci/ike_v1_dpd.sh 2>&1 | tee target/ike_v1_dpd.log
step "IKEv1 with strongSwan behind a NAT namespace: NAT-D, the float to 4500, UDP-encapsulated ESP, keepalives"
bash ci/ike_v1_natt.sh 2>&1 | tee target/ike_v1_natt.log
step "IKEv2 with strongSwan: IP-fragmented IKE_SA_INIT and certificate IKE_AUTH, reassembled by the fast path"
bash ci/ike_fragments.sh 2>&1 | tee target/ike_fragments.log
step "IKE under floods: spoofed IKE_SA_INITs from strongSwan's address, a cookie-answering flood"
bash ci/ike_floods.sh 2>&1 | tee target/ike_floods.log
step "restart recovery: kill -9 of the fast path, then of the slow path, under traffic to strongSwan"
bash ci/restart_recovery.sh 2>&1 | tee target/restart_recovery.log
step "stateful failover: two nodes with the HA sync, kill -9 of the master, rekeys, preemption, sync paths cut, judged by strongSwan"
SCENARIOS="1 2 3 4 5 6 7 8" bash ci/ha_failover.sh 2>&1 | tee target/ha_failover.log
step "SNMP traps (v2c, v3 SHA-1/SHA-256 + AES) of an HA role change, received by net-snmp's snmptrapd, and the MIB checked"
bash ci/snmp_traps.sh 2>&1 | tee target/snmp_traps.log
step "crypto groups: two strongSwan peers for one subnet, the primary killed, revert and do-not-revert"; bash ci/crypto_group.sh 2>&1 | tee target/crypto_group.log
step "fuzz: every target, 20 s each"
bash ci/fuzz.sh 20

step "done"
# One closing line over everything above (each step already failed the script if it failed).
cargo_passed=$(grep -o 'test result: ok. [0-9]* passed' target/test.log | awk '{s += $4} END {print s + 0}')
# Every script's log (all of target/*.log but cargo's): a script added above is counted.
script_logs=$(ls target/*.log | grep -v '^target/test.log$')
script_passed=$(cat $script_logs | grep -o '[0-9]* passed, 0 failed' | awk '{s += $1} END {print s + 0}')
echo "total: $((cargo_passed + script_passed + 3)) passed, 0 failed"
