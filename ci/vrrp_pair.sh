#!/usr/bin/env bash
# Two gateway nodes of ours (fast path + slow path each) on two bridges, VRRP through the
# fast path's exception path, with 100 ms adverts:
#
#                 observer O (192.0.2.9, captures ARP)
#                        |
#   outside bridge  ----+-----------+------------   (VRID 51, VIP 192.0.2.100)
#                  A: port 1 (aO)   B: port 1 (bO)
#                  A: port 0 (aI)   B: port 0 (bI)
#   inside bridge   ----+-----------+------------   (VRID 52, VIP 10.1.0.1)
#
# Each node: `fastpath` with af_packet ports on the veths and a net_tap per port (tapO, tapI,
# where the kernel holds the node's addresses), and `slowpath` running VRRP on the TAPs, with
# the two instances in one sync group, virtual MACs (macvlans), accept mode, and the fast path
# told to send from the virtual MAC. A has priority 200 (preempt delay 1 s), B 100. A tracks
# its outside veth's carrier (the outside link failing takes the inside instance along).
#
#   1. A is master of both, B backup of both; O reaches the VIP at the virtual MAC.
#   2. A's slow path is killed (SIGKILL): B becomes master of both.
#   3. A's slow path comes back: after its preempt delay it takes both back.
#   4. A's outside link is cut: A faults, B becomes master of both.
#   5. The link comes back: A is master of both again.
#   6. Split brain: A is cut off from both bridges without losing its carrier, so both nodes
#      are master; when the link heals, the split brain is reported and RFC 5798's rules
#      leave exactly one master (A, the higher priority).
#   7. The operator makes A step down for 3 s (switchover): B is master, then A again.
#   8. A's fast path is killed: its TAPs vanish, A's slow path faults, B takes over; the
#      fast path comes back with new TAPs, the slow path reopens them and A is master again.
#   9. A's reachability probe (ICMP echo to O, weight 150 on both instances) fails: B takes
#      over; when O answers again A takes back.
# After each step exactly one node is master of each VRID. The time from each fault to the
# other node's master state, and to the first gratuitous ARP for the VIP seen by O, is printed
# (figures, not assertions: bench/vrrp_failover.sh repeats them). Traffic stays in the test's
# namespaces; every wait is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib/checks.sh
BIN=${BIN:-target/release}
[ -x "$BIN/fastpath" ] || cargo build --release --quiet -p fastpath
[ -x "$BIN/slowpath" ] || cargo build --release --quiet -p slowpath
t=vp$$
work=$(mktemp -d /tmp/vrrp-pair.XXXXXX)
declare -A fp_pid sp_pid
dump_pid=""
pass=0
fail=0
FIGURES=${FIGURES:-$work/figures}

cleanup() {
  for n in A B; do
    [ -n "${sp_pid[$n]:-}" ] && kill -INT "${sp_pid[$n]}" 2>/dev/null || true
  done
  sleep 0.3
  for n in A B; do
    [ -n "${fp_pid[$n]:-}" ] && kill -INT "${fp_pid[$n]}" 2>/dev/null || true
  done
  [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
  reap_netns "${t}A" "${t}B" "${t}O"
  for n in S A B O; do ip netns del "$t$n" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/${t}A" "/var/run/dpdk/${t}B"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT




for n in S A B O; do ip netns add "$t$n"; done
for br in brO brI; do
  ip -n "${t}S" link add $br type bridge
  ip -n "${t}S" link set $br up
done
veth() { # ns, dev, bridge
  ip link add "$2" netns "$t$1" type veth peer name "s$2" netns "${t}S"
  ip -n "${t}S" link set "s$2" master "$3" up
  ip netns exec "$t$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  # A node's veth is a fast path port (af_packet): the node's kernel must not answer ARP on
  # it too, as it would for any of its addresses (a NIC bound to DPDK has no kernel side).
  [ "$1" = O ] || ip netns exec "$t$1" sysctl -qw "net.ipv4.conf.$2.arp_ignore=8"
  ip -n "$t$1" link set "$2" up
}
veth A aO brO; veth A aI brI
veth B bO brO; veth B bI brI
veth O o0 brO
ip -n "${t}O" addr add 192.0.2.9/24 dev o0

# Node n: fast path on its veths with TAPs, then the slow path on the TAPs.
start_fastpath() { # node, lower-case prefix, outside addr, inside addr
  local n=$1 p=$2
  cat > "$work/fp$n.conf" <<CONF
port 0 protected   exception 2
port 1 unprotected exception 3
local $3 $4
CONF
  ip netns exec "$t$n" "$BIN/fastpath" --config "$work/fp$n.conf" --control "$work/fp$n.sock" \
    --idle-sleep-us 200 --stats-ms 0 -- \
    -l 0,1 --no-huge -m 256 --file-prefix "$t$n" --no-pci --log-level=error \
    --vdev "net_af_packet0,iface=${p}I" --vdev "net_af_packet1,iface=${p}O" \
    --vdev "net_tap0,iface=tapI" --vdev "net_tap1,iface=tapO" >"$work/fp$n.log" 2>&1 &
  fp_pid[$n]=$!
  wait_for 30 test -S "$work/fp$n.sock" || return 1
  wait_for 10 ip -n "$t$n" link show tapO >/dev/null 2>&1 || return 1
  for tap in tapO tapI; do
    ip netns exec "$t$n" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"
  done
  ip -n "$t$n" addr add "$3/24" dev tapO
  ip -n "$t$n" addr add "$4/24" dev tapI
}

start_slowpath() { # node, priority, lower-case prefix
  local n=$1
  cat > "$work/sp$n.conf" <<CONF
control $work/sp$n.sock
fastpath $work/fp$n.sock
track outside link ${3}O
track gw probe 192.0.2.9 interval 100ms timeout 100ms fail 3 rise 2
vrrp up   interface tapO vrid 51 priority $2 advert-int 100ms address 192.0.2.100 vmac accept fastpath-port 1 preempt-delay 1s garp 1 garp-rounds 2 garp-interval 500ms track outside track gw weight 150
vrrp down interface tapI vrid 52 priority $2 advert-int 100ms address 10.1.0.1 vmac accept fastpath-port 0 preempt-delay 1s track outside track gw weight 150
group gw up down
ha-group node vrrp-group gw notify $work/hook.sh
CONF
  ip netns exec "$t$n" "$BIN/slowpath" --config "$work/sp$n.conf" >>"$work/sp$n.log" 2>&1 &
  sp_pid[$n]=$!
  wait_for 10 test -S "$work/sp$n.sock"
}

cat > "$work/hook.sh" <<'HOOK'
#!/bin/sh
echo "$(date +%s%3N) $*" >> "$(dirname "$0")/hook.log"
HOOK
chmod +x "$work/hook.sh"
. ci/lib/node_pair.sh

# When node n's instance `up` last became master (unix ms), from its event log.
became_master_ms() { # node, after-ms
  "$BIN/slowpath-ctl" -s "$work/sp$1.sock" --json events 2>/dev/null | python3 -c "
import json,sys
ev=[e for e in json.load(sys.stdin) if e.get('event')=='vrrp_state' and e.get('instance')=='up' and e.get('to')=='master' and e['unix_ms']>=$2]
print(ev[0]['unix_ms'] if ev else '')"
}
# The first gratuitous ARP for the VIP from the virtual MAC that O saw after a time (unix ms).
garp_seen_ms() { # after-ms
  python3 - "$work/arp.txt" "$1" <<'PY'
import sys
after = int(sys.argv[2])
for line in open(sys.argv[1], errors="replace"):
    f = line.split()
    if len(f) > 2 and f[1] == "00:00:5e:00:01:33" and "who-has 192.0.2.100" in line and "tell 192.0.2.100" in line:
        ms = int(float(f[0]) * 1000)
        if ms >= after:
            print(ms); break
PY
}
# Whether both nodes' event logs together have every given kind of event after a time.
has_events() { # after-ms kind...
  local after=$1; shift
  { "$BIN/slowpath-ctl" -s "$work/spA.sock" --json events; "$BIN/slowpath-ctl" -s "$work/spB.sock" --json events; } 2>/dev/null |
    python3 -c "
import json,sys
kinds={e['event'] for line in sys.stdin for e in json.loads(line) if e['unix_ms']>=$after}
sys.exit(0 if set(sys.argv[1:]) <= kinds else 1)" "$@"
}
figure() { # label, fault ms, node that takes over
  local m g
  m=$(became_master_ms "$3" "$2")
  g=$(garp_seen_ms "$2")
  echo "figure: $1: master after $(( ${m:-0} - $2 )) ms, GARP seen after $(( ${g:-0} - $2 )) ms" | tee -a "$FIGURES"
  [ -n "$m" ] && [ -n "$g" ]
}

ip netns exec "${t}O" tcpdump -i o0 -l -n -tt -e arp >"$work/arp.txt" 2>/dev/null &
dump_pid=$!

start_fastpath A a 192.0.2.11 10.1.0.11
start_fastpath B b 192.0.2.12 10.1.0.12
start_slowpath A 200 a
start_slowpath B 100 b

echo "== 1. election"
check "A master of both" wait_for 10 master_of_both A
check "B backup of both" wait_for 10 not_master B
check "exactly one master" exactly_one_master
check "O pings the VIP" ip netns exec "${t}O" ping -c 2 -i 0.2 -W 2 -q 192.0.2.100
check "O resolved the VIP to the virtual MAC" sh -c "ip -n ${t}O neigh show 192.0.2.100 | grep -q 00:00:5e:00:01:33"
check "A's fast path has the VIPs as its own" sh -c "'$BIN/fastpath-ctl' -s '$work/fpA.sock' --json locals 2>/dev/null | grep -q 192.0.2.100"

[ -n "${PAUSE:-}" ] && sleep "$PAUSE"
echo "== 2. A's slow path killed"
t0=$(now_ms)
kill -9 "${sp_pid[A]}"; wait "${sp_pid[A]}" 2>/dev/null || true; sp_pid[A]=""
check "B master of both" wait_for 10 master_of_both B
check "takeover measured" figure "kill A's slow path" "$t0" B
check "O pings the VIP through B" ip netns exec "${t}O" ping -c 2 -i 0.2 -W 2 -q 192.0.2.100

echo "== 3. A's slow path back: preempts after 1 s"
t1=$(now_ms)
start_slowpath A 200 a
check "A master of both again" wait_for 10 master_of_both A
check "B backup of both again" wait_for 10 not_master B
check "A waited its preempt delay" python3 -c "import sys; sys.exit(0 if int(sys.argv[1]) - $t1 >= 1000 else 1)" "$(became_master_ms A "$t1")"
check "exactly one master" exactly_one_master

echo "== 4. A's outside link cut"
t2=$(now_ms)
ip -n "${t}S" link set saO down
check "B master of both" wait_for 10 master_of_both B
check "A in fault of both" wait_for 10 not_master A
check "takeover measured" figure "cut A's outside link" "$t2" B
check "exactly one master" exactly_one_master

echo "== 5. link back"
ip -n "${t}S" link set saO up
check "A master of both again" wait_for 15 master_of_both A
check "B backup of both again" wait_for 10 not_master B
sleep 1
check "exactly one master when settled" exactly_one_master
check "the HA hook ran on role changes" sh -c "grep -q 'node standby active' '$work/hook.log'"

echo "== 6. split brain: A cut off from both bridges (its carrier stays up: no track fires)"
t3=$(now_ms)
ip -n "${t}S" link set saO nomaster
ip -n "${t}S" link set saI nomaster
check "B master of both" wait_for 10 master_of_both B
check "A still master of both: two masters" master_of_both A
ip -n "${t}S" link set saO master brO
ip -n "${t}S" link set saI master brI
check "healed: A master of both" wait_for 10 master_of_both A
check "healed: B backup of both" wait_for 10 not_master B
check "split brain reported and resolved" has_events "$t3" split_brain split_brain_resolved
sleep 1
check "exactly one master when settled" exactly_one_master

echo "== 7. operator switchover: A steps down for 3 s"
"$BIN/slowpath-ctl" -s "$work/spA.sock" switchover gw --hold-ms 3000 >/dev/null
check "B master of both" wait_for 5 master_of_both B
check "A backup of both while held" not_master A
check "A master again after the hold and its preempt delay" wait_for 10 master_of_both A
sleep 1
check "exactly one master when settled" exactly_one_master

echo "== 8. A's fast path killed (its TAPs vanish), then started again"
t4=$(now_ms)
kill -9 "${fp_pid[A]}"; wait "${fp_pid[A]}" 2>/dev/null || true
check "B master of both" wait_for 10 master_of_both B
check "takeover measured" figure "kill A's fast path" "$t4" B
check "A's slow path saw its interfaces go: fault" wait_for 5 sh -c "[ \"\$('$BIN/slowpath-ctl' -s '$work/spA.sock' --json groups | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"state\"])')\" = Fault ]"
start_fastpath A a 192.0.2.11 10.1.0.11
check "A master of both again on the new TAPs" wait_for 15 master_of_both A
check "B backup of both again" wait_for 10 not_master B
check "O pings the VIP through A's new fast path" ip netns exec "${t}O" ping -c 2 -i 0.2 -W 2 -q 192.0.2.100
sleep 1
check "exactly one master when settled" exactly_one_master

echo "== 9. A's reachability probe of the outside gateway (O) fails: priority 200 - 150 < 100"
ip -n "${t}O" route add prohibit 192.0.2.11/32
check "B master of both" wait_for 10 master_of_both B
check "A backup of both" wait_for 10 not_master A
check "A's effective priority is 50" sh -c "'$BIN/slowpath-ctl' -s '$work/spA.sock' --json instances | grep -q '\"effective_priority\":50'"
ip -n "${t}O" route del prohibit 192.0.2.11/32
check "the probe answers again: A master of both" wait_for 10 master_of_both A
check "B backup of both again" wait_for 10 not_master B
sleep 1
check "exactly one master when settled" exactly_one_master

echo "vrrp_pair: $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  for f in spA.log spB.log fpA.log fpB.log; do echo "--- $f"; tail -20 "$work/$f"; done
  print_failed_checks
  exit 1
fi
