#!/usr/bin/env bash
# IKEv2 interop with strongSwan 5.9.8 (charon, kernel-libipsec: ESP in user space over UDP
# encapsulation), ESP through our fast path:
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- strongSwan S (192.0.2.2, 10.2.0.1)
#                               G: fastpath (af_packet + net_tap) and slowpath (IKE)
#
# For each case our node and strongSwan negotiate an IKE SA and a CHILD SA (10.1.0.0/16 <->
# 10.2.0.0/16), L pings 10.2.0.1 through the tunnel, and both sides' views are checked: ours
# through slowpath-ctl and fastpath-ctl, strongSwan's through `swanctl --list-sas`.
#   1. we initiate: PSK, AES-CBC-128/HMAC-SHA1/MODP1024 (the seeds' proposal)
#   2. strongSwan initiates: PSK, AES-GCM-16-128 / ECP-256
#   3. strongSwan initiates: PSK, AES-GCM-16-256 / Curve25519
#   4. strongSwan deletes the IKE SA: ours goes down and the fast path SAs are removed
#   5. we delete: strongSwan's SA goes away
#   6. DPD: strongSwan is killed; our DPD (1 s) finds it dead and clears the SAs
# Traffic stays in the test's namespaces; every wait is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
ike_topology_up ike-strongswan

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

write_strongswan_conf
cat > "$work/swanctl.conf" <<CONF
connections {
  cbc {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes128-sha1-modp1024
    encap = yes
    dpd_delay = 0
    local { auth = psk
      id = 192.0.2.2 }
    remote { auth = psk
      id = 192.0.2.1 }
    children { net { local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        esp_proposals = aes128-sha1-modp1024 } }
  }
  gcm {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes128gcm16-prfsha256-ecp256
    encap = yes
    local { auth = psk
      id = 192.0.2.2 }
    remote { auth = psk
      id = 192.0.2.1 }
    children { net { local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        esp_proposals = aes128gcm16-ecp256 } }
  }
  x25519 {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes256gcm16-prfsha384-curve25519
    encap = yes
    local { auth = psk
      id = 192.0.2.2 }
    remote { auth = psk
      id = 192.0.2.1 }
    children { net { local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        esp_proposals = aes256gcm16 } }
  }
}
secrets { ike-gw { id-1 = 192.0.2.1
    id-2 = 192.0.2.2
    secret = $PSK } }
CONF

cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
secret gw psk $PSK
conn cbc local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp1024 encap dpd 1s dpd-action clear retransmit 500ms tries 3 add
child net conn cbc local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1-modp1024
conn gcm local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128gcm16-prfsha256-ecp256 encap add
child gnet conn gcm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-ecp256
conn x25519 local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes256gcm16-prfsha384-curve25519 encap add
child xnet conn x25519 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes256gcm16
CONF
start_slowpath
start_charon

case_up() { # label, strongSwan conn
  check "$1: IKE SA established on our side" wait_for 15 our_ike_up
  check "$1: strongSwan sees ESTABLISHED" wait_for 10 swan_has ESTABLISHED
  check "$1: strongSwan installed the CHILD SA" wait_for 10 swan_has INSTALLED
  check "$1: the fast path has the SA pair" wait_for 5 fp_sas_at_least 2
  check "$1: L pings through the tunnel" wait_for 10 ping_through
  check "$1: strongSwan counted our packets" swan_counted
}

echo "== 1. we initiate (AES-CBC-128 / HMAC-SHA1 / MODP1024)"
ctl initiate cbc >/dev/null || echo "initiate failed: $(ctl initiate cbc 2>&1)"
case_up "cbc, our initiator" cbc
[ -n "${PAUSE:-}" ] && sleep "$PAUSE"

echo "== 4. strongSwan deletes the IKE SA"
swan --terminate --ike cbc >/dev/null
check "our IKE SA goes down" wait_for 10 our_ike_none
check "the fast path SAs are removed" wait_for 5 fp_sas_none

echo "== 2. strongSwan initiates (AES-GCM-16-128 / ECP-256)"
swan --initiate --child net --ike gcm >/dev/null
case_up "gcm, strongSwan initiator" gcm

echo "== 5. we delete the IKE SA"
ctl terminate gcm >/dev/null || true
check "strongSwan's IKE SA goes away" wait_for 10 swan_no_ike
check "ours is gone" wait_for 10 our_ike_none

echo "== 3. strongSwan initiates (AES-GCM-16-256 / Curve25519)"
swan --initiate --child net --ike x25519 >/dev/null
case_up "x25519, strongSwan initiator" x25519
swan --terminate --ike x25519 >/dev/null
wait_for 10 our_ike_none || true

echo "== 6. DPD: strongSwan killed while the CBC SA is up"
ctl initiate cbc >/dev/null || echo "initiate failed: $(ctl initiate cbc 2>&1)"
check "cbc up again" wait_for 15 our_ike_up
ip netns pids "${t}S" | xargs -r kill -9
check "our DPD clears the IKE SA" wait_for 15 our_ike_none
check "and the fast path SAs" wait_for 5 fp_sas_none

ike_summary ike_strongswan
