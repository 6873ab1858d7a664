#!/usr/bin/env bash
# Crypto groups (redundant tunnels) against two strongSwan peers that protect one subnet:
#
#   host L (10.1.0.10) -- [G: port 0 | port 1] -- S: a bridge (192.0.2.2, the next hop)
#                                                      |
#                               strongSwan P1 (192.0.2.3)   strongSwan P2 (192.0.2.4)
#                                        10.2.0.1 -- bridge in W -- 10.2.0.2
#                                                 host H (10.2.0.10)
#
# G runs our fast path (idle-sleep) and slow path with `crypto-group site primary p1
# secondary p2`: conns to P1 and P2 for the same selectors (10.1.0.0/16 <-> 10.2.0.0/16),
# DPD 1 s, retransmit 0.5 s x 2. Each peer runs its own charon (kernel-libipsec, NAT-T, its
# own /run). L sends UDP with sequence numbers at PPS to H, which logs what arrives: the
# loss window of a switchover is the longest run of missing numbers, a `figure:` line.
#   1. switchover auto hold 3s: kill -9 of P1's charon: DPD declares P1 dead, the traffic
#      moves to P2 (P2's inbound SA counts it); P1 back: the group reverts after the hold.
#   2. the same with `switchover auto do-not-revert`: the traffic stays on P2.
#   3. a manual switchover (slowpath-ctl crypto-group-switchover) and back.
# As an operator's tools see it: net-snmp's snmptrapd in G receives the slow path's v2c traps
# (ipsecGwPeerDead and ipsecGwCryptoGroupSwitchover on P1's death, ipsecGwCryptoGroupRevert on
# the revert), and G's /metrics page, scraped after each step, passes `promtool check metrics`,
# names the member that carries the traffic and counts as many switchovers and reverts as the
# event stream has events.
# Every wait is bounded; traffic stays in the namespaces; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
PPS=${PPS:-200}
SWAN_CHARON_EXTRA="retransmit_timeout = 1.0
  retransmit_base = 1.5
  retransmit_tries = 2"
source ci/lib/ike_topology.sh
declare -A pc=()
PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
sender="" receiver="" trapd=""

cg_cleanup() {
  if [ -n "$trapd" ]; then kill "$trapd" 2>/dev/null; wait "$trapd" 2>/dev/null; fi || true
  [ -n "$sender" ] && kill "$sender" 2>/dev/null || true
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null || true
  for p in P1 P2; do [ -n "${pc[$p]:-}" ] && kill -TERM "${pc[$p]}" 2>/dev/null || true; done
  reap_netns "${t}P1" "${t}P2" "${t}H" "${t}W"
  for n in P1 P2 H W; do ip netns del "$t$n" 2>/dev/null || true; done
  ike_cleanup
}
ike_topology_up crypto-group
trap cg_cleanup EXIT

# --- The peers behind the router S, and the host H behind both.
for n in P1 P2 H W; do ip netns add "$t$n"; done
ip -n "${t}W" link add brH type bridge
ip -n "${t}W" link set brH up
# S's port to G becomes a bridge port: the peers sit on G's outside segment.
ip -n "${t}S" link add brX type bridge
ip -n "${t}S" link set brX up
ip -n "${t}S" addr del 192.0.2.2/24 dev s0
ip -n "${t}S" link set s0 master brX
ip -n "${t}S" addr add 192.0.2.2/24 dev brX
plug() { # namespace, device, bridge, address
  local sw=W
  [ "$3" = brX ] && sw=S
  ip link add "$2" netns "$t$1" type veth peer name "w$1$2" netns "$t$sw"
  ip -n "$t$sw" link set "w$1$2" master "$3" up
  ip netns exec "$t$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip -n "$t$1" link set "$2" up
  ip -n "$t$1" addr add "$4" dev "$2"
  ip netns exec "$t$1" ethtool -K "$2" tx off >/dev/null
}
plug P1 x0 brX 192.0.2.3/24
plug P2 x0 brX 192.0.2.4/24
plug P1 h0 brH 10.2.0.1/24
plug P2 h0 brH 10.2.0.2/24
plug H h0 brH 10.2.0.10/24
ip netns exec "${t}S" sysctl -qw net.ipv4.ip_forward=1
for p in P1 P2; do
  ip -n "$t$p" link set lo up
  ip netns exec "$t$p" sysctl -qw net.ipv4.ip_forward=1
done
ip -n "${t}H" route add default via 10.2.0.1

# --- strongSwan on each peer: responder for 10.2.0.0/16 <-> 10.1.0.0/16.
swan_peer_conf() { # peer, address
  mkdir -p "$work/$1"
  sed "s|$work/|$work/$1/|g" "$work/strongswan.conf.in" >"$work/$1/strongswan.conf"
  # The lib's PSK conn from 192.0.2.2, moved to this peer's address.
  {
    echo "connections {"
    swan_psk_conn gw aes128gcm16-prfsha256-ecp256 aes128gcm16 "dpd_delay = 1s"
    echo "}"
    swan_psk_secret
  } | sed "s/192\.0\.2\.2/$2/g" >"$work/$1/swanctl.conf"
}
write_strongswan_conf
mv "$work/strongswan.conf" "$work/strongswan.conf.in"
swan_peer_conf P1 192.0.2.3
swan_peer_conf P2 192.0.2.4
pswan() { local p=$1 cmd=$2; shift 2; ip netns exec "$t$p" swanctl "$cmd" --uri "unix://$work/$p/charon.vici" "$@" 2>/dev/null; }
start_peer() { # peer
  local p=$1
  rm -f "$work/$p/charon.vici"
  ip netns exec "$t$p" unshare -m sh -c "mount -t tmpfs tmpfs /run; STRONGSWAN_CONF=$work/$p/strongswan.conf exec /usr/lib/ipsec/charon" >>"$work/$p/charon.out" 2>&1 &
  pc[$p]=$!
  wait_for 15 test -S "$work/$p/charon.vici"
  wait_for 10 pswan "$p" --load-all --file "$work/$p/swanctl.conf" >/dev/null
}
# Packets that P's inbound CHILD SA counted.
peer_in_packets() { # peer
  { pswan "$1" --list-sas || true; } | { grep -E '^ +in ' || true; } | grep -oE '[0-9]+ packets' | awk '{s += $1} END {print s + 0}'
}
peer_counting() { # peer, more than
  [ "$(peer_in_packets "$1")" -gt "$2" ]
}
start_peer P1
start_peer P2

# --- snmptrapd on G's loopback (inside the namespace: the port is this run's alone), and
# where the slow path serves /metrics.
ip -n "${t}G" link set lo up
trap_port=1162
metrics_addr=127.0.0.1:9465
mibs=(-M "+:$PWD/mibs:$PWD/mibs/base" -m +IPSEC-GW-MIB)
mkdir -p "$work/snmp"
echo "authCommunity log public" >"$work/snmptrapd.conf"
ip netns exec "${t}G" env SNMP_PERSISTENT_DIR="$work/snmp" snmptrapd -f -C -c "$work/snmptrapd.conf" \
  "${mibs[@]}" -F '%P| %v\n' -Lf "$work/traps.log" "udp:127.0.0.1:$trap_port" 2>"$work/snmptrapd.err" &
trapd=$!
check "snmptrapd listens in G" wait_for 10 grep -qs 'NET-SNMP version' "$work/traps.log"
# The traps of one notification logged so far (those whose line matches a pattern, if given).
traps_of() { # notification name, [pattern]
  { grep "IPSEC-GW-MIB::$1\b" "$work/traps.log" || true; } | { grep -E "${2:-}" || true; } | wc -l
}
traps_at_least() { [ "$(traps_of "$1" "$2")" -ge "$3" ]; }
pages=0 page=""
# One sample's value on a page: `metric PAGE 'name{labels}'`.
metric() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
active_gauge() { # page, member, conn
  metric "$1" "slowpath_crypto_group_active{group=\"site\",member=\"$2\",conn=\"$3\"}"
}
# The page as it stands ($page, kept for more checks): promtool finds nothing, the active
# member and the counters agree with what slowpath-ctl and the event stream say.
judge_metrics() { # label, active member, its conn, the other member, its conn
  pages=$((pages + 1))
  page=$work/metrics.$pages
  check "$1: /metrics answers" wait_for 5 sh -c "ip netns exec '${t}G' curl -sf --max-time 5 'http://$metrics_addr/metrics' >'$page'"
  check "$1: promtool check metrics finds nothing" sh -c "promtool check metrics <'$page'"
  check "$1: the active gauge names $2 ($3)" test "$(active_gauge "$page" "$2" "$3")" = 1
  check "$1: and not $4 ($5)" test "$(active_gauge "$page" "$4" "$5")" = 0
  check "$1: the group carries traffic (gauge)" \
    test "$(metric "$page" 'slowpath_crypto_group_carrying{group="site"}')" = 1
  check "$1: switchovers_total = crypto_group_switchover events" \
    test "$(metric "$page" 'slowpath_crypto_group_switchovers_total{group="site"}')" = "$(events_of crypto_group_switchover)"
  check "$1: reverts_total = crypto_group_revert events" \
    test "$(metric "$page" 'slowpath_crypto_group_reverts_total{group="site"}')" = "$(events_of crypto_group_revert)"
}

# --- Our slow path with the group; the switchover mode is the argument.
write_sp_conf() { # "auto hold 3s" | "auto do-not-revert"
  local secret
  secret="secret lab psk $PSK"
  cat >"$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
$secret
conn p1 local 192.0.2.1 remote 192.0.2.3 auth psk lab ike aes128gcm16-prfsha256-ecp256 encap dpd 1s retransmit 500ms tries 2 add
child net conn p1 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16
conn p2 local 192.0.2.1 remote 192.0.2.4 auth psk lab ike aes128gcm16-prfsha256-ecp256 encap dpd 1s retransmit 500ms tries 2 add
child net conn p2 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16
crypto-group site primary p1 secondary p2 always switchover $1 retry 1s
snmp-trap 127.0.0.1:$trap_port v2c community public
metrics $metrics_addr
CONF
}
group() { ctl crypto-group site 2>/dev/null; }
group_is() { # python condition on g
  group | python3 -c "import json,sys; g=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"
}
both_up() { group_is "g['primary']['tunnel']=='up' and g['secondary']['tunnel']=='up'"; }
active_is() { group_is "g['active']=='$1' and g['carrying']"; }
events_of() { ctl events 2>/dev/null | python3 -c "import json,sys; print(sum(1 for e in json.load(sys.stdin) if e['event']=='$1'))"; }

# --- Traffic: L sends sequence numbers, H logs them.
cat >"$work/seq.py" <<'PY'
import socket, struct, sys, time
if sys.argv[1] == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 9000))
    with open(sys.argv[2], "a", buffering=1) as out:
        while True:
            d, _ = s.recvfrom(64)
            out.write("%d\n" % struct.unpack("!I", d[:4])[0])
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gap, n, t = 1.0 / int(sys.argv[3]), 0, time.monotonic()
    while True:
        s.sendto(struct.pack("!I", n) + b"\0" * 28, (sys.argv[2], 9000))
        n += 1
        t += gap
        time.sleep(max(0.0, t - time.monotonic()))
PY
# The longest run of missing sequence numbers among those after $2 (the line count when the
# fault began), in ms.
loss_window_ms() { # received log, from line
  tail -n "+$2" "$1" | sort -n | python3 -c "
import sys
seq = [int(l) for l in sys.stdin if l.strip()]
gap = max((b - a - 1 for a, b in zip(seq, seq[1:])), default=0)
print(int(gap * 1000 / $PPS))"
}
received() { wc -l <"$work/recv.log"; }
flowing() { local n; n=$(received); sleep 0.5; [ "$(received)" -gt "$n" ]; }

start_traffic() {
  : >"$work/recv.log"
  ip netns exec "${t}H" python3 "$work/seq.py" recv "$work/recv.log" &
  receiver=$!
  ip netns exec "${t}L" python3 "$work/seq.py" send 10.2.0.10 "$PPS" &
  sender=$!
}

# One failover of P1 under traffic; $1 is the mode, $2 whether the group goes back.
failover_run() { # mode, reverts (1|0)
  local mode=$1 reverts=$2 before from switch_traps dead_traps revert_traps
  write_sp_conf "$mode"
  start_slowpath
  check "$mode: both members up, the primary carrying" wait_for 20 both_up
  check "$mode: the primary carries the traffic" wait_for 10 active_is primary
  check "$mode: traffic reaches H through P1" wait_for 10 flowing
  judge_metrics "$mode, before" primary p1 secondary p2
  before=$(peer_in_packets P2)
  from=$(received)
  switch_traps=$(traps_of ipsecGwCryptoGroupSwitchover 'STRING: site')
  dead_traps=$(traps_of ipsecGwPeerDead)
  revert_traps=$(traps_of ipsecGwCryptoGroupRevert 'STRING: site')
  kill -9 "${pc[P1]}"
  wait "${pc[P1]}" 2>/dev/null || true
  pc[P1]=""
  check "$mode: DPD declares P1 dead, the group moves to the secondary" wait_for 15 active_is secondary
  check "$mode: P2's inbound SA carries the traffic" wait_for 10 peer_counting P2 "$before"
  check "$mode: traffic reaches H through P2" wait_for 10 flowing
  sleep 1
  echo "figure: crypto group switchover on DPD loss ($mode): loss window $(loss_window_ms "$work/recv.log" "$from") ms at $PPS pps (DPD 1 s, retransmit 0.5 s x 2; bash ci/crypto_group.sh)"
  check "$mode: a peer_dead and a crypto_group_switchover event" \
    test "$(events_of peer_dead)" -ge 1 -a "$(events_of crypto_group_switchover)" -ge 1
  check "$mode: snmptrapd receives ipsecGwPeerDead" \
    wait_for 10 traps_at_least ipsecGwPeerDead '' $((dead_traps + 1))
  check "$mode: snmptrapd receives ipsecGwCryptoGroupSwitchover for site" \
    wait_for 10 traps_at_least ipsecGwCryptoGroupSwitchover 'STRING: site' $((switch_traps + 1))
  judge_metrics "$mode, after P1's death" secondary p2 primary p1
  check "$mode: the peer state gauge says P1 dead" test "$(metric "$page" \
    'slowpath_crypto_group_peer_state{group="site",member="primary",conn="p1",state="dead"}')" = 1
  start_peer P1
  check "$mode: P1 back, the primary's tunnel up again" wait_for 20 group_is "g['primary']['tunnel']=='up'"
  if [ "$reverts" = 1 ]; then
    check "$mode: not before the hold" active_is secondary
    from=$(received)
    check "$mode: reverted to the primary after the hold" wait_for 10 active_is primary
    check "$mode: snmptrapd receives ipsecGwCryptoGroupRevert for site" \
      wait_for 10 traps_at_least ipsecGwCryptoGroupRevert 'STRING: site' $((revert_traps + 1))
    judge_metrics "$mode, after the revert" primary p1 secondary p2
    check "$mode: one revert counted, a crypto_group_revert event" \
      group_is "g['reverts']==1 and g['switchovers']==1 and $(events_of crypto_group_revert) == 1"
    check "$mode: traffic reaches H through P1 again" wait_for 10 flowing
    sleep 1
    echo "figure: crypto group revert ($mode): loss window $(loss_window_ms "$work/recv.log" "$from") ms at $PPS pps"
  else
    sleep 5
    check "$mode: stays on the secondary" active_is secondary
    check "$mode: no revert" group_is "g['reverts']==0"
    judge_metrics "$mode, P1 back, no revert" secondary p2 primary p1
    check "$mode: no ipsecGwCryptoGroupRevert trap" \
      test "$(traps_of ipsecGwCryptoGroupRevert 'STRING: site')" = "$revert_traps"
  fi
}

start_traffic
failover_run "auto hold 3s" 1
# Manual switchover both ways while both are up.
switch_site() { ctl crypto-group-switchover site >/dev/null; }
check "manual: switch to the secondary" switch_site
check "manual: the secondary carries" wait_for 5 active_is secondary
check "manual: traffic flows" wait_for 10 flowing
judge_metrics "manual, to the secondary" secondary p2 primary p1
check "manual: and back" switch_site
check "manual: the primary carries" wait_for 5 active_is primary
judge_metrics "manual, back" primary p1 secondary p2
check "the summary lists the group" sh -c "'$BIN/slowpath-ctl' -s '$work/sp.sock' crypto-groups | grep -q '^site '"
kill -INT "$sp"; wait "$sp" 2>/dev/null || true; sp=""
failover_run "auto do-not-revert" 0
ike_summary crypto_group.sh
