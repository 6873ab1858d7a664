#!/usr/bin/env bash
# IKEv1 Main Mode with signatures against strongSwan 5.9.8 (`version = 1`, certificates made
# here with the openssl CLI: an RSA CA and an ECDSA CA), ESP through our fast path, in the
# topology of ci/ike_v1_strongswan.sh (ci/lib/ike_topology.sh):
#
#   1. RSA, identities as DNs, strongSwan initiates: Main Mode with CR, CERT and SIG,
#      Quick Mode with PFS (modp2048); both sides' views, charon's log of our signature
#      checked, a ping from L through the fast path; then strongSwan deletes the SA
#   2. RSA, we initiate: the same, then we delete it
#   3. ECDSA P-256 (RFC 4754 method 9), identities as FQDNs, we initiate
#   4. a certificate from a CA we do not trust (strongSwan's ECDSA one on the RSA conn's
#      identity): no SA on our side, the refusal counted as auth_failed
# Every wait is bounded; everything is cleaned up (KEEP=1 keeps the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
source ci/lib/ike_v1.sh
ike_topology_up ike-v1-sig

# --- Certificates: an RSA CA and an ECDSA CA, each with a gateway's and strongSwan's.
source ci/lib/test_pki.sh
make_swan_pki
# strongSwan's RSA identity, certified by a CA we do not trust: the conn takes the identity,
# the chain is what refuses it.
mkca rogue-ca rsa:2048
CN=swan-rsa.test mkcert rogue-ca swan-rogue.test rsa:2048
check "certificates made (RSA, ECDSA and an untrusted CA)" \
  test -s "$pki/gw-rsa.test.pem" -a -s "$pki/swan-ec.test.pem" -a -s "$pki/swan-rogue.test.pem"

SWAN_DN="C=CH, O=ipsec-gw test, CN=swan-rsa.test"
GW_DN="C=CH, O=ipsec-gw test, CN=gw-rsa.test"
# One IKEv1 conn of strongSwan to G authenticated by a certificate, child `net`
# (10.2.0.0/16 <-> 10.1.0.0/16) with PFS. An IKEv1 responder picks its IKE config by
# addresses before it knows the method or the identity: every conn offers the same IKE
# proposals, and the method (from our key) and our identity select the conn.
IKE_PROPOSALS=aes128-sha256-modp2048,aes128-sha256-ecp256
swan_v1_cert_conn() { # name, our certificate, our id, the gateway's id
  printf '  %s {\n    version = 1\n    local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1\n' "$1"
  printf '    proposals = %s\n    encap = yes\n    dpd_delay = 0\n    rekey_time = 0\n' "$IKE_PROPOSALS"
  printf '    local { auth = pubkey\n      certs = %s\n      id = "%s" }\n' "$2" "$3"
  printf '    remote { auth = pubkey\n      id = "%s" }\n' "$4"
  printf '    children { net { local_ts = 10.2.0.0/16\n        remote_ts = 10.1.0.0/16\n'
  printf '        rekey_time = 0\n        esp_proposals = aes128-sha256-modp2048 } }\n  }\n'
}

write_strongswan_conf pem pkcs1 pkcs8 x509 pubkey constraints
{
  echo "connections {"
  swan_v1_cert_conn rsa swan-rsa.test.pem "$SWAN_DN" "$GW_DN"
  swan_v1_cert_conn ecdsa swan-ec.test.pem swan-ec.test gw-ec.test
  echo "}"
} >"$sw/swanctl.conf"

cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
conn rsa local 192.0.2.1 remote 192.0.2.2 local-id dn:"$GW_DN" remote-id dn:"$SWAN_DN" auth pubkey cert $pki/gw-rsa.test.pem key $pki/gw-rsa.test.key ca $pki/rsa-ca.pem ike aes128-sha256-modp2048 version 1 dpd 0s add
child net conn rsa local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
conn ecdsa local 192.0.2.1 remote 192.0.2.2 local-id fqdn:gw-ec.test remote-id fqdn:swan-ec.test auth pubkey cert $pki/gw-ec.test.pem key $pki/gw-ec.test.key ca $pki/ec-ca.pem ike aes128-sha256-ecp256 version 1 dpd 0s add
child enet conn ecdsa local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
CONF
start_slowpath
start_charon "$sw/swanctl.conf"

# The identity our ISAKMP SA authenticated (slowpath-ctl), as JSON.
our_peer_id() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
print(' '.join(str(s.get('remote_id')) for s in json.load(sys.stdin) if s['state']=='Established'))"; }
# charon logs each IKEv1 signature it verified: `authentication of 'ID' with SCHEME successful`.
swan_verified() { # our identity, signature scheme
  grep -q "authentication of '$1' with $2 successful" "$work/charon.log"
}
# strongSwan lists both identities of its SA: `local  'ID' @ ...`, `remote 'ID' @ ...`.
swan_ids() { # our identity
  swan --list-sas 2>/dev/null | grep -q "remote '$1' @ 192.0.2.1"
}
our_drops() { # reason
  ctl ike-counters 2>/dev/null | python3 -c "
import json,sys
print(json.load(sys.stdin).get('drops',{}).get('$1',0))" 2>/dev/null || echo 0
}

sig_case() { # label, our identity, strongSwan's scheme name for our signature
  v1_case_up "$1"
  check "$1: strongSwan's IPsec SA has PFS (MODP_2048)" swan_child_pfs MODP_2048
  check "$1: strongSwan verified our signature ($3)" wait_for 5 swan_verified "$2" "$3"
  check "$1: strongSwan's SA is with our certificate's identity" swan_ids "$2"
  echo "--- strongSwan's view"; swan --list-sas 2>/dev/null | sed -n '1,8p'
  echo "--- ours: peer $(our_peer_id)"
}

echo "== 1. RSA signatures, strongSwan initiates"
swan --initiate --child net --ike rsa >/dev/null || true
sig_case "rsa, strongSwan initiator" "$GW_DN" RSA_EMSA_PKCS1_NULL
check "rsa, strongSwan initiator: we authenticated strongSwan's DN" \
  test -n "$(our_peer_id)"
swan --terminate --ike rsa >/dev/null || true
check "rsa, strongSwan initiator: our SA goes with strongSwan's delete" wait_for 10 our_ike_none
check "rsa, strongSwan initiator: the fast path SAs are removed" wait_for 5 fp_sas_none

echo "== 2. RSA signatures, we initiate"
ctl initiate rsa >/dev/null || echo "initiate failed: $(ctl initiate rsa 2>&1)"
sig_case "rsa, our initiator" "$GW_DN" RSA_EMSA_PKCS1_NULL
ctl terminate rsa >/dev/null || true
check "rsa, our initiator: strongSwan's SA goes with our delete" wait_for 10 swan_no_ike
check "rsa, our initiator: ours is gone" wait_for 10 our_ike_none

echo "== 3. ECDSA P-256 signatures, we initiate"
ctl initiate ecdsa >/dev/null || echo "initiate failed: $(ctl initiate ecdsa 2>&1)"
sig_case "ecdsa, our initiator" gw-ec.test ECDSA_WITH_NULL
ctl terminate ecdsa >/dev/null || true
check "ecdsa, our initiator: strongSwan's SA goes with our delete" wait_for 10 swan_no_ike
check "ecdsa, our initiator: ours is gone" wait_for 10 our_ike_none

echo "== 4. a certificate from a CA we do not trust"
# Loaded only now, in place of the others: it claims the `rsa` conn's identity. strongSwan
# must not hold the real certificate of that identity any more: it would pick it (and its
# key) itself, since our CR names the CA that issued it.
rm -f "$sw/x509/swan-rsa.test.pem" "$sw/private/swan-rsa.test.key"
swan_trusts rogue-ca
swan_owns swan-rogue.test
{
  echo "connections {"
  swan_v1_cert_conn rogue swan-rogue.test.pem "$SWAN_DN" "$GW_DN"
  echo "}"
} >"$sw/rogue.conf"
check "rogue: strongSwan loads the rogue conn" swan --load-all --clear --file "$sw/rogue.conf"
refused0=$(our_drops auth_failed)
refused_more() { [ "$(our_drops auth_failed)" -gt "$refused0" ]; }
no_v1_sa() { ! our_v1_up; }
swan --initiate --child net --ike rogue >/dev/null 2>&1 || true
check "rogue: the refusal is counted (auth_failed)" wait_for 15 refused_more
check "rogue: no ISAKMP SA established on our side" no_v1_sa
check "rogue: strongSwan has no SA established" swan_no_ike
check "rogue: the fast path holds no SA" fp_sas_none
swan --terminate --ike rogue >/dev/null 2>&1 || true

ike_summary ike_v1_sig
