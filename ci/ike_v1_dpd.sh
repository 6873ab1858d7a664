#!/usr/bin/env bash
# IKEv1 dead peer detection (RFC 3706) and ISAKMP SA reauthentication against strongSwan
# 5.9.8 (`version = 1`), ESP through our fast path, on ci/ike_v1_strongswan.sh's harness:
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- strongSwan S (192.0.2.2, 10.2.0.1)
#
#   1. strongSwan probes us (dpd_delay = 1s): its log shows our R-U-THERE-ACKs, the SAs stay
#   2. we probe strongSwan (`dpd 2s timeout 1s retries 2`; it does not probe): its log shows
#      our R-U-THEREs and its ACKs, the SAs stay, nothing of ours dropped
#   3. reauthentication (ours: `rekey 6s life 12s`) under a continuous ping: new cookies in
#      `swanctl --list-sas`, the old ISAKMP SA gone, the same IPsec SAs, no R-U-THERE of ours
#      while ESP comes in;
#      `figure: N of M pings lost during ISAKMP SA reauthentications`
#   4. kill -9 of charon: our ISAKMP SA and IPsec SAs (slowpath-ctl, fastpath-ctl's SA list)
#      gone within interval + timeout * (retries + 1) + slack; `figure:` the detection time
# Every wait is bounded; everything is cleaned up (KEEP=1 keeps the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
source ci/lib/ike_v1.sh
ike_topology_up ike-v1-dpd

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
REAUTH_PINGS=${REAUTH_PINGS:-150}
REAUTH_PING_INTERVAL=${REAUTH_PING_INTERVAL:-0.1}
# Our DPD: idle 2 s, then an R-U-THERE every 1 s, 2 retransmissions: dead 5 s after the
# last sign of the peer.
DPD="dpd 2s timeout 1s retries 2"
DPD_BOUND_MS=5000
DPD_SLACK_MS=${DPD_SLACK_MS:-2000}

IKE_PROPOSALS=aes128-sha1-modp1024

write_strongswan_conf
{
  echo "connections {"
  swan_v1_conn sd aes128-sha1 1s
  swan_v1_conn od aes128-sha1 0
  swan_v1_conn ra aes128-sha1 0
  swan_v1_conn kd aes128-sha1 0
  echo "}"
  printf 'secrets { ike-any { secret = %s } }\n' "$PSK"
} >"$work/swanctl.conf"

our_conn() { # name, more settings
  printf 'conn %s local 192.0.2.1 remote 192.0.2.2 local-id fqdn:%s.gw remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp1024 version 1 %s add\n' "$1" "$1" "$2"
  printf 'child %snet conn %s local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1\n' "$1" "$1"
}
{
  printf 'control %s\nfastpath %s\nsecret gw psk %s\n' "$work/sp.sock" "$work/fp.sock" "$PSK"
  our_conn sd "$DPD"
  our_conn od "$DPD"
  our_conn ra "$DPD rekey 6s life 12s"
  our_conn kd "$DPD"
} >"$work/sp.conf"
start_slowpath
start_charon

# Our established IKEv1 SAs of a conn: `0xSPI_I 0xSPI_R` each.
our_v1_sas() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
for s in json.load(sys.stdin):
    if s['conn']=='$1' and s['state']=='Established' and s.get('version')==1: print(s['spi_i'], s['spi_r'])"; }
our_v1_up() { [ -n "$(our_v1_sas "$1")" ]; }
# Every IKE datagram the slow path dropped so far (ike-counters' drops, by reason).
our_dropped() { ctl ike-counters 2>/dev/null | python3 -c "
import json,sys
d=json.load(sys.stdin)['drops']
print(sum(d.values()) if isinstance(d, dict) else sum(n for _, n in d))"; }
# strongSwan's IKE SAs of a conn: `COOKIE_I COOKIE_R STATE` each.
swan_cookies() { swan_json | python3 -c "
import json,sys
for sa in json.load(sys.stdin).get('$1',[]): print(sa.get('initiator-spi'), sa.get('responder-spi'), sa.get('state'))"; }
swan_ike_count() { swan_cookies "$1" | grep -c . || true; }
log_count() { grep -c "$1" "$work/charon.log" || true; }
# How many R-U-THERE and ACK lines strongSwan's log gains in SECONDS: `PROBES ACKS`.
dpd_counts() { # seconds, R-U-THERE pattern, ACK pattern
  local p0 a0
  p0=$(log_count "$2"); a0=$(log_count "$3")
  sleep "$1"
  echo "$(( $(log_count "$2") - p0 )) $(( $(log_count "$3") - a0 ))"
}

up() { # conn, who initiates (swan|ours)
  if [ "$2" = swan ]; then
    swan --initiate --child net --ike "$1" >/dev/null || true
  else
    ctl initiate "$1" >/dev/null || echo "initiate failed: $(ctl initiate "$1" 2>&1)"
  fi
  check "$1: ISAKMP SA up on our side" wait_for 15 our_v1_up "$1"
  check "$1: strongSwan installed the IPsec SA" wait_for 10 swan_has INSTALLED
  check "$1: the fast path has the SA pair" wait_for 5 fp_sas_at_least 2
  check "$1: L pings through the tunnel" wait_for 10 ping_through
}
down() { # conn
  ctl terminate "$1" >/dev/null || true
  wait_for 10 swan_no_ike || true
  wait_for 10 our_ike_none || true
  wait_for 5 fp_sas_none || true
}

echo "== 1. strongSwan's DPD toward us (dpd_delay = 1s)"
up sd swan
read -r probes acks < <(dpd_counts 6 'generating INFORMATIONAL_V1 request .*N(DPD) ' \
  'parsed INFORMATIONAL_V1 request .*N(DPD_ACK)')
echo "strongSwan sent $probes R-U-THEREs in 6 s and parsed $acks of our ACKs"
check "sd: strongSwan probed at least 3 times" test "$probes" -ge 3
check "sd: each probe but the last answered" test "$acks" -ge $((probes - 1))
check "sd: our ISAKMP SA stays up" our_v1_up sd
check "sd: the tunnel still carries traffic" ping_through
down sd

echo "== 2. our DPD toward strongSwan ($DPD; strongSwan does not probe)"
up od ours
dropped0=$(our_dropped)
read -r probes acks < <(dpd_counts 7 'parsed INFORMATIONAL_V1 request .*N(DPD) ' \
  'generating INFORMATIONAL_V1 request .*N(DPD_ACK)')
echo "strongSwan parsed $probes of our R-U-THEREs in 7 s and sent $acks ACKs"
check "od: we probed the idle peer at least twice" test "$probes" -ge 2
check "od: strongSwan answered each" test "$acks" -ge "$probes"
check "od: strongSwan logs no DPD sequence complaint" test "$(log_count 'DPD.*sequence')" -eq 0
check "od: our ISAKMP SA stays up" our_v1_up od
check "od: no ACK of strongSwan's dropped (sequence numbers as sent)" test "$(our_dropped)" -eq "$dropped0"
down od

echo "== 3. reauthentication (ours: rekey 6s life 12s) under a continuous ping"
up ra ours
cookies0=$(swan_cookies ra | head -1)
children0=$(swan_children ra)
echo "strongSwan's ISAKMP SA before: $cookies0; IPsec SA: $children0"
probes0=$(log_count 'parsed INFORMATIONAL_V1 request .*N(DPD) ')
out=$(ip netns exec "${t}L" ping -i "$REAUTH_PING_INTERVAL" -c "$REAUTH_PINGS" -W 1 -q 10.2.0.1 2>&1 || true)
probes=$(( $(log_count 'parsed INFORMATIONAL_V1 request .*N(DPD) ') - probes0 ))
sent=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
recv=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
lost=$(( ${sent:-0} - ${recv:-0} ))
echo "figure: $lost of ${sent:-0} pings lost during ISAKMP SA reauthentications (ours every" \
  "6 s less jitter; ping -i $REAUTH_PING_INTERVAL -c $REAUTH_PINGS -W 1 from L to 10.2.0.1)"
wait_for 5 test "$(swan_ike_count ra)" -eq 1 || true
cookies1=$(swan_cookies ra | head -1)
children1=$(swan_children ra)
echo "strongSwan's ISAKMP SA after:  $cookies1; IPsec SA: $children1"
echo "--- strongSwan's view"; swan --list-sas --ike ra 2>/dev/null | sed -n '1,8p'
check "ra: the ping ran" test "${sent:-0}" -eq "$REAUTH_PINGS"
echo "we sent $probes R-U-THEREs during the ping"
# Without the fast path's SA use we would probe every 2 s (7 times in 15 s); one may go out
# as the ping starts, the tunnel idle since the last check.
check "ra: at most one R-U-THERE of ours while ESP comes in" test "$probes" -le 1
reauths=$(( $(log_count 'IKE_SA ra\[[0-9]*\] established') - 1 ))
echo "strongSwan saw $reauths reauthentications during the ping"
check "ra: at least 2 reauthentications during the ping" test "$reauths" -ge 2
check "ra: strongSwan holds a new ISAKMP SA (new cookies)" test -n "$cookies1" -a "${cookies1% *}" != "${cookies0% *}"
check "ra: and only that one (the old one deleted)" test "$(swan_ike_count ra)" -eq 1
check "ra: strongSwan's IPsec SA is the same" test -n "$children0" -a "$children0" = "$children1"
# Read together: with a reauthentication every 6 s, a new one may end between two reads.
cookies_agree() {
  local swan_now
  swan_now=$(swan_cookies ra | head -1)
  [ -n "$swan_now" ] && our_v1_sas ra | sed 's/0x//g' | grep -qx "${swan_now% *}"
}
check "ra: our side holds strongSwan's ISAKMP SA (same cookies)" wait_for 5 cookies_agree
check "ra: the fast path holds one pair" fp_sas_is 2
check "ra: at most ${REAUTH_MAX_LOST:-3} pings lost" test "$lost" -le "${REAUTH_MAX_LOST:-3}"
check "ra: the tunnel still carries traffic" wait_for 10 ping_through
down ra

echo "== 4. kill -9 of strongSwan: found dead by our DPD ($DPD)"
up kd ours
kill -9 "$charon"
t0=$(now_ms)
gone() { ! our_v1_up kd && fp_sas_none; }
bound=$((DPD_BOUND_MS + DPD_SLACK_MS))
if wait_for $(( bound / 1000 + 5 )) gone; then
  ms=$(( $(now_ms) - t0 ))
else
  ms=-1
fi
echo "figure: the killed peer found dead in $ms ms (interval 2 s + timeout 1 s x (2 retries + 1)" \
  "= $DPD_BOUND_MS ms at most, plus up to $DPD_SLACK_MS ms of polling)"
check "kd: our ISAKMP SA and the fast path SAs are gone" test "$ms" -ge 0
check "kd: within $bound ms" test "$ms" -le "$bound"
check "kd: not before the retries ran out (at least 3000 ms)" test "$ms" -ge 3000
check "kd: slowpath-ctl shows no SA" our_ike_none
check "kd: the slow path logged the peer dead" grep -q "PeerDead" "$work/sp.log"
charon=""

ike_summary ike_v1_dpd
