#!/usr/bin/env bash
# Stateful failover between two of our nodes, judged by strongSwan:
#
#   host R (10.2.0.10) -- strongSwan S (10.2.0.1 | 192.0.2.2), charon with kernel-libipsec
#                                         |
#   outside bridge  ----------+-----------+----------   VRID 51, VIP 192.0.2.1 (IKE, ESP)
#                  A: port 1 (aO)    B: port 1 (bO)      A 192.0.2.11, B 192.0.2.12
#                  A: port 0 (aI)    B: port 0 (bI)      A 10.1.0.11,  B 10.1.0.12
#   inside bridge   ----------+-----------+----------   VRID 52, VIP 10.1.0.1
#                             |
#                     host L (10.1.0.10)           A hd 10.77.0.1 ===== B hd 10.77.0.2
#                                                   (the dedicated sync link)
#
# Each node: `fastpath` (idle-sleep mode, af_packet ports, a TAP per port) and `slowpath`
# (VRRP with 100 ms adverts on the TAPs, the two instances in one group that the HA group
# `gw` follows; IKE responder on the outside VIP). A has priority 200, B 100 (preempt delay
# 1 s). The sync runs over two paths: the dedicated link and the inside LAN. With HA_SYNC=1
# (the default) each node's config gets the `ha` statements (`ha_statements`); HA_SYNC=0
# runs the same nodes without them (no sync: a failover renegotiates).
#
# strongSwan initiates to the VIP (DPD 1 s, retransmits 1 s x 1.5, 2 tries: a dead gateway
# is noticed in seconds). R sends UDP with sequence numbers at TRAFFIC_PPS (200) to L, which
# echoes them (ci/ha_traffic.py): the loss window of each fault is a `figure:` line.
# Judged by strongSwan, never by our own counters: `swanctl --list-sas` (the IKE and CHILD
# SPIs before and after) and charon's log (no new IKE_SA_INIT; no ESP replay, ICV failure
# or unknown SPI from libipsec). SCENARIOS picks (default all), in this order:
#   1. kill -9 of both processes of the master: traffic recovers, same SPIs, no IKE_SA_INIT
#   2. on the new master: CHILD and IKE rekeys by strongSwan and by us (slowpath-ctl rekey),
#      and strongSwan's DPD answered
#   3. the old master comes back: in sync first, then it takes over by preemption
#   4. the dedicated sync link cut: a rekey crosses on the LAN and a kill -9 loses nothing;
#      every sync path cut: one active node (no split brain in the data plane), resync after
#   5. kill -9 of the master within 50 ms after a CHILD SA rekey completes
#   6. the same kill -9 with our node as the initiator and strongSwan as the responder
#   7. a virtual IP leased to strongSwan before the failover stays its own after it (the
#      traffic then comes from S itself, from that address), and a second client gets
#      another address from the new master
#   8. an IKEv1 tunnel (Main Mode PSK): kill -9 of the master, then a Quick Mode rekey and
#      strongSwan's DPD through the new master (ci/ha_failover_v1.sh)
# Scenario 3 follows a failover (1 or 2) when it runs after one; alone it makes its own.
# Traffic stays in the test's namespaces; every wait is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
HA_SYNC=${HA_SYNC:-1}
SCENARIOS=${SCENARIOS:-1 2 3 4 5 6 7 8}
TRAFFIC_PPS=${TRAFFIC_PPS:-200}
# strongSwan's ESP drops in its log, with the time of each line in ms (scenario 5).
SWAN_LOG_EXTRA="esp = 2
    time_format = %s
    time_add_ms = yes"
SWAN_CHARON_EXTRA="retransmit_timeout = 1.0
  retransmit_base = 1.5
  retransmit_tries = 2"
# The strongSwan side of ci/lib/ike_topology.sh (charon, swanctl, its conns); the nodes here.
source ci/lib/ike_topology.sh
source ci/ha_failover_v1.sh
t=ha$$
work=$(mktemp -d /tmp/ha-failover.XXXXXX)
FIGURES=${FIGURES:-$work/figures}
declare -A fp_pid sp_pid
echo_pid="" sender=""
failed_over=0
PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
head -c 32 /dev/urandom >"$work/sync.key"

cleanup() {
  [ -n "$sender" ] && kill "$sender" 2>/dev/null || true
  for n in A B; do [ -n "${sp_pid[$n]:-}" ] && kill -INT "${sp_pid[$n]}" 2>/dev/null || true; done
  [ -n "$charon" ] && kill -TERM "$charon" 2>/dev/null || true
  sleep 0.3
  for n in A B; do [ -n "${fp_pid[$n]:-}" ] && kill -INT "${fp_pid[$n]}" 2>/dev/null || true; done
  [ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null || true
  reap_netns "${t}A" "${t}B" "${t}S" "${t}R" "${t}L" "${t}W"
  for n in A B S R L W; do ip netns del "$t$n" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/${t}A" "/var/run/dpdk/${t}B"
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- Topology.
for n in A B S R L W; do ip netns add "$t$n"; done
for br in brO brI; do
  ip -n "${t}W" link add $br type bridge
  ip -n "${t}W" link set $br up
done
link_up() { # namespace, device
  ip netns exec "$t$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip -n "$t$1" link set "$2" up
}
to_bridge() { # namespace, device, bridge
  ip link add "$2" netns "$t$1" type veth peer name "w$2" netns "${t}W"
  ip -n "${t}W" link set "w$2" master "$3" up
  link_up "$1" "$2"
}
to_bridge A aO brO; to_bridge A aI brI
to_bridge B bO brO; to_bridge B bI brI
to_bridge S s0 brO; to_bridge L l0 brI
ip link add r0 netns "${t}R" type veth peer name s1 netns "${t}S"
link_up R r0; link_up S s1
ip link add hd netns "${t}A" type veth peer name hd netns "${t}B"
link_up A hd; link_up B hd
ip -n "${t}A" addr add 10.77.0.1/30 dev hd
ip -n "${t}B" addr add 10.77.0.2/30 dev hd
# The nodes' veths are fast path ports: their kernels must not answer ARP on them too. The
# hosts' veths fill in their UDP checksums (no NIC here to do it for the fast path).
for dev in aO aI; do ip netns exec "${t}A" sysctl -qw "net.ipv4.conf.$dev.arp_ignore=8"; done
for dev in bO bI; do ip netns exec "${t}B" sysctl -qw "net.ipv4.conf.$dev.arp_ignore=8"; done
for nd in S:s0 S:s1 R:r0 L:l0; do ip netns exec "$t${nd%%:*}" ethtool -K "${nd#*:}" tx off >/dev/null; done
ip -n "${t}S" addr add 192.0.2.2/24 dev s0
ip -n "${t}S" addr add 10.2.0.1/24 dev s1
ip netns exec "${t}S" sysctl -qw net.ipv4.ip_forward=1
ip -n "${t}R" addr add 10.2.0.10/24 dev r0
ip -n "${t}R" route add default via 10.2.0.1
ip -n "${t}L" addr add 10.1.0.10/24 dev l0
ip -n "${t}L" route add default via 10.1.0.1
for n in S R L; do ip -n "$t$n" link set lo up; done

# --- Our nodes: A is HA node 1 (priority 200), B node 2 (priority 100).
declare -A node_id=([A]=1 [B]=2) prio=([A]=200 [B]=100) out_addr=([A]=192.0.2.11 [B]=192.0.2.12)
declare -A lan_addr=([A]=10.1.0.11 [B]=10.1.0.12) port_prefix=([A]=a [B]=b)

# The HA block of a node's slow path config: the two nodes' blocks differ in node-id alone.
ha_statements() { # node id
  cat <<CONF
ha node-id $1
ha listen-ha-group gw
ha path dedicated 10.77.0.1 10.77.0.2
ha path lan ${lan_addr[A]} ${lan_addr[B]}
ha sync-key-file $work/sync.key
ha sync-period-packets 2
ha oseq-shift 65536
CONF
}

start_fastpath_of() { # node
  local n=$1 p=${port_prefix[$1]}
  rm -f "$work/fp$n.sock"
  cat >"$work/fp$n.conf" <<CONF
port 0 protected   exception 2 next-hop 10.1.0.10
port 1 unprotected exception 3 next-hop 192.0.2.2
local ${out_addr[$n]} ${lan_addr[$n]}
CONF
  ip netns exec "$t$n" "$BIN/fastpath" --config "$work/fp$n.conf" --control "$work/fp$n.sock" \
    --idle-sleep-us 200 --stats-ms 0 --ha-sync -- \
    -l 0,1 --no-huge -m 256 --file-prefix "$t$n" --no-pci --log-level=error \
    --vdev "net_af_packet0,iface=${p}I" --vdev "net_af_packet1,iface=${p}O" \
    --vdev "net_tap0,iface=tapI" --vdev "net_tap1,iface=tapO" >>"$work/fp$n.log" 2>&1 &
  fp_pid[$n]=$!
  wait_for 30 test -S "$work/fp$n.sock" || return 1
  wait_for 10 ip -n "$t$n" link show tapO >/dev/null 2>&1 || return 1
  local tap
  for tap in tapO tapI; do ip netns exec "$t$n" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"; done
  ip -n "$t$n" addr add "${out_addr[$n]}/24" dev tapO
  ip -n "$t$n" addr add "${lan_addr[$n]}/24" dev tapI
}

write_slowpath_conf() { # node
  local n=$1
  cat >"$work/sp$n.conf" <<CONF
control $work/sp$n.sock
fastpath $work/fp$n.sock
secret gw psk $PSK
pool vpn 10.3.0.0/24 dns 10.1.0.53
conn gcm local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128gcm16-prfsha256-ecp256 encap dpd 2s dpd-action clear add
child net conn gcm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-ecp256
conn vip local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp2048 encap pool vpn add
child vnet conn vip local-ts 10.1.0.0/16 remote-ts 10.3.0.0/24 esp aes128gcm16
conn vip2 local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id fqdn:client2.test auth psk gw ike aes256-sha256-modp2048 encap pool vpn add
child vnet2 conn vip2 local-ts 10.1.0.0/16 remote-ts 10.3.0.0/24 esp aes256gcm16
$(v1_conn_statements)
vrrp up   interface tapO vrid 51 priority ${prio[$n]} advert-int 100ms address 192.0.2.1 vmac accept fastpath-port 1 preempt-delay 1s garp 1 garp-rounds 2 garp-interval 500ms
vrrp down interface tapI vrid 52 priority ${prio[$n]} advert-int 100ms address 10.1.0.1 vmac accept fastpath-port 0 preempt-delay 1s
group uplinks up down
ha-group gw vrrp-group uplinks notify $work/hook.sh
CONF
  if [ "$HA_SYNC" = 1 ]; then ha_statements "${node_id[$n]}" >>"$work/sp$n.conf"; fi
}

start_slowpath_of() { # node
  local n=$1
  rm -f "$work/sp$n.sock"
  write_slowpath_conf "$n"
  ip netns exec "$t$n" "$BIN/slowpath" --config "$work/sp$n.conf" >>"$work/sp$n.log" 2>&1 &
  sp_pid[$n]=$!
  wait_for 10 test -S "$work/sp$n.sock"
}

start_node() { start_fastpath_of "$1" && start_slowpath_of "$1"; }
alive() { [ -n "${sp_pid[$1]:-}" ]; }
other() { if [ "$1" = A ]; then echo B; else echo A; fi; }

# kill -9 of both processes of a node, its slow path first (as a power cut would, at once).
kill_node() { # node
  kill -9 "${sp_pid[$1]}" "${fp_pid[$1]}" 2>/dev/null || true
  wait "${sp_pid[$1]}" "${fp_pid[$1]}" 2>/dev/null || true
  sp_pid[$1]="" fp_pid[$1]=""
}

cat >"$work/hook.sh" <<'HOOK'
#!/bin/sh
echo "$(date +%s%3N) $*" >> "$(dirname "$0")/hook.log"
HOOK
chmod +x "$work/hook.sh"

nctl() { local n=$1; shift; "$BIN/slowpath-ctl" -s "$work/sp$n.sock" --json "$@"; }
source ci/lib/node_pair.sh

# A check of what the HA sync itself shows (our nodes' view): only with HA_SYNC=1.
check_ha() { # name, command...
  if [ "$HA_SYNC" = 1 ]; then check "$@"; else echo "skipped (HA_SYNC=0): $1"; fi
}
# Whether a node's `slowpath-ctl ha` reports it in sync with its peer (the sync's status has
# an `in_sync` flag).
node_in_sync() { # node
  nctl "$1" ha 2>/dev/null | python3 -c "
import json,sys
def find(v):
    if isinstance(v, dict):
        return v.get('in_sync') is True or any(find(x) for x in v.values())
    return isinstance(v, list) and any(find(x) for x in v)
sys.exit(0 if find(json.load(sys.stdin)) else 1)" 2>/dev/null
}
node_out_of_sync() { ! node_in_sync "$1"; }
# How many SAs of a node's fast path are active.
active_sas() { # node
  "$BIN/fastpath-ctl" -s "$work/fp$1.sock" --json sa list 2>/dev/null |
    python3 -c "import json,sys; print(sum(1 for s in json.load(sys.stdin) if s['state']=='active'))" 2>/dev/null || echo 0
}
# A node's CHILD SAs of a conn as `SPI_IN SPI_OUT` lines (as swan_children turns strongSwan's).
node_children() { # node, conn
  nctl "$1" child-sas 2>/dev/null | python3 -c "
import json,sys
for c in json.load(sys.stdin):
    if c['conn']=='$2' and c['state']=='Installed': print(int(c['spi_in'],16), int(c['spi_out'],16))" 2>/dev/null | sort
}
# The standby holds strongSwan's CHILD SAs of a conn (invariant 1, as the standby shows it).
standby_holds() { # node, conn
  local a b; a=$(node_children "$1" "$2"); b=$(swan_children "$2")
  [ -n "$b" ] && [ "$a" = "$b" ]
}

# --- Traffic: L echoes; R (or S from its virtual IP) sends with sequence numbers.
ip netns exec "${t}L" python3 ci/ha_traffic.py echo 7000 >"$work/echo.log" 2>&1 &
echo_pid=$!
traffic_start() { # namespace, [source address]
  rm -f "$work/traffic.json"
  ip netns exec "$t$1" python3 ci/ha_traffic.py send 10.1.0.10 7000 "$TRAFFIC_PPS" "$work/traffic.json" ${2:+"$2"} &
  sender=$!
}
traffic_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/traffic.json" "$1" 2>/dev/null; }
# Whether echoes came in the last 300 ms.
traffic_flowing() { local last; last=$(traffic_field last_rx_ms) && [ $(($(now_ms) - last)) -lt 300 ]; }
# Stops the sender; its summary is then in $work/traffic.json.
traffic_stop() {
  kill -TERM "$sender" 2>/dev/null || true
  wait "$sender" 2>/dev/null || true
  sender=""
}
traffic_figure() { # label
  echo "figure: $1: loss window $(traffic_field max_window_ms) ms, $(traffic_field lost) lost of" \
    "$(traffic_field sent) at $TRAFFIC_PPS pps" | tee -a "$FIGURES"
}

# --- strongSwan: the remote gateway, initiating to the VIP.
write_strongswan_conf
{
  echo "connections {"
  swan_psk_conn gcm aes128gcm16-prfsha256-ecp256 aes128gcm16-ecp256 "dpd_delay = 1s" "dpd_action = restart"
  swan_vip_conn vip 192.0.2.2 aes128-sha1-modp2048 vnet aes128gcm16 "dpd_delay = 1s" "dpd_action = restart"
  swan_vip_conn vip2 client2.test aes256-sha256-modp2048 vnet2 aes256gcm16
  swan_v1_conn
  echo "}"
  swan_psk_secret
  printf 'secrets { ike-c2 { id-1 = 192.0.2.1\n    id-2 = client2.test\n    secret = %s } }\n' "$PSK"
} >"$work/swanctl.conf"

# --- The scenarios' common steps.
# Both nodes running and settled: A (the higher priority) master of both, B in sync.
nodes_ready() {
  local n
  for n in A B; do alive $n || check "nodes: $n started" start_node $n; done
  check "nodes: A master of both" wait_for 20 master_of_both A
  check "nodes: B backup of both" wait_for 10 not_master B
  check "nodes: A reaches B on both sync paths (dedicated, LAN)" wait_for 5 sync_paths_reach
  check_ha "nodes: B in sync" wait_for 30 node_in_sync B
}
# The sync's two paths carry traffic between the nodes' kernels (the LAN one through both
# fast paths' exception TAPs).
sync_paths_reach() {
  ip netns exec "${t}A" ping -c 1 -W 1 -q 10.77.0.2 >/dev/null &&
    ip netns exec "${t}A" ping -c 1 -W 1 -q "${lan_addr[B]}" >/dev/null
}
# strongSwan deletes an IKE SA of a conn. Its DELETE waits for an exchange in flight (a DPD
# whose request a preemption lost, retransmitted 1 s later); a plain --force destroys the SA
# before the DELETE leaves and our nodes keep it. So: up to 4 s for the DELETE's answer, then
# forced (a node that never knew the SA, without the sync, does not answer).
swan_terminate() { # conn
  swan_conn_gone "$1" || swan --terminate --ike "$1" --force --timeout 4 >/dev/null 2>&1 || true
}
# Whether a node (if it runs) holds no IKE SA of the test's conns.
node_has_no_ike() { # node
  alive "$1" || return 0
  nctl "$1" ike-sas 2>/dev/null | python3 -c "
import json,sys
sys.exit(0 if not any(s['conn'] in ('gcm','vip','vip2','v1') for s in json.load(sys.stdin)) else 1)"
}
nodes_have_no_ike() { node_has_no_ike A && node_has_no_ike B; }
# A new tunnel to the VIP: strongSwan's IKE SAs terminated (on our nodes too), then one
# initiated by strongSwan (conn gcm or vip) or by our master (conn gcm).
fresh_tunnel() { # conn, who initiates: swan|ours
  local c m
  for c in gcm vip vip2; do swan_terminate "$c"; done
  wait_for 10 swan_all_gone || true
  check "tunnel: the old IKE SAs gone from our nodes too" wait_for 10 nodes_have_no_ike
  m=$(master_node)
  if [ "$2" = ours ]; then
    nctl "$m" initiate "$1" >/dev/null || true
  else
    swan --initiate --child "$(child_of "$1")" --ike "$1" --timeout 15 >/dev/null 2>&1 || true
  fi
  check "tunnel: strongSwan's IKE SA $1 established ($2 initiated)" wait_for 15 swan_conn_established "$1"
  check_ha "tunnel: the standby holds the CHILD SA" wait_for 10 standby_holds "$(other "$m")" "$1"
  failed_over=0
}
swan_all_gone() { swan_conn_gone gcm && swan_conn_gone vip && swan_conn_gone vip2; }
child_of() { case $1 in gcm) echo net ;; vip) echo vnet ;; vip2) echo vnet2 ;; esac; }

# strongSwan's ESTABLISHED IKE SAs of a conn, a line each: its SPIs and those of its
# INSTALLED CHILD SAs (`IN/OUT`; one being deleted after a rekey is no longer there).
swan_state() { # conn
  swan_json | python3 -c "
import json,sys
for sa in json.load(sys.stdin).get('$1',[]):
    if sa.get('state')=='ESTABLISHED':
        kids=sorted(c['spi-in']+'/'+c['spi-out'] for c in sa.get('child-sas',{}).values() if c.get('state')=='INSTALLED')
        print(sa.get('initiator-spi'), sa.get('responder-spi'), *kids)"
}

# The judgement of one fault under traffic (started by the caller): kill -9 of the master,
# then what strongSwan says. Leaves the other node master.
judge_kill_master() { # label, conn
  local label=$1 conn=$2 m o before mark
  m=$(master_node); o=$(other "$m")
  if [ -z "$m" ]; then check "$label: one node is master" false; traffic_stop; return 0; fi
  check "$label: traffic flows before the kill" wait_for 10 traffic_flowing
  before=$(swan_state "$conn"); mark=$(log_lines)
  kill_node "$m"
  failed_over=1
  check "$label: $o becomes master of both" wait_for 10 master_of_both "$o"
  check "$label: traffic recovers" wait_for 45 traffic_flowing
  sleep 1
  traffic_stop
  judge_unchanged "$label" "$before" "$mark" "$conn"
  traffic_figure "$label"
}
# strongSwan's view since a log mark: same SPIs, nothing renegotiated, no ESP dropped.
judge_unchanged() { # label, SPIs before, log mark, conn
  judge_spis "$1" "$2" "$(swan_state "$4")"
  check "$1: strongSwan's IKE SA $4 still ESTABLISHED" swan_conn_established "$4"
  judge_log "$1" "$3"
}

# --- The scenarios.
scenario_kill_master() {
  echo "== 1. kill -9 of both processes of the master (strongSwan initiated the tunnel)"
  nodes_ready
  fresh_tunnel gcm swan
  traffic_start R
  judge_kill_master "1. kill -9 of the master" gcm
}

# The ids of a node's established IKE SA of a conn and of its installed CHILD SA.
our_ike_id() { # node, conn
  nctl "$1" ike-sas 2>/dev/null | python3 -c "
import json,sys
print(next(s['ike_sa'] for s in json.load(sys.stdin) if s['conn']=='$2' and s['state']=='Established'))" 2>/dev/null
}
our_child_id() { # node, conn
  nctl "$1" child-sas 2>/dev/null | python3 -c "
import json,sys
print(next(c['child'] for c in json.load(sys.stdin) if c['conn']=='$2' and c['state']=='Installed'))" 2>/dev/null
}
swan_child_installs_above() { [ "$(swan_child_installs "$1")" -gt "$2" ]; }
swan_ike_rekeys_above() { [ "$(swan_ike_rekeys "$1")" -gt "$2" ]; }
swan_one_child() { [ "$(swan_children "$1" | wc -l)" -eq 1 ]; }

scenario_rekeys_after() {
  echo "== 2. on the new master: CHILD and IKE rekeys (strongSwan's and ours), DPD"
  if [ "$failed_over" = 0 ] || ! swan_conn_established gcm; then
    nodes_ready
    fresh_tunnel gcm swan
    traffic_start R
    judge_kill_master "2. the failover first" gcm
  fi
  local m mark c0 r0 ike child spis
  m=$(master_node)
  check "2: strongSwan's tunnel is up through $m" wait_for 40 swan_conn_established gcm
  traffic_start R
  check "2: traffic flows" wait_for 45 traffic_flowing
  mark=$(log_lines)
  c0=$(swan_child_installs net); r0=$(swan_ike_rekeys gcm)
  swan --rekey --child net >/dev/null 2>&1 || true
  check "2: strongSwan's CHILD rekey completes" wait_for 10 swan_child_installs_above net "$c0"
  swan --rekey --ike gcm >/dev/null 2>&1 || true
  check "2: strongSwan's IKE rekey completes" wait_for 10 swan_ike_rekeys_above gcm "$r0"
  ike=$(our_ike_id "$m" gcm || true); child=$(our_child_id "$m" gcm || true)
  nctl "$m" rekey "${ike:-0}" "${child:-0}" >/dev/null 2>&1 || true
  check "2: our CHILD rekey: strongSwan installs the new CHILD SA" wait_for 10 swan_child_installs_above net $((c0 + 1))
  ike=$(our_ike_id "$m" gcm || true)
  nctl "$m" rekey "${ike:-0}" >/dev/null 2>&1 || true
  check "2: our IKE rekey: strongSwan logs it" wait_for 10 swan_ike_rekeys_above gcm $((r0 + 1))
  check "2: strongSwan keeps one CHILD SA after the rekeys" wait_for 10 swan_one_child gcm
  check "2: traffic flows after the rekeys" wait_for 10 traffic_flowing
  traffic_stop
  check "2: no packet lost across the rekeys" test "$(traffic_field lost)" -eq 0
  traffic_figure "2. rekeys on the new master"
  judge_log "2: rekeys" "$mark"
  # DPD on an idle tunnel: strongSwan's (every 1 s) must be answered by the new master with
  # the message IDs strongSwan expects. (Ours, at 2 s, stays quiet while strongSwan's
  # requests prove the peer alive.)
  mark=$(log_lines); spis=$(swan_state gcm)
  sleep 4
  check "2: strongSwan's DPD answered by the new master" test "$(log_since "$mark" 'parsed INFORMATIONAL response')" -gt 0
  check "2: no DPD request retransmitted" test "$(log_since "$mark" 'retransmit')" -eq 0
  check "2: DPD changed nothing (same SPIs)" test -n "$spis" -a "$spis" = "$(swan_state gcm)"
  judge_log "2: DPD" "$mark"
}

# Polled until A is master: whether A said it was in sync before it became master.
watch_preemption() {
  node_in_sync A && synced_first=1
  master_of_both A || return 1
  [ "$synced_first" = 1 ] || early=1
}

scenario_old_master_back() {
  echo "== 3. the old master (A) comes back: in sync first, then it takes over by preemption"
  if alive A || ! alive B; then
    nodes_ready
    fresh_tunnel gcm swan
    kill_node A
    failed_over=1
    check "3: B master of both" wait_for 10 master_of_both B
  fi
  check "3: strongSwan's tunnel is up through B" wait_for 40 swan_conn_established gcm
  traffic_start R
  check "3: traffic flows through B" wait_for 45 traffic_flowing
  local before mark
  before=$(swan_state gcm); mark=$(log_lines)
  synced_first=0 early=0
  check "3: A started again" start_node A
  check "3: A takes the master role back" wait_for 30 watch_preemption
  check_ha "3: A was in sync before it took over" test "$early" = 0
  check "3: B backup of both again" wait_for 10 not_master B
  check_ha "3: B in sync with A" wait_for 30 node_in_sync B
  check "3: traffic flows through A" wait_for 45 traffic_flowing
  sleep 1
  traffic_stop
  judge_unchanged "3. preemption" "$before" "$mark" gcm
  traffic_figure "3. the old master takes over again"
}

# How many nodes forward with active SAs (the data plane's view of who is active).
active_nodes() { local n=0 x; for x in A B; do [ "$(active_sas $x)" -gt 0 ] && n=$((n + 1)); done; echo $n; }
one_active_all_along() { # seconds: sampled every 200 ms
  local end=$((SECONDS + $1))
  while [ $SECONDS -lt $end ]; do
    [ "$(active_nodes)" -eq 1 ] && exactly_one_master || return 1
    sleep 0.2
  done
}
lan_sync_path() { # add|del: the route that keeps each node from the other's LAN address
  ip -n "${t}A" route "$1" prohibit "${lan_addr[B]}/32" || true
  ip -n "${t}B" route "$1" prohibit "${lan_addr[A]}/32" || true
}

scenario_sync_paths_cut() {
  echo "== 4a. the dedicated sync link cut: a rekey crosses on the LAN, a kill -9 loses nothing"
  nodes_ready
  fresh_tunnel gcm swan
  local c0 before mark
  traffic_start R
  check "4a: traffic flows" wait_for 10 traffic_flowing
  ip -n "${t}A" link set hd down
  c0=$(swan_child_installs net)
  swan --rekey --child net >/dev/null 2>&1 || true
  check "4a: strongSwan's CHILD rekey completes" wait_for 10 swan_child_installs_above net "$c0"
  check "4a: strongSwan keeps one CHILD SA" wait_for 10 swan_one_child gcm
  check_ha "4a: the standby holds the new CHILD SA (synced over the LAN)" wait_for 10 standby_holds B gcm
  sleep 1
  traffic_stop
  check "4a: nothing lost with the dedicated link down" test "$(traffic_field lost)" -eq 0
  traffic_start R
  judge_kill_master "4a. kill -9 with the dedicated link down" gcm
  ip -n "${t}A" link set hd up

  echo "== 4b. every sync path cut: one active node, then a resync"
  nodes_ready
  fresh_tunnel gcm swan
  traffic_start R
  check "4b: traffic flows" wait_for 10 traffic_flowing
  before=$(swan_state gcm); mark=$(log_lines)
  ip -n "${t}A" link set hd down
  lan_sync_path add
  check "4b: one master and one node with active SAs, for 4 s without a sync path" one_active_all_along 4
  check_ha "4b: B no longer in sync without a path to A" wait_for 10 node_out_of_sync B
  ip -n "${t}A" link set hd up
  lan_sync_path del
  check_ha "4b: B in sync again once the paths are back" wait_for 30 node_in_sync B
  check "4b: still one master and one node with active SAs" one_active_all_along 2
  traffic_stop
  check "4b: nothing lost" test "$(traffic_field lost)" -eq 0
  judge_unchanged "4b. sync paths cut" "$before" "$mark" gcm
  traffic_figure "4b. every sync path cut and back"
}

# The newest `CHILD_SA net{N} established with SPIs IN_i OUT_o` line since a mark: its time
# (unix ms, from the log's own timestamp) and strongSwan's SPIs in and out.
last_child_install() { # mark
  tail -n +"$(($1 + 1))" "$work/charon.log" | python3 -c "
import re,sys
found = None
for line in sys.stdin:
    m = re.match(r'(\d+)\.(\d{3}) .*CHILD_SA net\{\d+\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o', line)
    if m: found = m
if found: print(int(found[1]) * 1000 + int(found[2]), found[3], found[4])"
}

child_installed_after() { # byte offset in charon.log
  tail -c +"$(($1 + 1))" "$work/charon.log" | grep -q 'CHILD_SA net{[0-9]*} established with SPIs'
}
spis_have_in() { [ -n "$2" ] && [[ " $1 " == *" $2/"* ]]; }

scenario_kill_after_rekey() {
  echo "== 5. kill -9 of the master within 50 ms after a CHILD SA rekey completes"
  nodes_ready
  fresh_tunnel gcm swan
  local m o bytes mark ike0 rekey killed_ms line line_ms after_ms spis
  m=$(master_node); o=$(other "$m")
  if [ -z "$m" ]; then check "5: one node is master" false; return 0; fi
  traffic_start R
  check "5: traffic flows" wait_for 10 traffic_flowing
  mark=$(log_lines); bytes=$(stat -c %s "$work/charon.log")
  ike0=$(swan_state gcm | cut -d' ' -f1,2)
  # swanctl returns once the rekey is done: the log says when strongSwan installed the new
  # CHILD SA (read from where the log was, so that each look takes a few ms).
  swan --rekey --child net >/dev/null 2>&1 &
  rekey=$!
  WAIT_STEP=0.005 wait_for 10 child_installed_after "$bytes" || true
  killed_ms=$(now_ms)
  kill_node "$m"
  wait "$rekey" 2>/dev/null || true
  failed_over=1
  line=$(last_child_install "$mark")
  line_ms=${line%% *}
  after_ms=$((killed_ms - ${line_ms:-0}))
  echo "figure: 5. kill -9 $after_ms ms after strongSwan installed the rekeyed CHILD SA" | tee -a "$FIGURES"
  check "5: the rekey completed, then the kill came within 50 ms" test -n "$line" -a "$after_ms" -le 50
  check "5: $o becomes master of both" wait_for 10 master_of_both "$o"
  check "5: traffic recovers" wait_for 45 traffic_flowing
  check "5: strongSwan ends with one CHILD SA" wait_for 15 swan_one_child gcm
  sleep 1
  traffic_stop
  spis=$(swan_state gcm)
  echo "5: strongSwan's SPIs after: $spis (the rekey's: ${line#* })"
  check "5: strongSwan keeps the same IKE SPIs" test -n "$ike0" -a "$(echo "$spis" | cut -d' ' -f1,2)" = "$ike0"
  check "5: strongSwan keeps the rekeyed CHILD SA" spis_have_in "$spis" "$(echo "$line" | cut -d' ' -f2)"
  judge_log "5. kill -9 after a rekey" "$mark"
  traffic_figure "5. kill -9 right after a CHILD rekey"
}

# swanctl marks its own SPI of an IKE SA with a `*`.
swan_is_responder() { swan --list-sas 2>/dev/null | grep -qE '[0-9a-f]{16}_r\*'; }

scenario_our_initiator() {
  echo "== 6. our node initiates, strongSwan responds; kill -9 of the master"
  nodes_ready
  fresh_tunnel gcm ours
  check "6: strongSwan is the responder (its own SPI is the _r one)" swan_is_responder
  traffic_start R
  judge_kill_master "6. kill -9, our node the initiator" gcm
}

another_lease() { [ "$1" != "$2" ] && in_pool "$1"; }

scenario_virtual_ip() {
  echo "== 7. a virtual IP leased before the failover stays strongSwan's after it"
  nodes_ready
  fresh_tunnel vip swan
  local vip vip2 m
  vip=$(swan_vip vip)
  echo "7: strongSwan's virtual IP: ${vip:-none}"
  check "7: strongSwan holds an address of pool vpn" in_pool "$vip"
  check "7: the address is on an interface in S" wait_for 5 s_has_addr "$vip"
  traffic_start S "$vip"
  judge_kill_master "7. kill -9, a virtual IP leased" vip
  m=$(master_node)
  check "7: strongSwan still holds $vip" test "$(swan_vip vip)" = "$vip"
  swan --initiate --child vnet2 --ike vip2 --timeout 15 >/dev/null 2>&1 || true
  check "7: a second client gets an IKE SA from the new master" wait_for 15 swan_conn_established vip2
  vip2=$(swan_vip vip2)
  echo "7: the second client's virtual IP: ${vip2:-none}"
  check "7: the second client gets another address of the pool" another_lease "$vip2" "$vip"
  swan_terminate vip2
}


start_charon
for s in $SCENARIOS; do
  case $s in
    1) scenario_kill_master ;;
    2) scenario_rekeys_after ;;
    3) scenario_old_master_back ;;
    4) scenario_sync_paths_cut ;;
    5) scenario_kill_after_rekey ;;
    6) scenario_our_initiator ;;
    7) scenario_virtual_ip ;;
    8) scenario_v1 ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done

echo "ha_failover: $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  for f in spA.log spB.log fpA.log fpB.log; do echo "--- $f"; tail -15 "$work/$f" 2>/dev/null || true; done
  echo "--- charon.log"; tail -30 "$work/charon.log"
  exit 1
fi
