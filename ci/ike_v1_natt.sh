#!/usr/bin/env bash
# IKEv1 NAT traversal (RFC 3947, RFC 3948) with strongSwan 5.9.8 (`version = 1`) behind a NAT
# namespace that masquerades it, source ports changed (ci/lib/ikev1_natt.sh), ESP through our
# fast path:
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- N (NAT, 192.0.2.2)
#                                                              --veth-- strongSwan S (172.16.0.2, 10.2.0.1)
#
#   1. strongSwan initiates Main Mode PSK (no `encap`: only the NAT makes it UDP) and Quick Mode:
#      NAT detected on both sides (NAT-D), the ISAKMP SA floated to 4500 (the NAT's port for
#      it on our side), the IPsec SA pair UDP-encapsulated on both sides, a ping both ways
#   2. strongSwan's NAT keepalives (every 2 s) reach us and break nothing: the tunnel still
#      carries traffic both ways, nothing counted as dropped, the same SAs
#   3. strongSwan deletes the ISAKMP SA: ours goes down, the fast path SAs go
# Every wait is bounded; everything is cleaned up (KEEP=1 keeps the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
source ci/lib/ikev1_natt.sh
started=$SECONDS
# strongSwan's NAT keepalives every 2 s (20 s by default), to see some within the test.
SWAN_CHARON_EXTRA="keep_alive = 2s"
natt_topology_up ike-v1-natt

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

write_strongswan_conf
cat >"$work/swanctl.conf" <<CONF
connections {
  natt {
    version = 1
    local_addrs = 172.16.0.2
    remote_addrs = 192.0.2.1
    proposals = aes128-sha1-modp1024
    dpd_delay = 0
    rekey_time = 0
    local { auth = psk
      id = swan.nat }
    remote { auth = psk
      id = natt.gw }
    children { net { local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        rekey_time = 0
        esp_proposals = aes128-sha1 } }
  }
}
secrets { ike-any { secret = $PSK } }
CONF

# The peer's address is the NAT's: a `version 1` responder picks its conn by addresses.
cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
secret gw psk $PSK
conn natt local 192.0.2.1 remote 192.0.2.2 local-id fqdn:natt.gw remote-id fqdn:swan.nat auth psk gw ike aes128-sha1-modp1024 version 1 dpd 0s add
child net conn natt local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1
CONF
start_slowpath
start_charon

# Our ISAKMP SA as JSON (slowpath-ctl ike-sas), one field: empty when there is none.
our_sa() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
sas=[s for s in json.load(sys.stdin) if s.get('version')==1 and s['state']=='Established']
print(sas[0].get('$1') if sas else '')"; }
our_v1_up() { [ -n "$(our_sa state)" ]; }
# strongSwan's IKE SA of conn natt, one field of `swanctl --list-sas --pretty`.
swan_sa() { swan_json | python3 -c "
import json,sys
sas=json.load(sys.stdin).get('natt',[])
print(sas[0].get('$1','') if sas else '')"; }
# Its installed IPsec SA, one field.
swan_child() { swan_json | python3 -c "
import json,sys
sas=json.load(sys.stdin).get('natt',[])
ch=[c for s in sas for c in s.get('child-sas',{}).values() if c.get('state')=='INSTALLED']
print(ch[0].get('$1','') if ch else '')"; }
# The fast path's SAs, each `spi direction natt` (natt: the LOCAL:REMOTE UDP ports, or none).
fp_natt() { "$BIN/fastpath-ctl" -s "$work/fp.sock" --json sa list 2>/dev/null | python3 -c "
import json,sys
for sa in json.load(sys.stdin):
    n=sa.get('natt')
    print(sa['spi'], sa['direction'], '%s:%s' % tuple(n) if n else 'none')"; }
fp_all_encap_to() { # the NAT's port for strongSwan's 4500
  local lines; lines=$(fp_natt)
  [ -n "$lines" ] && ! echo "$lines" | grep -vq " 4500:$1\$"
}
ping_back() { ip netns exec "${t}S" ping -I 10.2.0.1 -c 3 -i 0.2 -W 2 -q 10.1.0.10 >/dev/null; }
our_drops() { ctl ike-counters 2>/dev/null | python3 -c "
import json,sys
d=json.load(sys.stdin)
drops=d.get('drops', {})
print(sum(drops.values()) if isinstance(drops, dict) else sum(n for _, n in drops))" 2>/dev/null || echo "?"; }

s_reaches_g() { ip netns exec "${t}S" ping -c 1 -W 1 -q 192.0.2.1 >/dev/null; }
check "S reaches G through the NAT" wait_for 10 s_reaches_g
if ! s_reaches_g; then
  echo "--- G's neighbours"; ip -n "${t}G" neigh show nud all
  echo "--- N's neighbours"; ip -n "${t}N" neigh
fi

echo "== 1. strongSwan (behind the NAT) initiates: Main Mode PSK, Quick Mode"
swan --initiate --child net --ike natt >/dev/null || true
check "our ISAKMP SA is established (version 1)" wait_for 15 our_v1_up
check "strongSwan's IKE SA is established" wait_for 10 swan_has "ESTABLISHED, IKEv1"
check "strongSwan installed the IPsec SA" wait_for 10 swan_has INSTALLED
ike_port=$(nat_mapped_ports 500 | head -1)
natt_port=$(nat_mapped_ports 4500 | head -1)
echo "the NAT maps strongSwan's 500 to ${ike_port:-?} and its 4500 to ${natt_port:-?}"
check "the NAT changed strongSwan's source ports" test -n "$ike_port" -a -n "$natt_port" \
  -a "${ike_port:-500}" != 500 -a "${natt_port:-4500}" != 4500
check "we see the NAT on the peer's side (NAT-D)" test "$(our_sa nat_remote)" = True
check "we see no NAT on our side" test "$(our_sa nat_local)" = False
check "strongSwan sees the NAT on its side (NAT-D)" test "$(swan_sa nat-local)" = yes
check "our ISAKMP SA floated to 4500" test "$(our_sa local)" = "192.0.2.1:4500"
check "to the NAT's port for strongSwan's 4500" test "$(our_sa remote)" = "192.0.2.2:${natt_port:-?}"
check "strongSwan's ISAKMP SA is on 4500" test "$(swan_sa remote-port)" = 4500
check "strongSwan's IPsec SA is UDP-encapsulated" test "$(swan_child encap)" = yes
check "the fast path has the SA pair" wait_for 5 fp_sas_at_least 2
echo "--- fast path SAs (spi natt)"; fp_natt
check "both fast path SAs are ESP in UDP, 4500 to the NAT's port" fp_all_encap_to "${natt_port:-?}"
check "L pings S through the tunnel" wait_for 10 ping_through
check "S pings L through the tunnel" wait_for 10 ping_back
check "strongSwan counted our packets" swan_counted
echo "--- strongSwan's view"; swan --list-sas 2>/dev/null | sed -n '1,10p'

echo "== 2. NAT keepalives"
spis_before=$(swan_spis)
drops_before=$(our_drops)
ip netns exec "${t}G" timeout 7 tcpdump -i gO -nn -q -c 3 'udp port 4500 and udp[4:2] = 9' \
  >"$work/keepalives.txt" 2>/dev/null || true
keepalives=$(grep -c 'UDP, length 1' "$work/keepalives.txt" || true)
echo "figure: $keepalives NAT keepalives (1-octet UDP to 4500) from strongSwan in up to 7 s" \
  "(keep_alive = 2s; tcpdump -c 3 on G's outside port)"
check "strongSwan sends NAT keepalives to us" test "$keepalives" -ge 2
check "the tunnel still carries traffic from L" wait_for 10 ping_through
check "and from S" wait_for 10 ping_back
same_drops() { [ "$drops_before" != "?" ] && [ "$(our_drops)" = "$drops_before" ]; }
echo "our IKE drops before and after the keepalives: $drops_before $(our_drops)"
check "the keepalives are not counted as dropped" same_drops
judge_spis keepalives "$spis_before" "$(swan_spis)"
check "our ISAKMP SA is still up" our_v1_up

echo "== 3. strongSwan deletes the ISAKMP SA"
swan --terminate --ike natt >/dev/null || true
check "our ISAKMP SA goes down" wait_for 10 our_ike_none
check "the fast path SAs are removed" wait_for 5 fp_sas_none

echo "ike_v1_natt: $((SECONDS - started)) s"
ike_summary ike_v1_natt
