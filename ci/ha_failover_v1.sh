#!/usr/bin/env bash
# Scenario 8 of ci/ha_failover.sh, which sources this file (run alone: SCENARIOS=8 bash
# ci/ha_failover_v1.sh): the same two-node failover with an IKEv1 tunnel. strongSwan (conn
# `v1`, `version = 1`, Main Mode PSK, NAT-T forced) initiates to the VIP; the master answers
# and syncs the ISAKMP SA (cookies, phase 1 keys and IV, the IPsec SAs) to the standby. After
# a kill -9 of the master, judged by strongSwan: the same cookies and IPsec SPIs, no new Main
# Mode (no ID_PROT exchange in its log), no replay or ICV failure, the traffic's loss window
# as a `figure:` line; then a Quick Mode rekey through the new master and strongSwan's DPD
# (R-U-THERE, every 1 s on the idle tunnel) answered by it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cd "$(dirname "$0")/.."
  SCENARIOS=${SCENARIOS:-8} exec bash ci/ha_failover.sh
fi

# The tunnel on both sides: `v1_conn_statements`, `swan_v1_conn`.
source ci/lib/ike_v1_tunnel.sh

# Whether strongSwan's IKEv1 SA is up and the standby holds its IPsec SAs.
v1_tunnel_synced() { swan_conn_established v1 && standby_holds "$(other "$(master_node)")" v1; }

scenario_v1() {
  echo "== 8. an IKEv1 tunnel (Main Mode PSK, strongSwan initiator): kill -9 of the master"
  nodes_ready
  local c m mark mark_v1 before c0 after
  for c in gcm vip vip2 v1; do swan_terminate "$c"; done
  check "8: the old IKE SAs gone from our nodes too" wait_for 10 nodes_have_no_ike
  swan --initiate --child v1net --ike v1 --timeout 15 >/dev/null 2>&1 || true
  check "8: strongSwan's IKEv1 SA established" wait_for 15 swan_conn_established v1
  check_ha "8: the standby holds the IPsec SAs (synced ISAKMP SA)" wait_for 10 v1_tunnel_synced
  mark_v1=$(log_lines)
  traffic_start R
  judge_kill_master "8. kill -9 of the master, IKEv1" v1
  check "8: no new Main Mode in strongSwan's log" test "$(log_since "$mark_v1" 'ID_PROT')" -eq 0
  m=$(master_node)
  # A Quick Mode rekey by strongSwan through the new master, under traffic.
  traffic_start R
  check "8: traffic flows through $m" wait_for 10 traffic_flowing
  mark=$(log_lines); before=$(swan_state v1 | cut -d' ' -f1,2)
  c0=$(swan_child_installs v1net)
  swan --rekey --child v1net >/dev/null 2>&1 || true
  check "8: strongSwan's Quick Mode rekey through $m completes" wait_for 10 swan_child_installs_above v1net "$c0"
  check "8: strongSwan keeps one IPsec SA after the rekey" wait_for 10 swan_one_child v1
  check "8: traffic flows after the rekey" wait_for 10 traffic_flowing
  traffic_stop
  traffic_figure "8. IKEv1 Quick Mode rekey on the new master"
  after=$(swan_state v1 | cut -d' ' -f1,2)
  check "8: the rekey kept the ISAKMP SA (same cookies)" test -n "$before" -a "$before" = "$after"
  judge_log "8: IKEv1 rekey" "$mark"
  # strongSwan's DPD on the idle tunnel, answered by the new master.
  mark=$(log_lines)
  sleep 4
  check "8: strongSwan's R-U-THERE answered by the new master" test "$(log_since "$mark" 'N(DPD_ACK)')" -gt 0
  check "8: the ISAKMP SA still up after DPD (same cookies)" test "$(swan_state v1 | cut -d' ' -f1,2)" = "$before"
  check "8: no new Main Mode since the failover" test "$(log_since "$mark_v1" 'ID_PROT')" -eq 0
  swan_terminate v1
}
