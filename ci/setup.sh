#!/usr/bin/env bash
# Installs, on a fresh Debian 12 machine as root, everything the project builds and tests with.
# Does nothing that is already done, so every entry point can call it.
set -euo pipefail

PACKAGES=(
  # DPDK 22.11 and what bindgen needs to read its headers
  dpdk dpdk-dev libdpdk-dev dpdk-doc clang libclang-dev pkg-config libnuma-dev libpcap-dev
  # OpenSSL, the IKE key exchange and signatures in the slow path
  libssl-dev
  # intel-ipsec-mb, the multi-buffer crypto library (also DPDK's crypto_ipsec_mb PMD)
  libipsec-mb-dev
  # the build of DPDK's ipsec-secgw example, for the side-by-side benchmark and interop
  meson ninja-build build-essential
  # an independent ESP implementation for the interop tests
  python3-scapy python3-cryptography
  # real peers for the interop tests, and the tools the netns tests use
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
  keepalived iproute2 iputils-ping tcpdump procps ethtool
  # the NAT (masquerade) in front of strongSwan in the IKEv1 NAT-T test
  nftables
  # net-snmp's trap receiver and tools, and libsmi's MIB checker, for the SNMP trap test
  snmptrapd snmp smitools
  # the certificates of the IKE interop tests are made with its command line tool
  openssl
  # promtool, which checks both processes' metrics pages as Prometheus reads them
  prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these services on install; the tests run their own instances.
  for s in strongswan-starter strongswan keepalived ipsec snmptrapd snmpd prometheus nftables; do
    systemctl disable --now "$s" >/dev/null 2>&1 || true
  done
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "ci/setup.sh: cargo not found; install the Rust toolchain (rustup) first" >&2
  exit 1
fi
for c in clippy rustfmt; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" >/dev/null 2>&1 || true
done
