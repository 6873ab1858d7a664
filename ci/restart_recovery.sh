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
# Each prints the ping's loss as a `figure:`. Traffic stays in the test's namespaces; every wait
# is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
# The slow path's replay needs the fast path's seqnum records.
FP_ARGS="--ha-sync"
# strongSwan's own view of ESP drops (replays, ICV failures, unknown SPIs).
SWAN_LOG_EXTRA="esp = 2"
source ci/lib/ike_topology.sh
ike_topology_up restart-recovery

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PING_INTERVAL=0.02 PING_INTERVAL_MS=20

write_strongswan_conf
write_swanctl_psk gcm aes128gcm16-prfsha256-ecp256 aes128gcm16-ecp256 "dpd_delay = 5s"

cat > "$work/sp.conf" <<CONF
control $work/sp.sock
ike-state-dir $work/ike-state
fastpath $work/fp.sock
secret gw psk $PSK
conn gcm local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128gcm16-prfsha256-ecp256 encap add
child net conn gcm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-ecp256
CONF
start_slowpath
start_charon

# A ping of L through the tunnel, in the background, until `ping_stop`.
ping_start() {
  # -O: a lost reply prints a line too, so the last lines tell whether replies come now.
  ip netns exec "${t}L" ping -O -i "$PING_INTERVAL" -W 1 10.2.0.1 >"$work/ping.out" 2>&1 &
  pinger=$!
}
# Stops it; prints the packets it lost.
ping_stop() {
  kill -INT "$pinger" 2>/dev/null || true
  wait "$pinger" 2>/dev/null || true
  local sent got
  sent=$(grep -oE '[0-9]+ packets transmitted' "$work/ping.out" | grep -oE '^[0-9]+')
  got=$(grep -oE '[0-9]+ received' "$work/ping.out" | grep -oE '^[0-9]+')
  echo $((sent - got))
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
check "b: the slow path keeps one record per IKE SA" test "$(ls "$work/ike-state" | grep -c '\.ike$')" -eq 1
check "b: the record is readable by its owner only" test "$(stat -c %a "$work/ike-state/"*.ike)" = 600
before=$(swan_spis)
mark=$(log_lines)
kill_mark=$mark
kill -9 "$sp"
wait "$sp" 2>/dev/null || true
rm -f "$work/sp.sock"
start_slowpath
check "b: our IKE SA is back" wait_for 10 our_ike_up
check "b: it was read from the checkpoint" wait_for 5 grep -q '"event":"ike_restored".*"ike_sas":1' "$work/sp.log"
check "b: its CHILD SA's fast path SAs were taken over" resynced '"restored":1'
check "b: the new slow path found no orphan" resynced '"orphans":0'
check "b: the ping recovers" wait_for 15 ping_flowing
sleep 1
loss=$(ping_stop)
after=$(swan_spis)
judge_spis b "$before" "$after"
judge_log b "$mark"
check "b: strongSwan has one IKE SA, established" test "$(swan --list-sas 2>/dev/null | grep -c ESTABLISHED)" -eq 1
check "b: the fast path still has one SA pair" fp_sas_is 2
check "b: no CHILD SA refused by the fast path (no id collision)" test "$(install_failures)" -eq 0
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
check "b: the rekeyed IKE SA's record replaced the old one" test "$(ls "$work/ike-state" | grep -c '\.ike$')" -eq 1
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

ike_summary restart_recovery
