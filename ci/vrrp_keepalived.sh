#!/usr/bin/env bash
# VRRP interop with keepalived 2.2.7: our slow path (namespace U) and keepalived (namespace K)
# on one bridge (namespace S), with three virtual routers at once: VRRPv3 IPv4 (VRID 51,
# 100 ms adverts), VRRPv3 IPv6 (VRID 52, 100 ms) and VRRPv2 IPv4 (VRID 53, 1 s).
#
#   1. keepalived alone (priority 100) becomes master; ours starts with 200 and preempts it.
#   2. ours is killed (SIGKILL, no goodbye): keepalived takes over.
#   3. keepalived stops (SIGTERM: priority 0); ours starts alone at 200 and is master;
#      keepalived starts again with 250 and preempts ours.
#   4. keepalived is killed (SIGKILL): ours takes over.
# Each step checks both sides: our state through slowpath-ctl, keepalived's by whether it
# holds the virtual addresses, and that exactly one of them holds each address. Sends traffic
# only inside its own namespaces; every wait is bounded; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib/checks.sh
BIN=${BIN:-target/release}
[ -x "$BIN/slowpath" ] || cargo build --release --quiet -p slowpath
t=vk$$
work=$(mktemp -d /tmp/vrrp-keepalived.XXXXXX)
ours=""
pass=0
fail=0

cleanup() {
  [ -n "$ours" ] && kill -9 "$ours" 2>/dev/null || true
  for n in S U K; do
    ip netns pids "$t$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for n in S U K; do ip netns del "$t$n" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT



for n in S U K; do ip netns add "$t$n"; done
ip -n "${t}S" link add br0 type bridge
ip -n "${t}S" link set br0 up
for n in U K; do
  dev=$(echo "$n" | tr 'A-Z' 'a-z')0
  ip link add "$dev" netns "$t$n" type veth peer name "s$dev" netns "${t}S"
  ip -n "${t}S" link set "s$dev" master br0 up
  # No duplicate address detection: the link-local source of IPv6 adverts is usable at once.
  ip netns exec "$t$n" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0"
  ip -n "$t$n" link set "$dev" up
done
ip -n "${t}U" addr add 10.9.0.1/24 dev u0
ip -n "${t}U" addr add fd00:9::1/64 dev u0 nodad
ip -n "${t}K" addr add 10.9.0.2/24 dev k0
ip -n "${t}K" addr add fd00:9::2/64 dev k0 nodad

VIP4=10.9.0.100 VIP6=fd00:9::100 VIP2=10.9.0.102

ours_conf() { # priority
  cat > "$work/ours.conf" <<CONF
control $work/sp.sock
vrrp v4 interface u0 vrid 51 priority $1 advert-int 100ms address $VIP4 garp 2
vrrp v6 interface u0 vrid 52 priority $1 advert-int 100ms address $VIP6 garp 2
vrrp v2 interface u0 vrid 53 priority $1 version 2 advert-int 1s address $VIP2
CONF
}

keepalived_conf() { # priority
  cat > "$work/k.conf" <<CONF
global_defs {
  router_id K
  vrrp_version 3
}
vrrp_instance V4 {
  state BACKUP
  interface k0
  virtual_router_id 51
  priority $1
  advert_int 0.1
  virtual_ipaddress {
    $VIP4/32
  }
}
vrrp_instance V6 {
  state BACKUP
  interface k0
  virtual_router_id 52
  priority $1
  advert_int 0.1
  virtual_ipaddress {
    $VIP6/128
  }
}
vrrp_instance V2 {
  version 2
  state BACKUP
  interface k0
  virtual_router_id 53
  priority $1
  advert_int 1
  virtual_ipaddress {
    $VIP2/32
  }
}
CONF
}

start_ours() { # priority
  ours_conf "$1"
  ip netns exec "${t}U" "$BIN/slowpath" --config "$work/ours.conf" >>"$work/ours.log" 2>&1 &
  ours=$!
  wait_for 5 test -S "$work/sp.sock"
}

start_keepalived() { # priority
  keepalived_conf "$1"
  # Its own /run, so that its pid files and state are its namespace's alone.
  ip netns exec "${t}K" unshare -m sh -c "mount -t tmpfs tmpfs /run; exec keepalived -n -l -D \
    -f $work/k.conf -p $work/k.pid -r $work/kv.pid" >>"$work/k.log" 2>&1 &
}

stop_keepalived() { # signal
  ip netns pids "${t}K" | xargs -r kill "-$1" 2>/dev/null || true
  local end=$((SECONDS + 10))
  while [ -n "$(ip netns pids "${t}K")" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
  if [ "$1" = 9 ]; then
    # A killed keepalived leaves its addresses behind, as a crashed router would.
    for a in $VIP4/32 $VIP2/32 $VIP6/128; do ip -n "${t}K" addr del "$a" dev k0 2>/dev/null || true; done
  fi
}

kill_ours() {
  kill -9 "$ours" 2>/dev/null || true
  wait "$ours" 2>/dev/null || true
  ours=""
  for a in $VIP4/32 $VIP2/32 $VIP6/128; do ip -n "${t}U" addr del "$a" dev u0 2>/dev/null || true; done
}

# A field of our instance, through the control socket: a Python expression over `i`.
our_instance() { # instance expression
  "$BIN/slowpath-ctl" -s "$work/sp.sock" --json instances 2>/dev/null |
    python3 -c "import json,sys; print(next($2 for i in json.load(sys.stdin) if i['name']=='$1'))" 2>/dev/null
}
# Our instance's state (master, backup, ...).
our_state() { our_instance "$1" "i['state']"; }
k_has() { ip -n "${t}K" addr show dev k0 | grep -q "inet6\? $1/"; }
u_has() { ip -n "${t}U" addr show dev u0 | grep -q "inet6\? $1/"; }

ours_master() { # instance vip
  [ "$(our_state "$1")" = master ] && u_has "$2" && ! k_has "$2"
}
k_master() { # instance vip
  [ "$(our_state "$1")" = backup ] && k_has "$2" && ! u_has "$2"
}
k_master_alone() { # vip
  k_has "$1" && ! u_has "$1"
}

echo "== 1. keepalived (100) is master alone; ours (200) starts and preempts it"
# Everything on the bridge, to check our gratuitous ARPs and unsolicited NAs.
ip netns exec "${t}S" tcpdump -i br0 -l -n -e 'arp or icmp6' >"$work/br0.txt" 2>/dev/null &
start_keepalived 100
check "keepalived alone: master of v4" wait_for 10 k_master_alone $VIP4
check "keepalived alone: master of v6" wait_for 10 k_master_alone $VIP6
check "keepalived alone: master of v2" wait_for 10 k_master_alone $VIP2
start_ours 200
check "ours preempts keepalived: v3 IPv4" wait_for 10 ours_master v4 $VIP4
check "ours preempts keepalived: v3 IPv6" wait_for 10 ours_master v6 $VIP6
check "ours preempts keepalived: v2 IPv4" wait_for 15 ours_master v2 $VIP2
check "keepalived logged the backup state" grep -q "(V4) Entering BACKUP STATE" "$work/k.log"

echo "== 2. ours is killed: keepalived takes over"
kill_ours
check "keepalived takes over v4" wait_for 10 k_master_alone $VIP4
check "keepalived takes over v6" wait_for 10 k_master_alone $VIP6
check "keepalived takes over v2" wait_for 15 k_master_alone $VIP2

echo "== 3. ours (200) alone is master; keepalived (250) starts and preempts ours"
stop_keepalived TERM
start_ours 200
check "ours alone: master of v4" wait_for 10 ours_master v4 $VIP4
check "ours alone: master of v6" wait_for 10 ours_master v6 $VIP6
check "ours alone: master of v2" wait_for 15 ours_master v2 $VIP2
start_keepalived 250
check "keepalived preempts ours: v3 IPv4" wait_for 10 k_master v4 $VIP4
check "keepalived preempts ours: v3 IPv6" wait_for 10 k_master v6 $VIP6
check "keepalived preempts ours: v2 IPv4" wait_for 15 k_master v2 $VIP2

echo "== 4. keepalived is killed: ours takes over"
stop_keepalived 9
check "ours takes over v4" wait_for 10 ours_master v4 $VIP4
check "ours takes over v6" wait_for 10 ours_master v6 $VIP6
check "ours takes over v2" wait_for 15 ours_master v2 $VIP2

echo "== 5. malformed adverts from scapy (each would win if accepted) are dropped and counted"
# How often v4 has left the master state so far: a bad advert taken for a good one shows here.
v4_backups() { our_instance v4 "i['counters']['became_backup']"; }
backups_before=$(v4_backups)
expected=$(ip netns exec "${t}K" /usr/bin/python3 ci/vrrp_bad_adverts.py k0 10.9.0.2 $VIP4)
sleep 0.5
ifs=$("$BIN/slowpath-ctl" -s "$work/sp.sock" --json interfaces)
for c in $expected; do
  check "a bad advert counted as $c" python3 -c "
import json,sys
drops=json.loads(sys.argv[1])[0]['drops']; sys.exit(0 if drops.get('$c',0) >= 1 else 1)" "$ifs"
done
check "v4 never left the master state for a bad advert" test "$(v4_backups)" = "$backups_before"
# A control request can be slow on a loaded machine: the state is read again for up to 3 s.
check "still master after the bad adverts" wait_for 3 ours_master v4 $VIP4

umac=$(ip netns exec "${t}U" cat /sys/class/net/u0/address)
check "our gratuitous ARP for the v3 VIP was on the wire" grep -q "^.* $umac > ff:ff:ff:ff:ff:ff.*Request who-has $VIP4 .*tell $VIP4" "$work/br0.txt"
check "our unsolicited NA for the IPv6 VIP was on the wire" grep -q "^.* $umac > 33:33:00:00:00:01.*neighbor advertisement, tgt is $VIP6" "$work/br0.txt"

counters=$("$BIN/slowpath-ctl" -s "$work/sp.sock" --json instances)
check "our adverts were accepted both ways (no parse drops)" python3 -c "
import json,sys
inst=json.loads(sys.argv[1])
assert all(i['counters']['adverts_received'] > 0 for i in inst), inst
" "$counters"
check "keepalived's frames were never refused (only scapy's bad ones)" python3 -c "
import json,sys
ifs=json.loads(sys.argv[1]); assert sum(ifs[0]['drops'].values()) == len(sys.argv[2].split()), ifs
" "$ifs" "$expected"

echo "vrrp_keepalived: $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  echo "--- ours.log"; tail -30 "$work/ours.log"
  echo "--- k.log"; tail -30 "$work/k.log"
  echo "--- our interfaces' drops"; echo "$ifs"
  echo "--- our instances"; "$BIN/slowpath-ctl" -s "$work/sp.sock" --json instances 2>&1 || true
  echo "--- addresses"; ip -n "${t}U" addr show dev u0 || true; ip -n "${t}K" addr show dev k0 || true
  print_failed_checks
  exit 1
fi
