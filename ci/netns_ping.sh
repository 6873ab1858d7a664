#!/usr/bin/env bash
# Two fast path nodes between two hosts, each in its own network namespace:
#
#   host L (10.0.1.1) --veth-- [A: port0 | port1] --veth-- [B: port1 | port0] --veth-- host R (10.0.2.1)
#
# A and B use af_packet ports on the veths and a net_tap per port as the exception path, where
# the kernel holds the node's addresses (10.0.1.254 and 192.0.2.1 on A, 10.0.2.254 and
# 192.0.2.2 on B). Between A and B the traffic is ESP (AES-128-GCM, tunnel mode). Checks that
# L pings A's own address (answered by A's kernel through the exception path), that L and R
# ping each other through the tunnel with every MAC resolved dynamically (ARP through the
# exception path, the kernel's neighbour table read by the fast path), and that the nodes'
# counters saw the ESP. Sends traffic only inside its own namespaces; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/fastpath}
[ -x "$BIN" ] || cargo build --release --quiet -p fastpath
t=fp$$
work=$(mktemp -d /tmp/netns-ping.XXXXXX)
pids=()
pass=0
fail=0

cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  for n in L A B R; do ip netns del "$t$n" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/${t}A" "/var/run/dpdk/${t}B"
  rm -rf "$work"
}
trap cleanup EXIT

quiet() { "$@" >/dev/null 2>&1; }
check() { # name, command...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; pass=$((pass + 1)); else echo "FAILED: $name"; fail=$((fail + 1)); fi
}

for n in L A B R; do ip netns add "$t$n"; done
ip link add l0 netns "${t}L" type veth peer name a0 netns "${t}A"
ip link add a1 netns "${t}A" type veth peer name b1 netns "${t}B"
ip link add b0 netns "${t}B" type veth peer name r0 netns "${t}R"
for pair in L:l0 A:a0 A:a1 B:b1 B:b0 R:r0; do
  ns=$t${pair%%:*}; dev=${pair#*:}
  ip -n "$ns" link set "$dev" up
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
done
ip -n "${t}L" addr add 10.0.1.1/24 dev l0
ip -n "${t}L" route add 10.0.2.0/24 via 10.0.1.254
ip -n "${t}R" addr add 10.0.2.1/24 dev r0
ip -n "${t}R" route add 10.0.1.0/24 via 10.0.2.254

K1=2b7e151628aed2a6abf7158809cf4f3ccafebabe
K2=000102030405060708090a0b0c0d0e0f10111213
cat > "$work/A.conf" <<CONF
port 0 protected   exception 2 next-hop 10.0.1.1
port 1 unprotected exception 3 next-hop 192.0.2.2
local 10.0.1.254 192.0.2.1
sa 1 out spi 0x1001 aes128gcm16 key $K1 tunnel 192.0.2.1 192.0.2.2 esn
sa 2 in  spi 0x2002 aes128gcm16 key $K2 tunnel 192.0.2.1 192.0.2.2 esn
sp out protect 1 pri 10 src 10.0.1.0/24 dst 10.0.2.0/24
sp in  protect 2 pri 10 src 10.0.2.0/24 dst 10.0.1.0/24
CONF
cat > "$work/B.conf" <<CONF
port 0 protected   exception 2 next-hop 10.0.2.1
port 1 unprotected exception 3 next-hop 192.0.2.1
local 10.0.2.254 192.0.2.2
sa 1 out spi 0x2002 aes128gcm16 key $K2 tunnel 192.0.2.2 192.0.2.1 esn
sa 2 in  spi 0x1001 aes128gcm16 key $K1 tunnel 192.0.2.2 192.0.2.1 esn
sp out protect 1 pri 10 src 10.0.2.0/24 dst 10.0.1.0/24
sp in  protect 2 pri 10 src 10.0.1.0/24 dst 10.0.2.0/24
CONF

start_node() { # name, protected veth, unprotected veth, protected addr, unprotected addr
  local n=$1
  ip netns exec "$t$n" "$BIN" --config "$work/$n.conf" --idle-sleep-us 200 --stats-ms 0 --json -- \
    -l 0,1 --no-huge -m 256 --file-prefix "$t$n" --no-pci --log-level=error \
    --vdev "net_af_packet0,iface=$2" --vdev "net_af_packet1,iface=$3" \
    --vdev "net_tap0,iface=tap${n}0" --vdev "net_tap1,iface=tap${n}1" >"$work/$n.out" 2>"$work/$n.err" &
  pids+=($!)
  for _ in $(seq 100); do
    ip -n "$t$n" link show "tap${n}1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ip -n "$t$n" addr add "$4/24" dev "tap${n}0"
  ip -n "$t$n" addr add "$5/24" dev "tap${n}1"
  ip -n "$t$n" link set "tap${n}0" up
  ip -n "$t$n" link set "tap${n}1" up
}
start_node A a0 a1 10.0.1.254 192.0.2.1
start_node B b0 b1 10.0.2.254 192.0.2.2

ping_until() { # ns, address: up to 20 tries, as neighbours resolve
  for _ in $(seq 20); do
    ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1 && return 0
  done
  return 1
}
check "L pings node A's own address (exception path)" ping_until "${t}L" 10.0.1.254
check "R pings node B's own address (exception path)" ping_until "${t}R" 10.0.2.254
check "L pings R through the ESP tunnel" ping_until "${t}L" 10.0.2.1
check "10 more pings L -> R, none lost" quiet ip netns exec "${t}L" ping -c 10 -i 0.2 -W 2 10.0.2.1
check "R pings L through the ESP tunnel" quiet ip netns exec "${t}R" ping -c 5 -i 0.2 -W 2 10.0.1.1

for p in "${pids[@]}"; do kill -INT "$p"; done
for p in "${pids[@]}"; do timeout 15 tail --pid="$p" -f /dev/null || true; done
pids=()
for n in A B; do
  last=$(tail -n 1 "$work/$n.out" || true)
  echo "node $n: $last"
  enc=$(echo "$last" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["encrypted"], j["decrypted"], j["exception"])' 2>/dev/null || echo "0 0 0")
  read -r e d x <<<"$enc"
  check "node $n encrypted ($e) and decrypted ($d) at least 15 packets each, exception path used ($x)" \
    test "$e" -ge 15 -a "$d" -ge 15 -a "$x" -gt 0
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
