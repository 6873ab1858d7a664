#!/usr/bin/env bash
# Restart recovery, judged by strongSwan and by traffic:
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- strongSwan S (192.0.2.2, 10.2.0.1)
#                               G: fastpath --ha-sync (af_packet + net_tap) and slowpath (IKE)
#
# strongSwan initiates one IKE SA and one CHILD SA (10.2.0.0/16 <-> 10.1.0.0/16, AES-GCM), and
# L pings 10.2.0.1 through the tunnel every 20 ms all along.
#   a. kill -9 of the fast path, started again with the same configuration: the slow path
#      replays its SAs and policies (same ids, SPIs and keys; sequence numbers past the last
#      synced ones, a new IV generation). The ping recovers, strongSwan keeps the same IKE and
#      CHILD SPIs and logs no replayed sequence number and no ICV failure.
#   b. kill -9 of the slow path, started again: it reads its IKE SAs back from `ike-state-dir`
#      (written before each message left), takes the fast path's SAs of their CHILD SAs over
#      as they are (no orphan), and carries on: strongSwan keeps the same IKE and CHILD SPIs
#      and logs no new IKE_SA_INIT. A CHILD SA rekey and an IKE SA rekey (each from both
#      sides) and DPD then work on the carried-on IKE SA.
#   c. the same with an IKEv1 tunnel (strongSwan's `version = 1` conn, Main Mode PSK, NAT-T
#      forced) in place of the IKEv2 one: the slow path reads its ISAKMP SA back (cookies,
#      phase 1 keys and IV, IPsec SAs) and takes the fast path's SAs over; strongSwan keeps
#      the same cookies and IPsec SPIs and logs no new Main Mode (no ID_PROT exchange). A
#      Quick Mode rekey by strongSwan and its DPD (R-U-THERE every 1 s when idle) then work on
#      the carried-on ISAKMP SA, and its delete removes the record.
# Each prints the ping's loss as a `figure:`. Traffic stays in the test's namespaces; every wait
# is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
# The slow path's replay needs the fast path's seqnum records.
FP_ARGS="--ha-sync"
# strongSwan's own view of ESP drops (replays, ICV failures, unknown SPIs).
SWAN_LOG_EXTRA="esp = 2"
source ci/lib/ike_topology.sh
source ci/lib/ike_v1_tunnel.sh
ike_topology_up restart-recovery

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PING_INTERVAL=0.02 PING_INTERVAL_MS=20

write_strongswan_conf
{
  echo "connections {"
  swan_psk_conn gcm aes128gcm16-prfsha256-ecp256 aes128gcm16-ecp256 "dpd_delay = 5s"
  swan_v1_conn
  echo "}"
  swan_psk_secret
} >"$work/swanctl.conf"

cat > "$work/sp.conf" <<CONF
control $work/sp.sock
ike-state-dir $work/ike-state
fastpath $work/fp.sock
secret gw psk $PSK
conn gcm local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128gcm16-prfsha256-ecp256 encap add
child net conn gcm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-ecp256
$(v1_conn_statements)
CONF
start_slowpath
start_charon

# A ping of L through the tunnel, in the background, until `ping_stop`.
ping_start() {
  # -O: a lost reply prints a line too, so the last lines tell whether replies come now.
  ip netns exec "${t}L" ping -O -i "$PING_INTERVAL" -W 1 10.2.0.1 >"$work/ping.out" 2>&1 &
  pinger=$!
}
# Stops it; prints the packets it lost. Called as `$(ping_stop)`: in that subshell the pinger
# is no child, `wait` returns at once, so the summary line is waited for in the file (the
# file read before ping wrote it gave a loss of -77 once).
ping_stop() {
  kill -INT "$pinger" 2>/dev/null || true
  wait "$pinger" 2>/dev/null || true
  local line i
  for i in $(seq 50); do
    line=$(grep -E '^[0-9]+ packets transmitted, [0-9]+ received' "$work/ping.out" || true)
    [ -z "$line" ] || break
    sleep 0.1
  done
  [ -n "$line" ] || { echo "ping_stop: no summary from ping" >&2; echo -1; return; }
  echo "$line" | awk '{ print $1 - $4 }'
}
# Whether the last 10 pings were answered (the tunnel carries traffic again).
ping_flowing() { [ "$(grep 'icmp_seq=' "$work/ping.out" | tail -10 | grep -c 'bytes from')" -ge 10 ]; }
# Our slow path's counter of CHILD SAs the fast path refused.
install_failures() { ctl ike-counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["child_install_failures"])'; }
# The MAC of one of G's TAPs, and S's neighbour entry for G's outside address.
tap_mac() { ip -n "${t}G" -o link show "$1" | grep -oE 'link/ether [0-9a-f:]+' | cut -d' ' -f2; }
peer_entry() { ip -n "${t}S" neigh show 192.0.2.1 | grep -oE 'lladdr [0-9a-f:]+' | cut -d' ' -f2; }
# Whether our slow path logged a reconciliation with these counts ("replayed":1 and the like).
resynced() { grep '"event":"fastpath_resync"' "$work/sp.log" | grep -q "$1"; }
figure() { # label, packets
  echo "figure: $1: $2 packets ($(($2 * PING_INTERVAL_MS)) ms)"
}
# The checkpoint's files of one kind: `ike` (IKEv2 SAs) or `ike1` (ISAKMP SAs).
records_of() { ls "$work/ike-state" | grep -c "\\.$1\$" || true; }
# Under the running ping: kill -9 of the slow path and its start again, judged by strongSwan,
# our log and the fast path. Sets `loss` (packets) and `kill_mark` (charon.log's length then).
kill_slowpath_judged() { # label, what the `ike_restored` event counts ('"ike_sas":1')
  local label=$1 before after
  before=$(swan_spis)
  kill_mark=$(log_lines)
  kill -9 "$sp"
  wait "$sp" 2>/dev/null || true
  rm -f "$work/sp.sock"
  start_slowpath
  check "$label: our SA is back" wait_for 10 our_ike_up
  check "$label: it was read from the checkpoint" wait_for 5 grep -q "\"event\":\"ike_restored\".*$2" "$work/sp.log"
  check "$label: its CHILD SAs' fast path SAs were taken over" resynced '"restored":1'
  check "$label: the new slow path found no orphan" resynced '"orphans":0'
  check "$label: the ping recovers" wait_for 15 ping_flowing
  sleep 1
  loss=$(ping_stop)
  after=$(swan_spis)
  judge_spis "$label" "$before" "$after"
  judge_log "$label" "$kill_mark"
  check "$label: the fast path still has one SA pair" fp_sas_is 2
  check "$label: no CHILD SA refused by the fast path (no id collision)" test "$(install_failures)" -eq 0
}

echo "== strongSwan initiates (AES-GCM-16-128 / ECP-256)"
swan --initiate --child net --ike gcm >/dev/null
check "IKE SA established on our side" wait_for 15 our_ike_up
check "strongSwan installed the CHILD SA" wait_for 10 swan_has INSTALLED
check "the fast path has the SA pair" wait_for 5 fp_sas_is 2
check "L pings through the tunnel" wait_for 10 ping_through

echo "== a. kill -9 of the fast path, started again"
ping_start
check "the ping flows before the kill" wait_for 10 ping_flowing
before=$(swan_spis)
mac_before=$(tap_mac tapO)
mark=$(log_lines)
kill -9 "$fp"
wait "$fp" 2>/dev/null || true
start_fastpath
check "a: the slow path replays its SAs into the new fast path" wait_for 10 fp_sas_is 2
check "a: the ping recovers" wait_for 15 ping_flowing
check "a: the slow path says it replayed one CHILD SA" resynced '"replayed":1'
check "a: the outside TAP has the same MAC again" test -n "$mac_before" -a "$(tap_mac tapO)" = "$mac_before"
check "a: strongSwan's neighbour entry names that MAC" test "$(peer_entry)" = "$mac_before"
sleep 1
loss=$(ping_stop)
after=$(swan_spis)
judge_spis a "$before" "$after"
judge_log a "$mark"
check "a: the slow path still has its one CHILD SA" test "$(ctl child-sas | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 1
figure "fast path kill -9 loss" "$loss"

echo "== b. kill -9 of the slow path, started again"
ping_start
check "the ping flows before the kill" wait_for 10 ping_flowing
check "b: the slow path keeps one record per IKE SA" test "$(records_of ike)" -eq 1
check "b: the record is readable by its owner only" test "$(stat -c %a "$work/ike-state/"*.ike)" = 600
kill_slowpath_judged b '"ike_sas":1'
check "b: strongSwan has one IKE SA, established" test "$(swan --list-sas 2>/dev/null | grep -c ESTABLISHED)" -eq 1
check "b: no SA id collision in our log" test "$(grep -c 'is in use' "$work/sp.log" || true)" -eq 0
figure "slow path kill -9 loss" "$loss"

echo "== b. after the restart: rekeys both ways, and DPD"
ping_start
check "the ping flows" wait_for 10 ping_flowing
our_sa() { ctl ike-sas | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ike_sa"])'; }
our_child() { ctl child-sas | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["child"])'; }
children_rekeyed() { [ "$(grep -c '"event":"child_rekeyed"' "$work/sp.log")" -ge "$1" ]; }
ike_rekeyed() { [ "$(grep -c 'IkeSaRekeyed' "$work/sp.log")" -ge "$1" ]; }
swan --rekey --child net >/dev/null
check "b: strongSwan's CHILD SA rekey is answered" wait_for 10 children_rekeyed 1
ctl rekey "$(our_sa)" "$(our_child)" >/dev/null
check "b: our CHILD SA rekey is answered" wait_for 10 children_rekeyed 2
swan --rekey --ike gcm >/dev/null
check "b: strongSwan's IKE SA rekey is answered" wait_for 10 ike_rekeyed 1
ctl rekey "$(our_sa)" >/dev/null
check "b: our IKE SA rekey is answered" wait_for 10 ike_rekeyed 2
check "b: the rekeyed IKE SA's record replaced the old one" test "$(records_of ike)" -eq 1
loss=$(ping_stop)
# No ESP from L now: strongSwan's DPD (5 s) asks the carried-on IKE SA whether we live.
mark=$(log_lines)
swan_dpd_answered() {
  [ "$(log_since "$mark" 'sending DPD request')" -ge 1 ] && [ "$(log_since "$mark" 'parsed INFORMATIONAL response')" -ge 1 ]
}
check "b: strongSwan's DPD is answered" wait_for 15 swan_dpd_answered
check "b: strongSwan retransmitted nothing" test "$(log_since "$mark" 'retransmit')" -eq 0
check "b: strongSwan still has one IKE SA, established" test "$(swan --list-sas 2>/dev/null | grep -c ESTABLISHED)" -eq 1
check "b: no new IKE_SA_INIT since the kill" test "$(log_since "$kill_mark" 'IKE_SA_INIT')" -eq 0
check "b: L pings through the tunnel" ping_through
figure "loss over four rekeys after the restart" "$loss"

echo "== c. an IKEv1 tunnel (Main Mode PSK): kill -9 of the slow path, started again"
# The IKEv2 tunnel makes way: both carry 10.1.0.0/16 <-> 10.2.0.0/16.
swan --terminate --ike gcm >/dev/null 2>&1 || true
check "c: the IKEv2 tunnel is gone on our side" wait_for 10 our_ike_none
check "c: and from the fast path" wait_for 5 fp_sas_none
swan --initiate --child v1net --ike v1 --timeout 15 >/dev/null 2>&1 || true
check "c: strongSwan's IKEv1 SA established" wait_for 15 swan_conn_established v1
check "c: our ISAKMP SA established" wait_for 10 our_ike_up
check "c: the fast path has the IPsec SA pair" wait_for 5 fp_sas_is 2
check "c: L pings through the tunnel" wait_for 10 ping_through
check "c: the slow path keeps one record per ISAKMP SA" test "$(records_of ike1)" -eq 1
check "c: the IKEv2 SA's record went with it" test "$(records_of ike)" -eq 0
check "c: the record is readable by its owner only" test "$(stat -c %a "$work/ike-state/"*.ike1)" = 600
ping_start
check "the ping flows before the kill" wait_for 10 ping_flowing
kill_slowpath_judged c '"isakmp_sas":1'
check "c: no new Main Mode in strongSwan's log" test "$(log_since "$kill_mark" 'ID_PROT')" -eq 0
figure "slow path kill -9 loss, IKEv1" "$loss"

echo "== c. after the restart: a Quick Mode rekey, and DPD"
# strongSwan's ISAKMP SA as it lists it (its cookies are its `_i` and `_r` SPIs).
swan_cookies() { swan --list-sas 2>/dev/null | grep -oE '[0-9a-f]{16}_[ir]' | tr '\n' ' '; }
installs_above() { [ "$(swan_child_installs v1net)" -gt "$1" ]; }
one_child() { [ "$(swan_children v1 | wc -l)" -eq 1 ]; }
ping_start
check "the ping flows" wait_for 10 ping_flowing
cookies=$(swan_cookies)
c0=$(swan_child_installs v1net)
swan --rekey --child v1net >/dev/null 2>&1 || true
check "c: strongSwan's Quick Mode rekey is answered" wait_for 10 installs_above "$c0"
check "c: strongSwan keeps one IPsec SA after the rekey" wait_for 10 one_child
check "c: the ping flows after the rekey" wait_for 10 ping_flowing
loss=$(ping_stop)
check "c: the rekey kept the ISAKMP SA (same cookies)" test -n "$cookies" -a "$cookies" = "$(swan_cookies)"
# strongSwan keeps the old IPsec SA (REKEYED) until it expires, and so do we.
check "c: our slow path took the rekey (child_rekeyed)" grep -q '"event":"child_rekeyed".*"name":"v1net"' "$work/sp.log"
# No ESP from L now: strongSwan's DPD asks the carried-on ISAKMP SA whether we live.
mark=$(log_lines)
sleep 4
check "c: strongSwan's R-U-THERE answered" test "$(log_since "$mark" 'N(DPD_ACK)')" -gt 0
check "c: strongSwan retransmitted nothing" test "$(log_since "$mark" 'retransmit')" -eq 0
check "c: the ISAKMP SA still up after DPD (same cookies)" test "$(swan_cookies)" = "$cookies"
check "c: no new Main Mode since the kill" test "$(log_since "$kill_mark" 'ID_PROT')" -eq 0
check "c: still one record of the ISAKMP SA" test "$(records_of ike1)" -eq 1
figure "loss over a Quick Mode rekey after the restart" "$loss"
swan --terminate --ike v1 >/dev/null 2>&1 || true
check "c: our ISAKMP SA goes with strongSwan's delete" wait_for 10 our_ike_none
no_v1_record() { [ "$(records_of ike1)" -eq 0 ]; }
check "c: and its record" wait_for 5 no_v1_record

ike_summary restart_recovery
