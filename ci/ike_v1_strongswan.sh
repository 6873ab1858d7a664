#!/usr/bin/env bash
# IKEv1 interop with strongSwan 5.9.8 (`version = 1`; charon with kernel-libipsec: ESP in user
# space, UDP-encapsulated, so NAT-T is forced with `encap = yes` and the ISAKMP SA floats to
# port 4500), ESP through our fast path:
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- strongSwan S (192.0.2.2, 10.2.0.1)
#                               G: fastpath (af_packet + net_tap) and slowpath (IKEv1)
#
#   1. strongSwan initiates: Main Mode PSK (aes128-sha1-modp1024), Quick Mode without PFS;
#      both sides' views (slowpath-ctl with version 1, swanctl --list-sas), a ping from L
#   2. strongSwan deletes the ISAKMP SA: ours goes down, the fast path SAs go
#   3. we initiate: Main Mode PSK (aes256-sha256-modp2048), Quick Mode with PFS (modp2048)
#   4. we delete: strongSwan's SAs go away
#   5. IPsec SA rekeys by a new Quick Mode before expiry (ours, every 6 s) under a continuous
#      ping: `figure: N of M pings lost during the rekey`
#   6. we initiate with an IKE proposal strongSwan does not take: its NO-PROPOSAL-CHOSEN (in
#      clear) ends our half-made SA at once, with that reason, not at the 30 s setup timeout
# Every wait is bounded; everything is cleaned up (KEEP=1 keeps the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
source ci/lib/ike_v1.sh
ike_topology_up ike-v1-strongswan

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
REKEY_PINGS=${REKEY_PINGS:-150}
REKEY_PING_INTERVAL=${REKEY_PING_INTERVAL:-0.1}

# The strongSwan conns (`swan_v1_conn`, ci/lib/ike_v1.sh) all offer these IKE proposals.
IKE_PROPOSALS=aes128-sha1-modp1024,aes256-sha256-modp2048

write_strongswan_conf
{
  echo "connections {"
  swan_v1_conn mm aes128-sha1
  swan_v1_conn pfs aes128-sha256-modp2048
  swan_v1_conn rk aes128-sha1
  echo "}"
  printf 'secrets { ike-any { secret = %s } }\n' "$PSK"
} >"$work/swanctl.conf"

cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
secret gw psk $PSK
conn mm local 192.0.2.1 remote 192.0.2.2 local-id fqdn:mm.gw remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp1024 version 1 dpd 0s add
child net conn mm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1
conn pfs local 192.0.2.1 remote 192.0.2.2 local-id fqdn:pfs.gw remote-id ip:192.0.2.2 auth psk gw ike aes256-sha256-modp2048 version 1 dpd 0s add
child pnet conn pfs local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
conn rk local 192.0.2.1 remote 192.0.2.2 local-id fqdn:rk.gw remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp1024 version 1 dpd 0s add
child rknet conn rk local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1 rekey 6s life 20s
conn np local 192.0.2.1 remote 192.0.2.2 local-id fqdn:np.gw remote-id ip:192.0.2.2 auth psk gw ike aes128-sha256-modp1024 version 1 dpd 0s add
child npnet conn np local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1
CONF
start_slowpath
start_charon

echo "== 1. strongSwan initiates: Main Mode PSK, Quick Mode without PFS"
swan --initiate --child net --ike mm >/dev/null || true
v1_case_up "mm, strongSwan initiator"
echo "--- strongSwan's view"; swan --list-sas 2>/dev/null | sed -n '1,12p'
echo "--- ours"; ctl ike-sas | python3 -c "
import json,sys
for s in json.load(sys.stdin): print(s['conn'], 'IKEv%s' % s.get('version'), s['state'], s['spi_i'], s['spi_r'], s['proposal'])"

echo "== 2. strongSwan deletes the ISAKMP SA"
swan --terminate --ike mm >/dev/null || true
check "our ISAKMP SA goes down" wait_for 10 our_ike_none
check "the fast path SAs are removed" wait_for 5 fp_sas_none

echo "== 3. we initiate: Main Mode PSK, Quick Mode with PFS (modp2048)"
ctl initiate pfs >/dev/null || echo "initiate failed: $(ctl initiate pfs 2>&1)"
v1_case_up "pfs, our initiator"
check "strongSwan's IPsec SA has PFS (MODP_2048)" swan_child_pfs MODP_2048

echo "== 4. we delete the ISAKMP SA"
ctl terminate pfs >/dev/null || true
check "strongSwan's SA goes away" wait_for 10 swan_no_ike
check "ours is gone" wait_for 10 our_ike_none
check "and the fast path SAs" wait_for 5 fp_sas_none

echo "== 5. IPsec SA rekeys (ours, every 6 s) under a continuous ping"
ctl initiate rk >/dev/null || echo "initiate failed: $(ctl initiate rk 2>&1)"
check "rk: ISAKMP SA up" wait_for 15 our_v1_up
check "rk: the tunnel carries traffic" wait_for 10 ping_through
installs0=$(grep -c "CHILD_SA net{[0-9]*} established" "$work/charon.log" || true)
out=$(ip netns exec "${t}L" ping -i "$REKEY_PING_INTERVAL" -c "$REKEY_PINGS" -W 1 -q 10.2.0.1 2>&1 || true)
sent=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
recv=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
lost=$(( ${sent:-0} - ${recv:-0} ))
echo "figure: $lost of ${sent:-0} pings lost during the rekey (IKEv1 Quick Mode rekeys every 6 s;" \
  "ping -i $REKEY_PING_INTERVAL -c $REKEY_PINGS -W 1 from L to 10.2.0.1)"
installs=$(( $(grep -c "CHILD_SA net{[0-9]*} established" "$work/charon.log" || true) - installs0 ))
echo "strongSwan installed $installs IPsec SAs during the ping"
check "rk: the ping ran" test "${sent:-0}" -eq "$REKEY_PINGS"
check "rk: at least 2 rekeys seen by strongSwan" test "$installs" -ge 2
check "rk: at most ${REKEY_MAX_LOST:-3} pings lost" test "$lost" -le "${REKEY_MAX_LOST:-3}"
check "rk: the fast path holds one pair afterwards" wait_for 10 fp_sas_is 2
check "rk: the tunnel still carries traffic" wait_for 10 ping_through
ctl terminate rk >/dev/null || true
wait_for 10 our_ike_none || true

echo "== 6. we initiate with an IKE proposal strongSwan does not take"
t0=$(date +%s%N)
np_sa=$(ctl initiate np | python3 -c 'import json,sys; print(json.load(sys.stdin)["ike_sa"])' || true)
# Its `ike_down` event names it by id and by conn, with the reason.
np_refused() { grep '"event":"ike_down"' "$work/sp.log" | grep "\"ike_sa\":${np_sa:-none}," | grep '"conn":"np"' | grep -q NoProposalChosen && our_ike_none; }
check "np: our SA ends on strongSwan's NO-PROPOSAL-CHOSEN, well before the 30 s setup timeout" wait_for 5 np_refused
echo "figure: refused IKEv1 proposal ended in $(( ($(date +%s%N) - t0) / 1000000 )) ms (setup timeout 30 s)"
check "np: strongSwan refused it" grep -q "no proposal found" "$work/charon.log"
grep '"ike_sa":'"${np_sa:-none}," "$work/sp.log" | sed 's/.*event: //'

ike_summary ike_v1_strongswan
