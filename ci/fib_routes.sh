#!/usr/bin/env bash
# Routing by destination with the kernel as the control plane: gateway A (ours, `kernel-routes
# on`, no next hop configured on any port) sends every packet where the FIB mirrored from its
# namespace's kernel says; B and C (ours, static next hops) are the far ends of its two
# tunnels, behind an outside router O (the Linux kernel forwarding).
#
#   H1 10.0.1.1 ─┐                                     ┌─ [B port1 | port0] ── RB 10.0.2.1
#   H2 10.0.1.2 ─┤                                     │  198.51.100.2
#   H3 10.0.1.3 ─┼─ bridge ── [A port0 | port1] ── O ──┤
#   RT1 10.0.1.10┤            192.0.2.1                │  203.0.113.2
#   RT2 10.0.1.11┘                                     └─ [C port1 | port0] ── RC 10.0.4.1
#                    RT1 and RT2 both reach H4 (10.0.3.1, a second inside subnet)
#
# A's kernel holds 10.0.1.254 and 192.0.2.1 on its exception TAPs, a route 10.0.3.0/24 via
# RT1, and routes to B's and C's outer subnets via O (192.0.2.254): the ESP packets are routed
# by their outer destination. Checks: each of H1-H3 and H4 pings RB and RC through their
# tunnels and back, and RB and RC ping each of them (decrypted packets routed by their inner
# destination: connected hosts on the LAN, H4's subnet through RT1); the four ping their
# remote subnets all at once (bursts split per next hop); `fastpath-ctl routes`
# and `neighbours` show the kernel's routes and the hosts; while RB pings H4 every 10 ms,
# `ip route replace` moves 10.0.3.0/24 to RT2 and the traffic follows, with the loss printed
# as a `figure:` line; a ping from RB to an address A has no route for gets "Destination Net
# Unreachable" from A through the tunnel (rate-limited under a flood), and so does H1's
# bypassed ping to a subnet A has no route for, in IPv4 and in IPv6 (an ICMPv6 no route,
# rate-limited alike); after `ip neigh flush` of H2 the first ping
# to H2 is answered (held until the kernel resolved H2 again).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/gateway_pair.sh
. ci/lib/gateway_pair.sh
# shellcheck source=lib/checks.sh
. ci/lib/checks.sh
BIN=${BIN:-target/release}
FASTPATH=$BIN/fastpath
[ -x "$FASTPATH" ] || cargo build --release --quiet -p fastpath
t=fr$$
work=$(mktemp -d /tmp/fib-routes.XXXXXX)
pass=0
fail=0
NS="S A B C O RB RC H1 H2 H3 RT1 RT2 H4"
K3=0f0e0d0c0b0a09080706050403020100aabbccdd
K4=8899aabbccddeeff0011223344556677deadbeef

cleanup() {
  stop_nodes
  for n in $NS; do ip netns del "$t$n" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/${t}A" "/var/run/dpdk/${t}B" "/var/run/dpdk/${t}C"
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
quiet() { "$@" >/dev/null 2>&1; }
in_ns() { local n=$1; shift; ip netns exec "$t$n" "$@"; }

for n in $NS; do
  ip netns add "$t$n"
  in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip -n "${t}S" link add br0 type bridge
ip -n "${t}S" link set br0 up
# lan NS DEV: a veth from DEV in NS to a port of the bridge.
lan() {
  ip link add "$2" netns "$t$1" type veth peer name "s$1" netns "${t}S"
  ip -n "${t}S" link set "s$1" master br0 up
  ip -n "$t$1" link set "$2" up
}
# wire NS1:DEV1 NS2:DEV2: a veth between two namespaces, both ends up.
wire() {
  ip link add "${1#*:}" netns "$t${1%%:*}" type veth peer name "${2#*:}" netns "$t${2%%:*}"
  ip -n "$t${1%%:*}" link set "${1#*:}" up
  ip -n "$t${2%%:*}" link set "${2#*:}" up
}
# addr NS DEV ADDR/LEN
addr() { ip -n "$t$1" addr add "$3" dev "$2"; }

lan A a0
for h in 1 2 3; do
  lan "H$h" eth0
  addr "H$h" eth0 "10.0.1.$h/24"
  ip -n "${t}H$h" route add default via 10.0.1.254
done
lan RT1 eth0
lan RT2 eth0
addr RT1 eth0 10.0.1.10/24
addr RT2 eth0 10.0.1.11/24
# H4: 10.0.3.1 behind both routers (a /30 to each), answering through RT1.
wire RT1:r1 H4:h4a
wire RT2:r2 H4:h4b
for x in RT1:r1:10.0.5.1/30 RT2:r2:10.0.6.1/30 H4:h4a:10.0.5.2/30 H4:h4b:10.0.6.2/30; do
  IFS=: read -r n dev a <<<"$x"
  addr "$n" "$dev" "$a"
done
addr H4 lo 10.0.3.1/24
ip -n "${t}H4" link set lo up
ip -n "${t}H4" route add default via 10.0.5.1
for r in RT1:10.0.5.2 RT2:10.0.6.2; do
  in_ns "${r%%:*}" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$t${r%%:*}" route add 10.0.3.0/24 via "${r#*:}"
  ip -n "$t${r%%:*}" route add default via 10.0.1.254
  # A router that forwards back onto the LAN it came from would otherwise send redirects.
  in_ns "${r%%:*}" sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
done
# The outside: O routes between A's, B's and C's outer subnets.
wire A:a1 O:oa
wire B:b1 O:ob
wire C:c1 O:oc
addr O oa 192.0.2.254/24
addr O ob 198.51.100.254/24
addr O oc 203.0.113.254/24
in_ns O sysctl -qw net.ipv4.ip_forward=1
# The remote subnets, each behind its gateway.
wire B:b0 RB:r0
wire C:c0 RC:r0
addr RB r0 10.0.2.1/24
addr RC r0 10.0.4.1/24
ip -n "${t}RB" route add default via 10.0.2.254
ip -n "${t}RC" route add default via 10.0.4.254
# A frame the fast path reads off a veth must carry its checksum (no offload happens there).
for n in H1 H2 H3 H4 RB RC RT1 RT2 O; do
  for d in $(ip -n "$t$n" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v '^lo$'); do
    in_ns "$n" ethtool -K "$d" tx off >/dev/null 2>&1 || true
  done
done

# node_conf NODE: the file of A (two tunnels) or of B / C (one tunnel each, to A).
node_conf() {
  local sa="aes128gcm16 key" a=192.0.2.1 b=198.51.100.2 c=203.0.113.2
  case $1 in
    A)
      echo "port 0 protected   exception 2"
      echo "port 1 unprotected exception 3"
      echo "local 10.0.1.254 $a fd00:1::fe"
      echo "kernel-routes on"
      echo "sa 1 out spi 0x1001 $sa $K1 tunnel $a $b esn"
      echo "sa 2 in  spi 0x2002 $sa $K2 tunnel $a $b esn"
      echo "sa 3 out spi 0x1003 $sa $K3 tunnel $a $c esn"
      echo "sa 4 in  spi 0x3001 $sa $K4 tunnel $a $c esn"
      echo "sp out protect 1 pri 10 src 10.0.0.0/16 dst 10.0.2.0/24"
      echo "sp in  protect 2 pri 10 src 10.0.2.0/24 dst 10.0.0.0/16"
      echo "sp out protect 3 pri 11 src 10.0.0.0/16 dst 10.0.4.0/24"
      echo "sp in  protect 4 pri 11 src 10.0.4.0/24 dst 10.0.0.0/16"
      # In clear to a subnet A has no route for: the no-route error from the protected side.
      echo "sp out bypass pri 12 src 10.0.1.0/24 dst 10.0.8.0/24"
      echo "sp out bypass pri 13 src fd00:1::/64 dst fd00:8::/64"
      ;;
    B | C)
      local me=$b inside=10.0.2 out=0x2002 in=0x1001 kout=$K2 kin=$K1
      [ "$1" = C ] && { me=$c inside=10.0.4 out=0x3001 in=0x1003 kout=$K4 kin=$K3; }
      echo "port 0 protected   exception 2 next-hop $inside.1"
      echo "port 1 unprotected exception 3 next-hop ${me%.*}.254"
      echo "local $inside.254 $me"
      echo "sa 1 out spi $out $sa $kout tunnel $me $a esn"
      echo "sa 2 in  spi $in $sa $kin tunnel $me $a esn"
      echo "sp out protect 1 pri 10 src $inside.0/24 dst 10.0.0.0/16"
      echo "sp in  protect 2 pri 10 src 10.0.0.0/16 dst $inside.0/24"
      ;;
  esac
}
for n in A B C; do node_conf $n >"$work/$n.conf"; done
start_node A a0 a1 10.0.1.254 192.0.2.1
start_node B b0 b1 10.0.2.254 198.51.100.2
start_node C c0 c1 10.0.4.254 203.0.113.2
ip -n "${t}A" route add 10.0.3.0/24 via 10.0.1.10 dev tapA0
# IPv6 on A's LAN side only (its TAP and H1): the kernel's connected route and H1 mirrored.
in_ns A sysctl -qw net.ipv6.conf.tapA0.disable_ipv6=0
ip -n "${t}A" addr add fd00:1::fe/64 dev tapA0 nodad
in_ns H1 sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
ip -n "${t}H1" addr add fd00:1::1/64 dev eth0 nodad
ip -n "${t}H1" route add default via fd00:1::fe
ip -n "${t}A" route add 198.51.100.0/24 via 192.0.2.254 dev tapA1
ip -n "${t}A" route add 203.0.113.0/24 via 192.0.2.254 dev tapA1
ctl() { in_ns A "$BIN/fastpath-ctl" -s "$work/A.sock" "$@"; }
wait_for 10 quiet ctl routes

ping_until() { # ns, ping arguments: up to 20 tries, as neighbours resolve
  local n=$1; shift
  for _ in $(seq 20); do in_ns "$n" ping -c 1 -W 1 "$@" >/dev/null 2>&1 && return 0; done
  return 1
}
for r in RB:10.0.2.1 RC:10.0.4.1; do
  for h in H1 H2 H3; do
    check "$h pings ${r%%:*} through its tunnel and back" ping_until "$h" "${r#*:}"
  done
  check "H4 pings ${r%%:*} from 10.0.3.1 through its tunnel and back" ping_until H4 -I 10.0.3.1 "${r#*:}"
done
for r in RB RC; do
  for a in 10.0.1.1 10.0.1.2 10.0.1.3 10.0.3.1; do
    check "$r pings $a (A's LAN, or H4 via RT1)" quiet in_ns "$r" ping -c 2 -i 0.2 -W 2 "$a"
  done
done

# All at once: H1 and H3 ping RB, H2 and H4 ping RC, 200 each 5 ms apart. The replies that
# A decrypts come in bursts bound for four next hops on its LAN (H1, H2, H3, and RT1 for
# H4), which the worker splits per next hop: every flow must get its replies.
flows=()
for f in H1:10.0.1.1:10.0.2.1 H2:10.0.1.2:10.0.4.1 H3:10.0.1.3:10.0.2.1 H4:10.0.3.1:10.0.4.1; do
  IFS=: read -r h from to <<<"$f"
  in_ns "$h" ping -c 200 -i 0.005 -W 1 -I "$from" "$to" >"$work/mixed.$h" 2>&1 &
  flows+=($!)
done
wait "${flows[@]}" || true
for h in H1 H2 H3 H4; do
  got=$(grep -Eo '[0-9]+ received' "$work/mixed.$h" | grep -Eo '[0-9]+' || echo 0)
  check "$h's 200 pings sent alongside the others' got $got replies (at least 195)" test "$got" -ge 195
done

ctl routes >"$work/routes.txt"
ctl neighbours >"$work/neighbours.txt"
cat "$work/routes.txt" "$work/neighbours.txt"
check "routes: the kernel's route to H4's subnet via RT1, origin kernel" \
  grep -Eq '^10\.0\.3\.0/24 +0 +10\.0\.1\.10 +kernel' "$work/routes.txt"
check "routes: the connected LAN and the outside subnet" \
  sh -c "grep -Eq '^10\.0\.1\.0/24 +0 +connected +kernel' '$work/routes.txt' && grep -Eq '^192\.0\.2\.0/24 +1 +connected +kernel' '$work/routes.txt'"
check "routes: B's and C's outer subnets via the outside router" \
  sh -c "grep -Eq '^198\.51\.100\.0/24 +1 +192\.0\.2\.254 +kernel' '$work/routes.txt' && grep -Eq '^203\.0\.113\.0/24 +1 +192\.0\.2\.254 +kernel' '$work/routes.txt'"
check "neighbours: the three hosts, RT1 and the outside router" \
  sh -c "for a in 10.0.1.1 10.0.1.2 10.0.1.3 10.0.1.10 192.0.2.254; do grep -Eq \" \$a +[0-9a-f:]{17} +reachable\" '$work/neighbours.txt' || exit 1; done"

# RB pings H4 every 10 ms; halfway the route moves to RT2. Replies come back through RT1.
in_ns RT2 sh -c 'cat /sys/class/net/eth0/statistics/rx_packets' >"$work/rt2.before"
in_ns RB ping -c 400 -i 0.01 -W 1 10.0.3.1 >"$work/move.txt" 2>&1 &
mover=$!
sleep 2
ip -n "${t}A" route replace 10.0.3.0/24 via 10.0.1.11 dev tapA0
wait "$mover" || true
rt2=$(( $(in_ns RT2 cat /sys/class/net/eth0/statistics/rx_packets) - $(cat "$work/rt2.before") ))
loss=$(grep -Eo '[0-9]+ received' "$work/move.txt" | grep -Eo '[0-9]+' || echo 0)
echo "figure: route moved under 100 pings/s (ip route replace): $((400 - loss)) of 400 lost"
check "after the replace, H4's traffic left A towards RT2 ($rt2 frames at RT2)" test "$rt2" -ge 100
check "at most 20 of 400 pings lost across the move ($((400 - loss)))" test $((400 - loss)) -le 20
# (Through a file: `grep -q` closing the pipe early would fail the writer.)
via_rt2() { ctl routes >"$work/routes2.txt" && grep -Eq '^10\.0\.3\.0/24 +0 +10\.0\.1\.11 +kernel' "$work/routes2.txt"; }
check "routes: H4's subnet now via RT2" via_rt2

# A routing counter from `fastpath-ctl stats`.
routing_counter() { # name
  ctl --json stats | python3 -c "import json,sys; print(json.load(sys.stdin)['routing']['$1'])"
}
# No route in A for 10.0.7.7 (inside B's policy towards A): A answers RB through the tunnel.
in_ns RB ping -c 1 -W 2 10.0.7.7 >"$work/unreachable.txt" 2>&1 || true
cat "$work/unreachable.txt"
check "a ping to 10.0.7.7 (no route in A) gets Destination Net Unreachable from 10.0.1.254" \
  grep -Eq 'From 10\.0\.1\.254.*Destination Net Unreachable' "$work/unreachable.txt"
# The same from the protected side: H1's bypassed ping to 10.0.8.8, answered on the LAN.
in_ns H1 ping -c 1 -W 2 10.0.8.8 >"$work/unreachable_lan.txt" 2>&1 || true
check "H1's bypassed ping to 10.0.8.8 (no route in A) gets Destination Net Unreachable from A" \
  grep -Eq 'From 10\.0\.1\.254.*Destination Net Unreachable' "$work/unreachable_lan.txt"
# flood_unreachable WHAT NS PATTERN PING-ARGS...: 200 unroutable pings from NS; A answers
# 10 at once, then 100/s (one worker), so at most 10 + elapsed/10 ms (+5 for the clocks'
# edges) come back, and the rest are counted as rate-limited.
flood_unreachable() {
  local what=$1 n=$2 pattern=$3 before t0 elapsed errors limited bound
  shift 3
  before=$(routing_counter icmp_unreachable_rate_limited)
  t0=$(now_ms)
  in_ns "$n" ping "$@" >"$work/flood.txt" 2>&1 || true
  elapsed=$(( $(now_ms) - t0 ))
  errors=$(grep -c "$pattern" "$work/flood.txt" || true)
  limited=$(( $(routing_counter icmp_unreachable_rate_limited) - before ))
  bound=$(( 10 + elapsed / 10 + 5 ))
  echo "figure: 200 unroutable $what pings in $elapsed ms: $errors errors back (bound $bound), $limited rate-limited"
  check "$what unreachable errors are rate-limited ($errors of 200 answered, at most $bound; $limited held back)" \
    sh -c "[ $errors -ge 10 ] && [ $errors -le $bound ] && [ $limited -gt 0 ] && [ $((errors + limited)) -ge 190 ]"
}
flood_unreachable IPv4 RB 'Destination Net Unreachable' -c 200 -i 0.002 -W 1 10.0.7.7
# IPv6 the same: H1's bypassed ping to fd00:8::8 (no route in A) gets an ICMPv6 destination
# unreachable, code 0 (no route), from A's address on the LAN; a flood is rate-limited alike.
ping6_unreachable() {
  in_ns H1 ping -6 -c 1 -W 2 fd00:8::8 >"$work/unreachable6.txt" 2>&1 || true
  grep -Eq 'From fd00:1::fe.*Destination unreachable: No route' "$work/unreachable6.txt"
}
# (Tries for 5 s: the first may go while A's kernel and H1 resolve each other.)
check "H1's ping to fd00:8::8 (no IPv6 route in A) gets ICMPv6 no route from fd00:1::fe" \
  wait_for 5 ping6_unreachable
cat "$work/unreachable6.txt"
sleep 0.2 # the bucket fills again
# (ping -6 paces itself to 10 ms once errors come back, within the bucket's rate: the first
# hundred go at once.)
flood_unreachable IPv6 H1 'Destination unreachable: No route' -6 -c 200 -l 100 -i 0.002 -W 1 fd00:8::8

# H2's entry flushed from A's kernel (and so from the fast path's table): the first ping to
# H2 waits in A for the kernel to resolve it again, and is answered.
held_before=$(routing_counter held_sent)
ip -n "${t}A" neigh flush to 10.0.1.2 dev tapA0
no_h2() { ctl neighbours >"$work/neighbours2.txt" && ! grep -Eq ' 10\.0\.1\.2 ' "$work/neighbours2.txt"; }
check "after ip neigh flush, A's fast path no longer has H2" wait_for 3 no_h2
check "the first ping to H2 after the flush is answered" quiet in_ns RB ping -c 1 -W 3 10.0.1.2
held_after=$(routing_counter held_sent)
check "it was held and sent once H2 resolved (held_sent $held_before -> $held_after)" \
  test "$held_after" -gt "$held_before"
ctl stats | grep -E '^routing' || true

stop_nodes
last=$(grep '"kind":"final"' "$work/A.out" | tail -n 1 || true)
echo "node A: $last"
counted() { echo "$last" | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j["encrypted"] >= 400 and j["decrypted"] >= 400 else 1)'; }
check "node A encrypted and decrypted at least 400 packets each" counted
print_failed_checks
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
