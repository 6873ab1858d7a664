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
# exception path, the kernel's neighbour table read by the fast path), that L and R ping the
# far node's inside address through the tunnel (decrypted to the node's kernel, its answer
# protected by the node), and that the nodes' counters saw all of it. Sends traffic only
# inside its own namespaces; cleans up after itself.
#
# WORKERS=2: each node runs two worker lcores (sharing a CPU, with the idle sleep), and its
# af_packet ports two queue pairs, which the kernel's PACKET_FANOUT_HASH fills by flow hash:
# RSS as a port without RSS offload can do it. 16 UDP flows L -> R must then all arrive, spread
# over both workers of A, with the packets of the other worker's SA handed to its owner (one
# writer per SA) and no replay drop at B.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/gateway_pair.sh
. ci/lib/gateway_pair.sh
BIN=${BIN:-target/release/fastpath}
WORKERS=${WORKERS:-1}
case "$WORKERS" in
  1) LCORES="-l 0,1"; QP="";;
  2) LCORES="--lcores 0@0,1@1,2@1"; QP=",qpairs=2";;
  *) echo "WORKERS is 1 or 2" >&2; exit 2;;
esac
[ -x "$BIN" ] || cargo build --release --quiet -p fastpath
t=fp$$
work=$(mktemp -d /tmp/netns-ping.XXXXXX)
pass=0
fail=0

cleanup() {
  stop_nodes
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

FASTPATH=$BIN
pair_conf A 10.0.1.0/24 10.0.2.0/24 "next-hop 10.0.1.1" "next-hop 192.0.2.2" >"$work/A.conf"
pair_conf B 10.0.1.0/24 10.0.2.0/24 "next-hop 10.0.2.1" "next-hop 192.0.2.1" >"$work/B.conf"
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
# The gateways' inside addresses through the tunnel. Each node's kernel routes the far LAN via
# the far node's outer address on its unprotected TAP (as strongSwan's routes do): B decrypts
# L's ping to 10.0.2.254 and gives it to its kernel (to_node), and protects the kernel's answer
# with its outbound SA (from_node); the same for R's ping of 10.0.1.254 on A.
ip -n "${t}A" route add 10.0.2.0/24 via 192.0.2.2 dev tapA1
ip -n "${t}B" route add 10.0.1.0/24 via 192.0.2.1 dev tapB1
check "L pings node B's inside address through the tunnel" ping_until "${t}L" 10.0.2.254
check "R pings node A's inside address through the tunnel" ping_until "${t}R" 10.0.1.254
# The node's own packet too big for the port once encrypted, with DF set: its kernel gets the
# ICMP error, from the tunnel's far end (one from its own address would be a martian to it),
# and learns the path MTU left inside the tunnel (1500 - 52 bytes of ESP, to a 4-byte
# boundary, less the 2-byte trailer: 1446); then a 1450-byte ping goes, in fragments.
quiet ip netns exec "${t}B" ping -c 1 -W 1 -M do -s 1450 -I 10.0.2.254 10.0.1.1 || true
pmtu() { ip -n "${t}B" route get 10.0.1.1 from 10.0.2.254 | grep -q "mtu 1446"; }
check "B's kernel learnt the path MTU through the tunnel from the fast path's ICMP error (1446)" pmtu
check "B's kernel pings L from its inside address with 1450-byte packets, fragmented to fit" \
  quiet ip netns exec "${t}B" ping -c 3 -i 0.2 -W 2 -s 1450 -I 10.0.2.254 10.0.1.1

if [ "$WORKERS" = 2 ]; then
  # The fast path reads frames off the veth as they are: the UDP checksum must be in them,
  # not left to an offload that a veth never performs.
  ip netns exec "${t}L" ethtool -K l0 tx off >/dev/null
  # 16 UDP flows (source ports 40000-40015) of 40 datagrams each, counted per flow at R.
  ip netns exec "${t}R" timeout 30 python3 -c '
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.0.2.1", 9999)); s.settimeout(3)
got = {}
try:
    while True:
        d, a = s.recvfrom(2048); got[a[1]] = got.get(a[1], 0) + 1
except socket.timeout:
    pass
print(json.dumps(got))' >"$work/flows.json" &
  rx=$!
  sleep 0.5
  ip netns exec "${t}L" timeout 20 python3 -c '
import socket, time
socks = []
for p in range(40000, 40016):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.0.1.1", p)); socks.append(s)
for i in range(40):
    for s in socks:
        s.sendto(b"x" * 64, ("10.0.2.1", 9999))
    time.sleep(0.01)'
  wait "$rx" || true
  flows_ok() { python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); sys.exit(0 if len(g)==16 and all(v==40 for v in g.values()) else 1)' "$work/flows.json"; }
  check "16 UDP flows L -> R, 40 datagrams each, all arrive ($(cat "$work/flows.json"))" flows_ok
fi

stop_nodes
for n in A B; do
  last=$(grep '"kind":"final"' "$work/$n.out" | tail -n 1 || true)
  echo "node $n: $last"
  enc=$(echo "$last" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["encrypted"], j["decrypted"], j["exception"])' 2>/dev/null || echo "0 0 0")
  read -r e d x <<<"$enc"
  check "node $n encrypted ($e) and decrypted ($d) at least 15 packets each, exception path used ($x)" \
    test "$e" -ge 15 -a "$d" -ge 15 -a "$x" -gt 0
  own=$(echo "$last" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["to_node"], j["from_node"])' 2>/dev/null || echo "0 0")
  read -r tn fn <<<"$own"
  check "node $n gave decrypted packets for its own address to its kernel ($tn) and protected its answers ($fn)" \
    test "$tn" -ge 1 -a "$fn" -ge 1
  if [ "$WORKERS" = 2 ]; then
    workers=$(grep '"kind":"workers"' "$work/$n.out" | tail -n 1 || true)
    echo "node $n workers: $workers"
    # No drop at all on either node: a replay or window drop would mean a sequence number
    # used twice or sent out of order by two writers.
    nodrop() { echo "$workers" | python3 -c 'import json,sys; w=json.load(sys.stdin)["workers"]; sys.exit(0 if len(w)==2 and sum(x["drops"] for x in w)==0 else 1)'; }
    check "node $n: two workers, no packet dropped" nodrop
    if [ "$n" = A ]; then
      # A receives the 16 flows from L: the fanout spreads them over both workers, and the
      # one that does not own the outbound SA hands its packets to the one that does.
      spread() { echo "$workers" | python3 -c 'import json,sys; w=json.load(sys.stdin)["workers"]; sys.exit(0 if all(x["rx_packets"]>=20 for x in w) and sum(x["handed_off"] for x in w)>=20 else 1)'; }
      check "node A: both workers received flows, and packets were handed to the SA's owner" spread
    fi
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
