#!/usr/bin/env bash
# IKE_SA_INIT floods against our responder, strongSwan 5.9.8 as the real peer, in the
# topology of ci/ike_strongswan.sh (ci/lib/ike_topology.sh). Our node runs with
# `ike-limits cookie-threshold 10 cookie-threshold-ip 3 block-threshold 5
#  init-limit-half-open 50 half-open-timeout 10s`, and a `remote any` conn beside
# strongSwan's so that flood sources get half-open SAs at all.
#   1. a spoofed flood: a sender in strongSwan's namespace (raw sockets, scapy) sends
#      IKE_SA_INITs with strongSwan's own address and port at SPOOF_RATE (40) a second for
#      15 s and never reads our answers, while strongSwan initiates: it must connect while the
#      flood runs (the time `swanctl --initiate` took is printed as a `figure:` line), L pings
#      through the tunnel, and nothing was refused at the per-address block (the flood got
#      COOKIEs instead). With the per-peer limit checked before the cookie, as it once was,
#      this case fails: strongSwan got in only once the flood had ended.
#   2. a cookie-answering flood: a sender with 16 addresses of its own in strongSwan's
#      namespace answers every COOKIE and stops at half-open; the half-open gauge of
#      `slowpath-ctl ike-counters` never goes above the cap (50) and reaches it, the cap
#      refuses the rest; once the flood stops the half-open SAs expire (all of them, the
#      gauge back at 0) and strongSwan connects again
#   3. IKEv1 (a `version 1` conn, strongSwan `version = 1`): a spoofed flood of Main Mode
#      first messages from strongSwan's own address and port at SPOOF_RATE for 15 s, one in
#      four of them instead a message with a responder cookie we never made, while
#      strongSwan initiates Main Mode: it connects while the flood runs (`figure:`), L pings
#      through; the IKEv1 half-open gauge (`half_open_v1.current`) never goes above the cap,
#      the flood's oldest SAs were evicted for new ones (`half_open_v1.evicted`) and the
#      forged cookies counted (`drops.cookie_forged`); after the flood the gauge is back at 0,
#      the flood's last SAs expired (`half_open_v1.expired`).
# Traffic stays in the test's namespaces; every wait is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
source ci/lib/ike_v1.sh
SPOOF_RATE=${SPOOF_RATE:-40}
SPOOF_SECONDS=15
CAP=50
PY=/usr/bin/python3
ike_topology_up ike-floods

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

write_strongswan_conf
{
  echo "connections {"
  swan_psk_conn gcm aes128gcm16-prfsha256-ecp256 aes128gcm16-ecp256
  IKE_PROPOSALS=aes128-sha1-modp1024 swan_v1_conn mm aes128-sha1
  echo "}"
  printf 'secrets {\n  ike-gw { id-1 = 192.0.2.1\n    id-2 = 192.0.2.2\n    secret = %s }\n' "$PSK"
  printf '  ike-v1 { id-1 = mm.gw\n    id-2 = 192.0.2.2\n    secret = %s }\n}\n' "$PSK"
} >"$work/swanctl.conf"

cat > "$work/sp.conf" <<CONF
control $work/sp.sock
fastpath $work/fp.sock
ike-limits cookie-threshold 10 cookie-threshold-ip 3 block-threshold 5 init-limit-half-open $CAP half-open-timeout 10s
secret gw psk $PSK
conn gcm local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128gcm16-prfsha256-ecp256 encap add
child gnet conn gcm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-ecp256
conn any local 192.0.2.1 remote any local-id ip:192.0.2.1 auth psk gw ike aes128gcm16-prfsha256-ecp256 add
child anet conn any local-ts 10.1.0.0/16 remote-ts 10.9.0.0/16 esp aes128gcm16
conn mm local 192.0.2.1 remote 192.0.2.2 local-id fqdn:mm.gw remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp1024 version 1 dpd 0s add
child mnet conn mm local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1
CONF

# The flood senders: IKE_SA_INIT requests (AES-GCM-16-128, PRF-SHA256, ECP-256 with a valid
# public value, so that each one we take costs us a half-open SA), built by hand.
cat > "$work/flood.py" <<'PY'
import os, select, socket, struct, sys, time
from cryptography.hazmat.primitives.asymmetric import ec

SA, KE, NONCE, NOTIFY, COOKIE = 33, 34, 40, 41, 16390
pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
KE_DATA = pub.x.to_bytes(32, "big") + pub.y.to_bytes(32, "big")

def payload(next_type, body):
    return struct.pack("!BBH", next_type, 0, 4 + len(body)) + body

def transform(last, ttype, tid, attrs=b""):
    body = struct.pack("!BxH", ttype, tid) + attrs
    return struct.pack("!BxH", 0 if last else 3, 4 + len(body)) + body

def init_request(spi, nonce, cookie=None):
    ts = (transform(False, 1, 20, struct.pack("!HH", 0x800E, 128))
          + transform(False, 2, 5) + transform(True, 4, 19))
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(ts), 1, 1, 0, 3) + ts
    body = (payload(KE, proposal)
            + payload(NONCE, struct.pack("!HH", 19, 0) + KE_DATA)
            + payload(0, nonce))
    first = SA
    if cookie is not None:
        body = payload(SA, struct.pack("!BBH", 0, 0, COOKIE) + cookie) + body
        first = NOTIFY
    return struct.pack("!QQBBBBII", spi, 0, first, 0x20, 34, 0x08, 0, 28 + len(body)) + body

def cookie_of(reply):
    """The COOKIE a reply asks for, or None."""
    if len(reply) < 28:
        return None
    kind, at = reply[16], 28
    while kind and at + 4 <= len(reply):
        nxt, _, length = struct.unpack_from("!BBH", reply, at)
        if length < 4:
            return None
        if kind == NOTIFY and struct.unpack_from("!H", reply, at + 6)[0] == COOKIE:
            return reply[at + 8:at + length]
        kind, at = nxt, at + length
    return None

def reply_for(u, spi, timeout):
    """The answer to our request with this SPI (older answers are skipped), or b""."""
    end = time.time() + timeout
    while select.select([u], [], [], max(0.0, end - time.time()))[0]:
        r = u.recv(4096)
        if r[:8] == struct.pack("!Q", spi):
            return r
    return b""

def main_mode_first(icookie):
    """An IKEv1 Main Mode first message offering AES-128-CBC, SHA-1, PSK, MODP-1024."""
    attrs = b"".join(struct.pack("!HH", 0x8000 | t, v)
                     for t, v in ((1, 7), (14, 128), (2, 2), (3, 1), (4, 2), (11, 1), (12, 28800)))
    transform = struct.pack("!BxHBBxx", 0, 8 + len(attrs), 1, 1) + attrs
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(transform), 1, 1, 0, 1) + transform
    sa = struct.pack("!BxHII", 0, 12 + len(proposal), 1, 1) + proposal
    return struct.pack("!8s8sBBBBII", icookie, bytes(8), 1, 0x10, 2, 0, 0, 28 + len(sa)) + sa

def forged_cookie_message(icookie):
    """A Main Mode message naming a responder cookie we never made (a third message's
    header with an empty body is enough: it must be dropped before any parsing)."""
    return struct.pack("!8s8sBBBBII", icookie, os.urandom(7) + b"\x01", 0, 0x10, 2, 0, 0, 28)

def spoof_v1(src, dst, rate, seconds):
    """IKEv1 from src:500 through a raw socket, one in four with a forged responder cookie."""
    from scapy.all import IP, UDP, Raw, conf
    out = conf.L3socket()
    end, sent, forged = time.time() + seconds, 0, 0
    while time.time() < end:
        icookie = os.urandom(8)
        if sent % 4 == 3:
            msg = forged_cookie_message(icookie)
            forged += 1
        else:
            msg = main_mode_first(icookie)
        out.send(IP(src=src, dst=dst) / UDP(sport=500, dport=500) / Raw(msg))
        sent += 1
        time.sleep(1.0 / rate)
    print(f"spoofed {sent} forged {forged}")

def fresh():
    return struct.unpack("!Q", os.urandom(8))[0] | 1, os.urandom(32)

def spoof(src, dst, rate, seconds):
    """Requests from src:500 through a raw socket; answers are never read."""
    from scapy.all import IP, UDP, Raw, conf
    out = conf.L3socket()
    end, sent = time.time() + seconds, 0
    while time.time() < end:
        spi, nonce = fresh()
        out.send(IP(src=src, dst=dst) / UDP(sport=500, dport=500) / Raw(init_request(spi, nonce)))
        sent += 1
        time.sleep(1.0 / rate)
    print(f"spoofed {sent}")

def answer_cookies(sources, dst, seconds):
    """From each source in turn: a request, and again with the COOKIE if one is asked for."""
    socks = []
    for s in sources:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((s, 0))
        socks.append(u)
    end, sent, echoed = time.time() + seconds, 0, 0
    while time.time() < end:
        for u in socks:
            spi, nonce = fresh()
            u.sendto(init_request(spi, nonce), (dst, 500))
            sent += 1
            c = cookie_of(reply_for(u, spi, 0.2))
            if c is not None:
                u.sendto(init_request(spi, nonce, c), (dst, 500))
                echoed += 1
            # What comes back for the retry is not awaited: half-open is the point.
    print(f"sent {sent} echoed {echoed}")

if sys.argv[1] == "spoof-v1":
    spoof_v1(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
elif sys.argv[1] == "spoof":
    spoof(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
else:
    answer_cookies(sys.argv[4:], sys.argv[2], float(sys.argv[3]))
PY

start_slowpath
start_charon

# One value of `slowpath-ctl ike-counters`: a path such as drops.half_open_block (0 if absent).
counter() {
  ctl ike-counters | "$PY" -c "
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split('.'):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)" "$1"
}
counter_is() { [ "$(counter "$1")" -eq "$2" ]; }
counter_at_least() { [ "$(counter "$1")" -ge "$2" ]; }
our_ike_not_up() { ! our_ike_up; }
flood() { ip netns exec "${t}S" "$PY" "$work/flood.py" "$@"; }

echo "== 1. a spoofed flood from strongSwan's own address while strongSwan connects"
flood spoof 192.0.2.2 192.0.2.1 "$SPOOF_RATE" "$SPOOF_SECONDS" >"$work/spoof.out" 2>&1 &
spoofer=$!
# Let the flood take every half-open SA the address can get without a cookie.
check "the flood is answered with COOKIEs" wait_for 10 counter_at_least half_open.cookies_sent 10
start=$(now_ms)
swan --initiate --child net --ike gcm --timeout 20 >"$work/initiate.out" 2>&1 || true
took=$(( $(now_ms) - start ))
check "strongSwan connects under the flood" swan_has INSTALLED
check "the flood was still running then" kill -0 "$spoofer"
echo "figure: ike connect under spoofed flood: $took ms (${SPOOF_RATE}/s from the peer's own address)"
check "our IKE SA is up" wait_for 5 our_ike_up
check "L pings through the tunnel under the flood" wait_for 10 ping_through
check "nothing refused at the per-address block" counter_is drops.half_open_block 0
check "strongSwan's COOKIE was valid" counter_at_least half_open.cookies_valid 1
wait "$spoofer" || true
cat "$work/spoof.out"
check "the flood ran at the rate asked" \
  [ "$(sed -n 's/^spoofed //p' "$work/spoof.out")" -ge $(( SPOOF_RATE * SPOOF_SECONDS * 3 / 4 )) ]
swan --terminate --ike gcm >/dev/null
check "strongSwan's SA is taken down" wait_for 10 our_ike_not_up

echo "== 2. a cookie-answering flood from 16 addresses"
sources=()
for i in $(seq 100 115); do
  ip -n "${t}S" addr add "192.0.2.$i/32" dev s0
  sources+=("192.0.2.$i")
done
flood answer 192.0.2.1 8 "${sources[@]}" >"$work/answer.out" 2>&1 &
answerer=$!
most=0
while kill -0 "$answerer" 2>/dev/null; do
  n=$(counter half_open.current)
  [ "$n" -gt "$most" ] && most=$n
  sleep 0.2
done
wait "$answerer" || true
cat "$work/answer.out"
echo "counters after the flood: $(ctl ike-counters | tr -d " \n")"
echo "figure: ike half-open under a cookie-answering flood: at most $most (cap $CAP)"
check "the half-open gauge never went above the cap" [ "$most" -le "$CAP" ]
check "the flood filled the cap" [ "$most" -eq "$CAP" ]
check "the cap refused the rest" counter_at_least drops.half_open_cap 1
check "the half-open SAs expire" wait_for 20 counter_is half_open.current 0
check "all the flood's SAs were counted as expired" counter_at_least half_open.expired "$CAP"
start=$(now_ms)
swan --initiate --child net --ike gcm --timeout 20 >"$work/initiate.out" 2>&1 || true
echo "figure: ike connect after a cookie-answering flood: $(( $(now_ms) - start )) ms"
check "strongSwan connects after the flood" swan_has INSTALLED
check "L pings through the tunnel" wait_for 10 ping_through
swan --terminate --ike gcm >/dev/null
check "strongSwan's SA is taken down again" wait_for 10 our_ike_not_up

echo "== 3. IKEv1: spoofed Main Mode first messages from strongSwan's own address"
flood spoof-v1 192.0.2.2 192.0.2.1 "$SPOOF_RATE" "$SPOOF_SECONDS" >"$work/spoof_v1.out" 2>&1 &
spoofer=$!
v1_most=0
watch_v1_gauge() {
  local most=0 n
  while kill -0 "$spoofer" 2>/dev/null; do
    n=$(counter half_open_v1.current)
    [ "$n" -gt "$most" ] && most=$n
    sleep 0.2
  done
  echo "$most" >"$work/v1_most"
}
watch_v1_gauge &
watcher=$!
# The flood fills the cap before strongSwan starts.
check "the flood's SAs fill the IKEv1 cap" wait_for 10 counter_at_least half_open_v1.current "$CAP"
start=$(now_ms)
swan --initiate --child net --ike mm --timeout 20 >"$work/initiate_v1.out" 2>&1 || true
took=$(( $(now_ms) - start ))
check "strongSwan connects with IKEv1 under the flood" swan_v1_established
check "the flood was still running then" kill -0 "$spoofer"
echo "figure: ikev1 connect under spoofed Main Mode flood: $took ms (${SPOOF_RATE}/s from the peer's own address, cap $CAP)"
check "our ISAKMP SA is up" wait_for 5 our_v1_up
check "strongSwan installed the IPsec SA" wait_for 10 swan_has INSTALLED
check "L pings through the IKEv1 tunnel under the flood" wait_for 10 ping_through
wait "$spoofer" || true
wait "$watcher" || true
v1_most=$(cat "$work/v1_most")
cat "$work/spoof_v1.out"
echo "counters after the IKEv1 flood: $(ctl ike-counters | tr -d " \n")"
echo "figure: ikev1 half-open under a spoofed flood: at most $v1_most (cap $CAP), $(counter half_open_v1.evicted) evicted"
check "the IKEv1 half-open gauge never went above the cap" [ "$v1_most" -le "$CAP" ]
check "the flood's oldest SAs were evicted" counter_at_least half_open_v1.evicted 1
check "the forged responder cookies were counted" counter_at_least drops.cookie_forged 1
check "the flood ran at the rate asked" \
  [ "$(sed -n 's/^spoofed \([0-9]*\).*/\1/p' "$work/spoof_v1.out")" -ge $(( SPOOF_RATE * SPOOF_SECONDS * 3 / 4 )) ]
check "the IKEv1 half-open SAs expire after the flood" wait_for 20 counter_is half_open_v1.current 0
check "the flood's last SAs were counted as expired" counter_at_least half_open_v1.expired "$CAP"
check "strongSwan's ISAKMP SA is still up" our_v1_up

ike_summary ike_floods
