#!/usr/bin/env bash
# Regenerates strongswan.txt: two strongSwan charon daemons (namespaces A = 192.0.2.1 and
# B = 192.0.2.2 on a veth pair) negotiate IKEv1 Main Mode and Quick Mode with their key
# material logged (ike/chd 4, net 3); extract.py turns the logs into the vector file.
# Not run by CI: it needs root, strongSwan 5.9 and a kernel with network namespaces.
#
#   sudo slowpath/ike/src/v1/vectors/capture.sh [OUT_DIR]
#
# Cases: `psk` (PSK, AES-256/SHA-1/MODP2048, ESP AES-128/SHA-1 without PFS: SKEYID_e is
# shorter than the key, so appendix B expansion is used) and `sig` (RSA signatures,
# AES-128/SHA2-256/MODP2048, ESP AES-128/SHA2-256 with PFS MODP2048).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
out=${1:-$here}
t=v1vec$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "${t}A" 2>/dev/null || true
  ip netns del "${t}B" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

ip netns add "${t}A"
ip netns add "${t}B"
ip link add "${t}a" netns "${t}A" type veth peer name "${t}b" netns "${t}B"
ip -n "${t}A" addr add 192.0.2.1/24 dev "${t}a"
ip -n "${t}B" addr add 192.0.2.2/24 dev "${t}b"
for n in A B; do
  ip -n "$t$n" link set lo up
done
# An address in each side's protected net: kernel-libipsec routes the tunnel from it.
ip -n "${t}A" addr add 10.1.0.1/32 dev lo
ip -n "${t}B" addr add 10.2.0.1/32 dev lo
ip -n "${t}A" link set "${t}a" up
ip -n "${t}B" link set "${t}b" up

# An RSA CA and one certificate per side, for the `sig` case.
mkdir -p "$work/pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/pki/ca.key" -out "$work/pki/ca.pem" \
  -subj "/CN=vector CA" -days 2 2>/dev/null
for n in A B; do
  d=$work/$n
  mkdir -p "$d/x509" "$d/x509ca" "$d/private"
  openssl req -newkey rsa:2048 -nodes -keyout "$d/private/key.pem" -out "$d/req.pem" \
    -subj "/CN=$n.vector" 2>/dev/null
  openssl x509 -req -in "$d/req.pem" -CA "$work/pki/ca.pem" -CAkey "$work/pki/ca.key" \
    -CAcreateserial -out "$d/x509/cert.pem" -days 2 2>/dev/null
  cp "$work/pki/ca.pem" "$d/x509ca/"
done

conn() { # name, local, remote, local id, remote id, auth, ike, esp, local net, remote net
  cat <<CONF
  $1 {
    version = 1
    local_addrs = $2
    remote_addrs = $3
    proposals = $7
    local { auth = $6
      id = $4
      $( [ "$6" = pubkey ] && echo "certs = cert.pem" ) }
    remote { auth = $6
      id = $5 }
    children { net { local_ts = $9
        remote_ts = ${10}
        esp_proposals = $8 } }
  }
CONF
}

# One case per pair of fresh daemons, so each log holds one negotiation.
run_case() { # name (a connection of swanctl.conf)
  pids=()
  for n in A B; do
    d=$work/$n
    rm -f "$d/charon.log"
    ip netns exec "$t$n" unshare -m sh -c \
      "mount -t tmpfs tmpfs /run; STRONGSWAN_CONF=$d/strongswan.conf exec /usr/lib/ipsec/charon" \
      >>"$d/charon.out" 2>&1 &
    pids+=($!)
  done
  for n in A B; do
    for _ in $(seq 50); do [ -S "$work/$n/charon.vici" ] && break; sleep 0.2; done
    swan $n --load-all --file "$work/$n/$1.conf" >"$work/$n/swanctl.out" 2>&1
  done
  swan A --initiate --child net --ike "$1" --timeout 15 >"$work/initiate-$1.out" 2>&1 || true
  sleep 1
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  for n in A B; do mv "$work/$n/charon.log" "$work/$1-$n.log"; rm -f "$work/$n/charon.vici"; done
}
swan() { local n=$1 cmd=$2; shift 2; ip netns exec "$t$n" swanctl "$cmd" --uri "unix://$work/$n/charon.vici" "$@"; }

for n in A B; do
  d=$work/$n
  if [ $n = A ]; then me=192.0.2.1 peer=192.0.2.2 nets="10.1.0.0/16 10.2.0.0/16"
  else me=192.0.2.2 peer=192.0.2.1 nets="10.2.0.0/16 10.1.0.0/16"; fi
  cat > "$d/strongswan.conf" <<CONF
charon {
  load = random nonce aes sha1 sha2 hmac gmp pem pkcs1 x509 pubkey openssl kernel-libipsec kernel-netlink socket-default vici
  plugins { vici { socket = unix://$d/charon.vici } }
  filelog { f { path = $d/charon.log
    flush_line = yes
    default = 1
    ike = 4
    chd = 4
    net = 3
    enc = 1
    cfg = 1 } }
}
CONF
  # One file per case: a responder picks its connection by addresses alone in Main Mode.
  secret='secrets { ike-v { id-1 = 192.0.2.1
      id-2 = 192.0.2.2
      secret = "vector pre-shared key" } }'
  printf 'connections {\n%s\n}\n%s\n' \
    "$(conn psk "$me" "$peer" "$me" "$peer" psk aes256-sha1-modp2048 aes128-sha1 $nets)" \
    "$secret" >"$d/psk.conf"
  printf 'connections {\n%s\n}\n' \
    "$(conn sig "$me" "$peer" "CN=$n.vector" "CN=$([ $n = A ] && echo B || echo A).vector" \
      pubkey aes128-sha256-modp2048 aes128-sha256-modp2048 $nets)" >"$d/sig.conf"
done
run_case psk
run_case sig
python3 "$here/extract.py" "vector pre-shared key" "$work"/psk-{A,B}.log "$work"/sig-{A,B}.log \
  >"$out/strongswan.txt"
echo "wrote $out/strongswan.txt (logs in $work with KEEP=1)"
