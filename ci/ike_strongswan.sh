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
BIN=${BIN:-target/release}
[ -x "$BIN/fastpath" ] || cargo build --release --quiet -p fastpath
[ -x "$BIN/slowpath" ] || cargo build --release --quiet -p slowpath
t=ik$$
work=$(mktemp -d /tmp/ike-strongswan.XXXXXX)
fp="" sp="" charon=""
pass=0
fail=0

cleanup() {
  [ -n "$sp" ] && kill -INT "$sp" 2>/dev/null || true
  sleep 0.3
  [ -n "$fp" ] && kill -INT "$fp" 2>/dev/null || true
  for n in G S L; do
    local end=$((SECONDS + 10))
    while [ -n "$(ip netns pids "$t$n" 2>/dev/null)" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
    ip netns pids "$t$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for n in G S L; do ip netns del "$t$n" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/${t}G"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

check() { # name, command...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; pass=$((pass + 1)); else echo "FAILED: $name"; fail=$((fail + 1)); fi
}

wait_for() { # seconds, command...
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  "$@"
}

for n in G S L; do ip netns add "$t$n"; done
ip link add l0 netns "${t}L" type veth peer name gI netns "${t}G"
ip link add gO netns "${t}G" type veth peer name s0 netns "${t}S"
for pair in L:l0 G:gI G:gO S:s0; do
  ns=$t${pair%%:*}; dev=${pair#*:}
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
  ip -n "$ns" link set "$dev" up
done
# A veth leaves UDP checksums to be filled in by a NIC that is not there (TX offload); the fast
# path reads those frames raw through af_packet and G's kernel would drop them as corrupt. A
# real peer's NIC fills them in: so do the peers' veths here.
ip netns exec "${t}S" ethtool -K s0 tx off >/dev/null
ip netns exec "${t}L" ethtool -K l0 tx off >/dev/null
# G's veths are fast path ports: G's kernel must not answer ARP on them too.
for dev in gI gO; do ip netns exec "${t}G" sysctl -qw "net.ipv4.conf.$dev.arp_ignore=8"; done
ip -n "${t}L" addr add 10.1.0.10/16 dev l0
ip -n "${t}L" route add default via 10.1.0.1
ip -n "${t}S" addr add 192.0.2.2/24 dev s0
ip -n "${t}S" addr add 10.2.0.1/32 dev lo
ip -n "${t}S" link set lo up

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

cat > "$work/fp.conf" <<CONF
port 0 protected   exception 2 next-hop 10.1.0.10
port 1 unprotected exception 3 next-hop 192.0.2.2
local 10.1.0.1 192.0.2.1
CONF
ip netns exec "${t}G" "$BIN/fastpath" --config "$work/fp.conf" --control "$work/fp.sock" \
  --idle-sleep-us 200 --stats-ms 0 -- \
  -l 0,1 --no-huge -m 256 --file-prefix "${t}G" --no-pci --log-level=error \
  --vdev "net_af_packet0,iface=gI" --vdev "net_af_packet1,iface=gO" \
  --vdev "net_tap0,iface=tapI" --vdev "net_tap1,iface=tapO" >"$work/fp.log" 2>&1 &
fp=$!
wait_for 30 test -S "$work/fp.sock"
wait_for 10 ip -n "${t}G" link show tapO >/dev/null 2>&1
for tap in tapI tapO; do ip netns exec "${t}G" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"; done
ip -n "${t}G" addr add 10.1.0.1/16 dev tapI
ip -n "${t}G" addr add 192.0.2.1/24 dev tapO

# strongSwan: charon in S with its own /run, a vici socket and a log in the work dir.
cat > "$work/strongswan.conf" <<CONF
charon {
  load = kdf random nonce aes sha1 sha2 hmac gmp gcm openssl kernel-libipsec kernel-netlink socket-default vici updown
  install_routes = yes
  plugins { vici { socket = unix://$work/charon.vici } }
  filelog { f { path = $work/charon.log
    default = 1
    ike = 2
    cfg = 2 } }
}
CONF
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

start_charon() {
  ip netns exec "${t}S" unshare -m sh -c "mount -t tmpfs tmpfs /run; STRONGSWAN_CONF=$work/strongswan.conf exec /usr/lib/ipsec/charon" >>"$work/charon.out" 2>&1 &
  charon=$!
  wait_for 15 test -S "$work/charon.vici"
  wait_for 10 swan --load-all --file "$work/swanctl.conf" >/dev/null
}
swan() { local cmd=$1; shift; ip netns exec "${t}S" swanctl "$cmd" --uri "unix://$work/charon.vici" "$@"; }

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
ip netns exec "${t}G" "$BIN/slowpath" --config "$work/sp.conf" >"$work/sp.log" 2>&1 &
sp=$!
wait_for 10 test -S "$work/sp.sock"
start_charon

ctl() { "$BIN/slowpath-ctl" -s "$work/sp.sock" --json "$@"; }
# How many IKE SAs of ours are established.
our_ike_up() { ctl ike-sas 2>/dev/null | python3 -c "import json,sys; sys.exit(0 if sum(1 for s in json.load(sys.stdin) if s['state']=='Established') >= 1 else 1)"; }
our_ike_none() { ctl ike-sas 2>/dev/null | python3 -c "import json,sys; sys.exit(0 if not json.load(sys.stdin) else 1)"; }
swan_has() { swan --list-sas 2>/dev/null | grep -q "$1"; }
fp_sas() { "$BIN/fastpath-ctl" -s "$work/fp.sock" --json sa list 2>/dev/null | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
fp_sas_at_least() { [ "$(fp_sas)" -ge "$1" ]; }
fp_sas_none() { [ "$(fp_sas)" -eq 0 ]; }
# swanctl lists a CHILD SA's inbound SA as `in  c1234567(-, 0x..),    252 bytes,     3 packets`.
swan_counted() { swan --list-sas 2>/dev/null | grep -E '^ +in ' | grep -qE ' [1-9][0-9]* packets'; }
swan_no_ike() { ! swan --list-sas 2>/dev/null | grep -q ESTABLISHED; }
ping_through() { ip netns exec "${t}L" ping -c 3 -i 0.2 -W 2 -q 10.2.0.1 >/dev/null; }

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

echo "ike_strongswan: $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  echo "--- sp.log"; tail -40 "$work/sp.log"
  echo "--- charon.log"; tail -40 "$work/charon.log"
  exit 1
fi
