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
#   4. ECDSA, strongSwan initiates: the Main Mode conn is the one of its method (our first
#      conn to strongSwan's address is a PSK one, the second RSA)
#   5. a PSK Main Mode from the same address lands on the PSK conn
#   6. Aggressive Mode with RSA signatures, strongSwan initiates (`aggressive = yes`)
#   7. the same, we initiate
#   8. a wrong pre-shared key in Aggressive Mode (we initiate): HASH_R refused, strongSwan
#      told INVALID-HASH-INFORMATION in clear (it queues it behind its Aggressive Mode), no
#      SA on either side
#   9. a certificate from a CA we do not trust (strongSwan's ECDSA one on the RSA conn's
#      identity): no SA on our side, the refusal counted as auth_failed and told to
#      strongSwan (INVALID-CERT-AUTHORITY, encrypted), which logs it
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
swan_v1_conn_head() { # name, [one more setting]
  printf '  %s {\n    version = 1\n    local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1\n' "$1"
  printf '    proposals = %s\n    encap = yes\n    dpd_delay = 0\n    rekey_time = 0\n    %s\n' \
    "$IKE_PROPOSALS" "${2:-}"
}
swan_v1_child() {
  printf '    children { net { local_ts = 10.2.0.0/16\n        remote_ts = 10.1.0.0/16\n'
  printf '        rekey_time = 0\n        esp_proposals = aes128-sha256-modp2048 } }\n  }\n'
}
swan_v1_cert_conn() { # name, our certificate, our id, the gateway's id, [one more setting]
  swan_v1_conn_head "$1" "${5:-}"
  printf '    local { auth = pubkey\n      certs = %s\n      id = "%s" }\n' "$2" "$3"
  printf '    remote { auth = pubkey\n      id = "%s" }\n' "$4"
  swan_v1_child
}
swan_v1_psk_conn() { # name, our id, the gateway's id, [one more setting]
  swan_v1_conn_head "$1" "${4:-}"
  printf '    local { auth = psk\n      id = %s }\n    remote { auth = psk\n      id = %s }\n' "$2" "$3"
  swan_v1_child
}

# strongSwan answers an Aggressive Mode with a PSK only when told to (case 8).
SWAN_CHARON_EXTRA="i_dont_care_about_security_and_use_aggressive_mode_psk = yes"
write_strongswan_conf pem pkcs1 pkcs8 x509 pubkey constraints
PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
{
  echo "connections {"
  swan_v1_cert_conn rsa swan-rsa.test.pem "$SWAN_DN" "$GW_DN"
  swan_v1_cert_conn ecdsa swan-ec.test.pem swan-ec.test gw-ec.test
  swan_v1_psk_conn psk swan.psk psk.gw
  swan_v1_cert_conn amrsa swan-rsa.test.pem "$SWAN_DN" "$GW_DN" "aggressive = yes"
  swan_v1_psk_conn ambad swan.psk bad.gw "aggressive = yes"
  echo "}"
  printf 'secrets { ike-psk { secret = %s } }\n' "$PSK"
} >"$sw/swanctl.conf"

# The PSK conn first: a Main Mode conn is chosen by the method the peer proposes, not by
# its place in the file. `bad` holds another key than strongSwan's.
cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
secret good psk $PSK
secret wrong psk 0x00112233445566778899aabbccddeeff
conn psk local 192.0.2.1 remote 192.0.2.2 local-id fqdn:psk.gw remote-id fqdn:swan.psk auth psk good ike aes128-sha256-modp2048 version 1 dpd 0s add
child pnet conn psk local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
conn rsa local 192.0.2.1 remote 192.0.2.2 local-id dn:"$GW_DN" remote-id dn:"$SWAN_DN" auth pubkey cert $pki/gw-rsa.test.pem key $pki/gw-rsa.test.key ca $pki/rsa-ca.pem ike aes128-sha256-modp2048 version 1 dpd 0s add
child net conn rsa local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
conn ecdsa local 192.0.2.1 remote 192.0.2.2 local-id fqdn:gw-ec.test remote-id fqdn:swan-ec.test auth pubkey cert $pki/gw-ec.test.pem key $pki/gw-ec.test.key ca $pki/ec-ca.pem ike aes128-sha256-ecp256 version 1 dpd 0s add
child enet conn ecdsa local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
conn amrsa local 192.0.2.1 remote 192.0.2.2 local-id dn:"$GW_DN" remote-id dn:"$SWAN_DN" auth pubkey cert $pki/gw-rsa.test.pem key $pki/gw-rsa.test.key ca $pki/rsa-ca.pem ike aes128-sha256-modp2048 version 1 aggressive dpd 0s add
child anet conn amrsa local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
conn bad local 192.0.2.1 remote 192.0.2.2 local-id fqdn:bad.gw remote-id fqdn:swan.psk auth psk wrong ike aes128-sha256-modp2048 version 1 aggressive dpd 0s add
child bnet conn bad local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha256-modp2048
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
# Whether our established ISAKMP SA is of conn NAME.
our_conn_up() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
sys.exit(0 if any(s['state']=='Established' and s['conn']==sys.argv[1]
                  for s in json.load(sys.stdin)) else 1)" "$1"; }
swan_logged() { grep -q "$1" "$work/charon.log"; }
swan_logged_more() { # pattern, how many times before
  [ "$(grep -c "$1" "$work/charon.log")" -gt "$2" ]
}
our_drops() { # reason
  ctl ike-counters 2>/dev/null | python3 -c "
import json,sys
print(json.load(sys.stdin).get('drops',{}).get('$1',0))" 2>/dev/null || echo 0
}

# The end of a case: strongSwan deletes (swan_ends) or we do (we_end); both sides let go.
swan_ends() { # label, strongSwan's conn
  swan --terminate --ike "$2" >/dev/null || true
  check "$1: our SA goes with strongSwan's delete" wait_for 10 our_ike_none
  check "$1: the fast path SAs are removed" wait_for 5 fp_sas_none
}
we_end() { # label, our conn
  ctl terminate "$2" >/dev/null || true
  check "$1: strongSwan's SA goes with our delete" wait_for 10 swan_no_ike
  check "$1: ours is gone" wait_for 10 our_ike_none
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
swan_ends "rsa, strongSwan initiator" rsa

echo "== 2. RSA signatures, we initiate"
ctl initiate rsa >/dev/null || echo "initiate failed: $(ctl initiate rsa 2>&1)"
sig_case "rsa, our initiator" "$GW_DN" RSA_EMSA_PKCS1_NULL
we_end "rsa, our initiator" rsa

echo "== 3. ECDSA P-256 signatures, we initiate"
ctl initiate ecdsa >/dev/null || echo "initiate failed: $(ctl initiate ecdsa 2>&1)"
sig_case "ecdsa, our initiator" gw-ec.test ECDSA_WITH_NULL
we_end "ecdsa, our initiator" ecdsa

echo "== 4. ECDSA, strongSwan initiates: the conn of its method"
swan --initiate --child net --ike ecdsa >/dev/null || true
v1_case_up "ecdsa, strongSwan initiator"
check "ecdsa, strongSwan initiator: our SA is the ecdsa conn's" our_conn_up ecdsa
check "ecdsa, strongSwan initiator: strongSwan authenticated us as gw-ec.test" \
  swan_logged "IKE_SA ecdsa\[[0-9]*\] established between 192.0.2.2\[swan-ec.test\]...192.0.2.1\[gw-ec.test\]"
swan_ends "ecdsa, strongSwan initiator" ecdsa

echo "== 5. PSK Main Mode from the same address: the PSK conn"
swan --initiate --child net --ike psk >/dev/null || true
v1_case_up "psk, strongSwan initiator"
check "psk, strongSwan initiator: our SA is the psk conn's" our_conn_up psk
swan_ends "psk, strongSwan initiator" psk

echo "== 6. Aggressive Mode with RSA signatures, strongSwan initiates"
swan --initiate --child net --ike amrsa >/dev/null || true
v1_case_up "amrsa, strongSwan initiator"
check "amrsa, strongSwan initiator: our SA is the amrsa conn's" our_conn_up amrsa
check "amrsa, strongSwan initiator: strongSwan ran an Aggressive Mode" \
  swan_logged "initiating Aggressive Mode IKE_SA amrsa"
check "amrsa, strongSwan initiator: strongSwan authenticated our DN" \
  swan_logged "IKE_SA amrsa\[[0-9]*\] established between 192.0.2.2\[$SWAN_DN\]...192.0.2.1\[$GW_DN\]"
swan_ends "amrsa, strongSwan initiator" amrsa

echo "== 7. Aggressive Mode with RSA signatures, we initiate"
verified="authentication of '$GW_DN' with RSA_EMSA_PKCS1_NULL successful"
verified0=$(grep -c "$verified" "$work/charon.log" || true)
ctl initiate amrsa >/dev/null || echo "initiate failed: $(ctl initiate amrsa 2>&1)"
v1_case_up "amrsa, our initiator"
check "amrsa, our initiator: strongSwan answered an Aggressive Mode" \
  swan_logged "is initiating a Aggressive Mode IKE_SA"
check "amrsa, our initiator: strongSwan verified our signature" \
  wait_for 5 swan_logged_more "$verified" "$verified0"
we_end "amrsa, our initiator" amrsa

echo "== 8. a wrong pre-shared key in Aggressive Mode, we initiate"
bad0=$(our_drops bad_icv)
bad_more() { [ "$(our_drops bad_icv)" -gt "$bad0" ]; }
ctl initiate bad >/dev/null 2>&1 || true
check "bad: HASH_R refused and counted (bad_icv)" wait_for 10 bad_more
# strongSwan takes our Informational in clear but holds it back until its Aggressive Mode
# task ends (which only its timeout does): it logs the queueing, not the notify type.
check "bad: strongSwan received our notification (an Informational)" \
  wait_for 5 swan_logged "queueing INFORMATIONAL_V1 request as tasks still active"
check "bad: no SA of ours" wait_for 5 our_ike_none
check "bad: strongSwan has no SA established" swan_no_ike

echo "== 9. a certificate from a CA we do not trust"
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
check "rogue: strongSwan logs our INVALID-CERT-AUTHORITY" \
  wait_for 5 swan_logged "received INVALID_CERT_AUTHORITY error notify"
check "rogue: no ISAKMP SA established on our side" no_v1_sa
check "rogue: strongSwan has no SA established" swan_no_ike
check "rogue: the fast path holds no SA" fp_sas_none
swan --terminate --ike rogue >/dev/null 2>&1 || true

ike_summary ike_v1_sig
