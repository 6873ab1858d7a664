#!/usr/bin/env bash
# IKE messages that arrive IP-fragmented, through our fast path (reassembled there, then
# handed to the node's kernel), with strongSwan 5.9.8 initiating in the topology of
# ci/ike_strongswan.sh (ci/lib/ike_topology.sh; every link has the veth default MTU of
# 1500, so S's kernel fragments anything larger). strongSwan's IKE fragmentation (RFC 7383)
# is off (`fragmentation = no`), so nothing avoids IP fragmentation:
#   1. an IKE_SA_INIT over 1,500 bytes: 36 IKE proposals and a MODP-3072 key exchange (PSK)
#   2. a certificate IKE_AUTH of 2.5-5 kB: RSA 4096 certificates carrying many subjectAltNames
# Each case must establish: strongSwan's `swanctl --list-sas` ESTABLISHED and INSTALLED, ours
# established, and a ping from L through the tunnel. The message sizes come from charon's
# log (`sending packet: ... (N bytes)`), and the fast path's --json counters must show that it
# reassembled datagrams.
# Traffic stays in the test's namespaces; every wait is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
# The fast path's counters every 500 ms in its log (JSON lines), to read its reassembly; its
# unprotected port through libpcap, which passes fragments on as they came (af_packet has
# the kernel reassemble them first: see ci/lib/ike_topology.sh).
FP_STATS_MS=500 FP_JSON=1 FP_OUT_PCAP=1
source ci/lib/ike_topology.sh
ike_topology_up ike-fragments

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

# --- Certificates: one RSA 4096 CA, and a gateway's and strongSwan's certificate, each with
# 40 extra DNS names (about 2.7 kB of DER) so that the IKE_AUTH request is 2.5-5 kB.
pki=$work/pki
sw=$work/swanctl
mkdir -p "$pki" "$sw/x509" "$sw/x509ca" "$sw/private"
DN="/C=CH/O=ipsec-gw test"
openssl req -x509 -newkey rsa:4096 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
  -subj "$DN/CN=big-ca" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
mkcert() { # name (CN and first DNS name)
  local n=$1 sans k
  sans="DNS:$n"
  for k in $(seq 1 40); do sans="$sans,DNS:alias-$k.$n"; done
  openssl req -newkey rsa:4096 -nodes -keyout "$pki/$n.key" -subj "$DN/CN=$n" -out "$pki/$n.csr" 2>/dev/null
  printf 'subjectAltName=%s\nkeyUsage=critical,digitalSignature\n' "$sans" >"$pki/$n.ext"
  openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -days 2 \
    -extfile "$pki/$n.ext" -out "$pki/$n.pem" 2>/dev/null
}
mkcert gw-big.test
mkcert swan-big.test
cp "$pki/ca.pem" "$sw/x509ca/"
cp "$pki/swan-big.test.pem" "$sw/x509/"
cp "$pki/swan-big.test.key" "$sw/private/"
der_len() { openssl x509 -in "$1" -outform der | wc -c; }
echo "certificates: strongSwan's $(der_len "$pki/swan-big.test.pem") bytes, ours $(der_len "$pki/gw-big.test.pem") bytes (DER)"
check "RSA 4096 certificates made (CA, gateway, strongSwan)" \
  test -s "$pki/gw-big.test.pem" -a -s "$pki/swan-big.test.pem"

# 36 CBC proposals, MODP-3072 first (so the KE payload is MODP-3072's 384 bytes); we accept
# only the last one.
proposals=""
for dh in modp3072 modp2048 ecp384; do
  for enc in aes128 aes192 aes256; do
    for integ in sha1 sha256 sha384 sha512; do
      p=$enc-$integ-$dh
      [ "$p" = aes256-sha512-modp3072 ] && continue
      proposals="$proposals$p, "
    done
  done
done
proposals="${proposals}aes256-sha512-modp3072"

write_strongswan_conf pem pkcs1 pkcs8 x509 pubkey constraints
{
  echo "connections {"
  swan_psk_conn big "$proposals" aes128gcm16 "fragmentation = no"
  cat <<CONF
  cert {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes128gcm16-prfsha256-ecp256
    fragmentation = no
    encap = yes
    local { auth = pubkey
      certs = swan-big.test.pem
      id = swan-big.test }
    remote { auth = pubkey
      id = gw-big.test }
    children { net { local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        esp_proposals = aes128gcm16 } }
  }
}
CONF
  swan_psk_secret
} >"$sw/swanctl.conf"

# The responder picks a conn in IKE_SA_INIT by addresses and proposals: distinct ones here.
cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
secret gw psk $PSK
conn big local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes256-sha512-modp3072 encap add
child bignet conn big local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16
conn cert local 192.0.2.1 remote 192.0.2.2 local-id fqdn:gw-big.test remote-id fqdn:swan-big.test auth pubkey cert $pki/gw-big.test.pem key $pki/gw-big.test.key ca $pki/ca.pem ike aes128gcm16-prfsha256-ecp256 encap add
child certnet conn cert local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16
CONF
start_slowpath
start_charon "$sw/swanctl.conf"

# The size of the first request of an exchange charon sent after line $2 of its log.
swan_sent_size() { # exchange (IKE_SA_INIT, IKE_AUTH), log line to start after
  tail -n +"$(($2 + 1))" "$work/charon.log" | grep -A3 "generating $1 request" |
    sed -n 's/.*sending packet: .* (\([0-9]*\) bytes).*/\1/p' | head -1
}
log_lines() { wc -l <"$work/charon.log"; }
# The fast path's reassembled datagrams, from its last --json line.
fp_reassembled() { grep '"kind"' "$work/fp.log" | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['mtu']['reassembled'])"; }
fp_reassembled_more_than() { [ "$(fp_reassembled 2>/dev/null || echo 0)" -gt "$1" ]; }
in_range() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
our_conn_up() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
sys.exit(0 if any(s['conn']=='$1' and s['state']=='Established' for s in json.load(sys.stdin)) else 1)"; }
swan_conn_has() { swan --list-sas --ike "$1" 2>/dev/null | grep -q "$2"; }

case_up() { # label, conn (ours = strongSwan's)
  check "$1: strongSwan's IKE SA ESTABLISHED" wait_for 15 swan_conn_has "$2" ESTABLISHED
  check "$1: strongSwan installed the CHILD SA" wait_for 10 swan_conn_has "$2" INSTALLED
  check "$1: our IKE SA established" wait_for 10 our_conn_up "$2"
  check "$1: L pings through the tunnel" wait_for 10 ping_through
}

initiate() { # conn: bounded (without an answer charon retransmits for minutes)
  swan --initiate --child net --ike "$1" --timeout 20 >/dev/null 2>&1 || true
}

# strongSwan initiates conn $2 (ours has the same name); the request of exchange $3 must be
# $4..$5 bytes (IP-fragmented on the way), reassembled by the fast path, and answered.
fragmented_case() { # label, conn, exchange, min bytes, max bytes
  local label=$1 conn=$2 exchange=$3 r0 l0 size
  r0=$(fp_reassembled 2>/dev/null || echo 0)
  l0=$(log_lines)
  initiate "$conn"
  size=$(swan_sent_size "$exchange" "$l0")
  echo "strongSwan's $exchange: ${size:-?} bytes"
  check "$label: the $exchange request is $4-$5 bytes (${size:-?})" in_range "${size:-}" "$4" "$5"
  case_up "$label" "$conn"
  check "$label: the fast path reassembled it" wait_for 5 fp_reassembled_more_than "$r0"
}

echo "== 1. an IKE_SA_INIT over 1,500 bytes (36 proposals, MODP-3072), IP-fragmented"
fragmented_case big big IKE_SA_INIT 1501 65535
swan --terminate --ike big >/dev/null 2>&1 || true
wait_for 10 our_ike_none || true

echo "== 2. a certificate IKE_AUTH of 2.5-5 kB (RSA 4096, many names), IP-fragmented"
fragmented_case cert cert IKE_AUTH 2500 5000
check "cert: strongSwan authenticated gw-big.test by our RSA certificate" \
  grep -q "authentication of 'gw-big.test' with RSA.* successful" "$work/charon.log"
swan --terminate --ike cert >/dev/null 2>&1 || true

ike_summary ike_fragments
