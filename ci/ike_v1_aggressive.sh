#!/usr/bin/env bash
# IKEv1 Aggressive Mode interop with strongSwan 5.9.8 (`version = 1`, `aggressive = yes`, PSK;
# charon with kernel-libipsec, so `encap = yes` forces NAT-T and the third message floats to
# port 4500), ESP through our fast path, in the topology of ci/ike_v1_strongswan.sh:
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- strongSwan S (192.0.2.2, 10.2.0.1)
#
#   1. strongSwan initiates as s1.swan: our conn `am` (remote-id fqdn:s1.swan) answers; both
#      sides' views, a ping from L
#   2. strongSwan initiates as s2.swan from the same address: it lands on our second conn
#      `am2` (remote-id fqdn:s2.swan), which answers as am2.gw
#   3. strongSwan initiates as s3.swan, whom our conn `mm` takes in Main Mode only: refused
#      (NO_PROPOSAL_CHOSEN), strongSwan's SA not established, our aggressive_refused counter moved
#   4. we initiate `amout` in Aggressive Mode to strongSwan as responder, a ping from L
# Every wait is bounded; everything is cleaned up (KEEP=1 keeps the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/ike_topology.sh
ike_topology_up ike-v1-aggressive

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# strongSwan answers an Aggressive Mode with a PSK only when told it may.
SWAN_CHARON_EXTRA="i_dont_care_about_security_and_use_aggressive_mode_psk = yes"

# One IKEv1 Aggressive Mode PSK conn of strongSwan to G: its identity, ours, child `net`
# (10.2.0.0/16 <-> 10.1.0.0/16).
swan_am_conn() { # name, our identity (strongSwan's remote), strongSwan's identity
  printf '  %s {\n    version = 1\n    aggressive = yes\n    local_addrs = 192.0.2.2\n' "$1"
  printf '    remote_addrs = 192.0.2.1\n    proposals = aes128-sha1-modp1024\n    encap = yes\n'
  printf '    dpd_delay = 0\n    rekey_time = 0\n'
  printf '    local { auth = psk\n      id = %s }\n    remote { auth = psk\n      id = %s }\n' "$3" "$2"
  printf '    children { net { local_ts = 10.2.0.0/16\n        remote_ts = 10.1.0.0/16\n'
  printf '        rekey_time = 0\n        esp_proposals = aes128-sha1 } }\n  }\n'
}

write_strongswan_conf
{
  echo "connections {"
  swan_am_conn s1 am.gw s1.swan
  swan_am_conn s2 am2.gw s2.swan
  swan_am_conn s3 mm.gw s3.swan
  swan_am_conn s4 amout.gw s4.swan
  echo "}"
  printf 'secrets { ike-any { secret = %s } }\n' "$PSK"
} >"$work/swanctl.conf"

# Our conns: the same peer address for all; `mm` runs Main Mode only.
ours() { # name, our identity, strongSwan's identity, child, [aggressive]
  printf 'conn %s local 192.0.2.1 remote 192.0.2.2 local-id fqdn:%s remote-id fqdn:%s' "$1" "$2" "$3"
  printf ' auth psk gw ike aes128-sha1-modp1024 version 1 %s dpd 0s add\n' "${5:-}"
  printf 'child %s conn %s local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1\n' "$4" "$1"
}
{
  printf 'control %s\nfastpath %s\nsecret gw psk %s\n' "$work/sp.sock" "$work/fp.sock" "$PSK"
  ours am am.gw s1.swan net aggressive
  ours am2 am2.gw s2.swan net2 aggressive
  ours mm mm.gw s3.swan net3
  ours amout amout.gw s4.swan net4 aggressive
} >"$work/sp.conf"
start_slowpath
start_charon

# Our established IKEv1 SA of conn $1 (slowpath-ctl ike-sas).
our_v1_conn_up() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
sys.exit(0 if any(s['state']=='Established' and s.get('version')==1 and s['conn']==sys.argv[1]
                  for s in json.load(sys.stdin)) else 1)" "$1"; }
# strongSwan lists an IKEv1 SA as `s1: #1, ESTABLISHED, IKEv1, ...`.
swan_v1_up() { swan --list-sas --ike "$1" 2>/dev/null | grep -q "ESTABLISHED, IKEv1"; }
swan_v1_not_up() { ! swan_v1_up "$1"; }
# One drop counter of `slowpath-ctl ike-counters`.
drops_of() { ctl ike-counters | python3 -c "import json,sys; print(json.load(sys.stdin).get('drops', {}).get(sys.argv[1], 0))" "$1"; }
# charon's log says which exchange it ran.
swan_logged() { grep -q "$1" "$work/charon.log"; }

case_up() { # our conn, strongSwan's conn
  check "$1: ISAKMP SA established on our side (version 1)" wait_for 15 our_v1_conn_up "$1"
  check "$1: strongSwan lists its IKEv1 SA ($2) ESTABLISHED" wait_for 10 swan_v1_up "$2"
  check "$1: strongSwan installed the IPsec SA" wait_for 10 swan_has INSTALLED
  check "$1: the fast path has the SA pair" wait_for 5 fp_sas_at_least 2
  check "$1: L pings through the tunnel" wait_for 10 ping_through
  check "$1: strongSwan counted our packets" swan_counted
}
case_down() { # our conn, strongSwan's conn
  swan --terminate --ike "$2" >/dev/null || true
  check "$1: our ISAKMP SA goes down" wait_for 10 our_ike_none
  check "$1: the fast path SAs are removed" wait_for 5 fp_sas_none
}

echo "== 1. strongSwan initiates Aggressive Mode as s1.swan"
swan --initiate --child net --ike s1 >/dev/null || true
case_up am s1
check "am: strongSwan ran an Aggressive Mode" swan_logged "initiating Aggressive Mode IKE_SA s1"
echo "--- strongSwan's view"; swan --list-sas 2>/dev/null | sed -n '1,8p'
echo "--- ours"; ctl ike-sas | python3 -c "
import json,sys
for s in json.load(sys.stdin): print(s['conn'], 'IKEv%s' % s.get('version'), s['state'], s['spi_i'], s['spi_r'], s.get('remote_id'))"
case_down am s1

echo "== 2. the same address as s2.swan lands on the second conn"
swan --initiate --child net --ike s2 >/dev/null || true
case_up am2 s2
check "am2: strongSwan authenticated us as am2.gw" \
  swan_logged "IKE_SA s2\[[0-9]*\] established between 192.0.2.2\[s2.swan\]...192.0.2.1\[am2.gw\]"
case_down am2 s2

echo "== 3. a conn without aggressive refuses an Aggressive Mode"
refused0=$(drops_of aggressive_refused)
swan --initiate --child net --ike s3 --timeout 8 >/dev/null 2>&1 || true
check "s3: strongSwan's SA is not established" swan_v1_not_up s3
check "s3: no SA of ours" our_ike_none
refused=$(drops_of aggressive_refused)
echo "aggressive_refused: $refused0 -> $refused"
check "s3: our aggressive_refused counter moved" test "$refused" -gt "$refused0"
check "s3: strongSwan was told NO_PROPOSAL_CHOSEN" swan_logged "NO_PROPOSAL_CHOSEN"
swan --terminate --ike s3 >/dev/null 2>&1 || true

echo "== 4. we initiate Aggressive Mode to strongSwan as responder"
ctl initiate amout >/dev/null || echo "initiate failed: $(ctl initiate amout 2>&1)"
case_up amout s4
check "amout: strongSwan answered an Aggressive Mode" swan_logged "is initiating a Aggressive Mode IKE_SA"
ctl terminate amout >/dev/null || true
check "amout: strongSwan's SA goes away" wait_for 10 swan_no_ike
check "amout: ours is gone" wait_for 10 our_ike_none

ike_summary ike_v1_aggressive
