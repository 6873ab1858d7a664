#!/usr/bin/env bash
# SNMP traps received by net-snmp's snmptrapd, in a network namespace of their own:
#   1. the MIB: snmptranslate resolves every notification of IPSEC-GW-MIB to its OID, and
#      smilint finds no error in it (with mibs/base's stand-ins for the IETF modules, which
#      Debian's main archive does not ship);
#   2. a slow path with four receivers (v2c, v3 SHA-1 + AES, v3 SHA-256 + AES, and a v3 user
#      whose passphrase snmptrapd does not share) changes an HA group's role by hand: the
#      trap arrives decoded, by name, once per good receiver, and never for the bad one;
#   3. the slow path restarts: its engine boots (from the boots file) go up, so snmptrapd
#      takes the v3 traps of the new run too.
# Every wait is bounded; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib/checks.sh
BIN=${BIN:-target/release}
[ -x "$BIN/slowpath" ] || cargo build --release --quiet -p slowpath
ns=snmp$$
work=$(mktemp -d /tmp/snmp-traps.XXXXXX)
sp=""
trapd=""
pass=0
fail=0
# Our engine ID as the receivers know it: format 4 (text) under 32473, "snmp-test".
engine=0x80007ed904736e6d702d74657374
port=1162
mibs=(-M "+:$PWD/mibs:$PWD/mibs/base" -m IPSEC-GW-MIB)

cleanup() {
  [ -n "$sp" ] && kill -9 "$sp" 2>/dev/null || true
  if [ -n "$trapd" ]; then kill "$trapd" 2>/dev/null; wait "$trapd" 2>/dev/null; fi || true
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

echo "-- 1. the MIB"
notifications=$(grep -o '^ipsecGw[A-Za-z]* *NOTIFICATION-TYPE' mibs/IPSEC-GW-MIB.txt | awk '{print $1}')
check "the MIB has the 11 notifications" [ "$(echo "$notifications" | wc -l)" = 11 ]
for n in $notifications; do
  want=".1.3.6.1.4.1.32473.1.0.$(grep -A12 "^$n NOTIFICATION-TYPE" mibs/IPSEC-GW-MIB.txt | grep -o 'ipsecGwNotifications [0-9]*' | head -1 | awk '{print $2}')"
  got=$(snmptranslate "${mibs[@]}" -On -IR "$n" 2>/dev/null || true)
  check "snmptranslate resolves $n to $want" [ "$got" = "$want" ]
done
# libsmi's own path first (the IETF modules, where installed), then the stand-ins.
lint=$(SMIPATH=":$PWD/mibs/base" smilint -l 3 mibs/IPSEC-GW-MIB.txt 2>&1 || true)
check "smilint -l 3 finds nothing in IPSEC-GW-MIB${lint:+: $lint}" [ -z "$lint" ]

echo "-- 2. an HA role change, sent to four receivers"
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "$work/persist"
cat > "$work/snmptrapd.conf" <<CONF
authCommunity log public
createUser -e $engine opsha SHA authpass-sha AES privpass-sha
createUser -e $engine ops256 SHA-256 authpass-256 AES privpass-256
createUser -e $engine opsbad SHA authpass-bad AES privpass-bad
authUser log opsha priv
authUser log ops256 priv
authUser log opsbad priv
CONF
ip netns exec "$ns" env SNMP_PERSISTENT_DIR="$work/persist" snmptrapd -f -C -c "$work/snmptrapd.conf" \
  "${mibs[@]}" -F '%P| %v\n' -Lf "$work/traps.log" "udp:127.0.0.1:$port" 2>"$work/snmptrapd.err" &
trapd=$!
cat > "$work/slowpath.conf" <<CONF
control $work/slowpath.sock
ha-group lab static active
snmp-trap 127.0.0.1:$port v2c community public
snmp-trap 127.0.0.1:$port v3 user opsha auth sha authpass-sha priv aes privpass-sha engine-id $engine
snmp-trap 127.0.0.1:$port v3 user ops256 auth sha256 authpass-256 priv aes privpass-256 engine-id $engine
snmp-trap 127.0.0.1:$port v3 user opsbad auth sha not-the-pass priv aes privpass-bad engine-id $engine
snmp-engine-boots-file $work/boots
CONF
check "snmptrapd listens" wait_for 10 grep -qs 'NET-SNMP version' "$work/traps.log"

start_slowpath() {
  ip netns exec "$ns" "$BIN/slowpath" --config "$work/slowpath.conf" >>"$work/slowpath.log" 2>&1 &
  sp=$!
  wait_for 10 test -S "$work/slowpath.sock"
}
stop_slowpath() {
  kill "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  sp=""
  rm -f "$work/slowpath.sock"
}
ha_set() { # role
  ip netns exec "$ns" "$BIN/slowpath-ctl" -s "$work/slowpath.sock" ha-set lab "$1" >/dev/null
}
traps_to() { # role, security line pattern: the count of that role's traps logged so
  grep "$2" "$work/traps.log" | grep 'ipsecGwHaRoleChange' | grep -c "ipsecGwHaRoleTo.0 = INTEGER: $1" || true
}
received() { # role, pattern, count
  [ "$(traps_to "$1" "$2")" -ge "$3" ]
}

check "the slow path starts with four receivers" start_slowpath
check "ha-set lab standby" ha_set standby
check "v2c: ipsecGwHaRoleChange to standby, by name" wait_for 10 received standby 'community public' 1
check "v3 SHA-1 + AES: ipsecGwHaRoleChange to standby" wait_for 10 received standby 'user opsha' 1
check "v3 SHA-256 + AES: ipsecGwHaRoleChange to standby" wait_for 10 received standby 'user ops256' 1
check "the trap carries the group and the reason" \
  grep -q 'ipsecGwHaGroupName.0 = STRING: lab.*ipsecGwReason.0 = STRING: static Standby' "$work/traps.log"
check "the trap starts with sysUpTime.0 and snmpTrapOID.0" \
  grep -q 'community public.*mib-2.1.3.0 = Timeticks: .*snmpModules.1.1.4.1.0 = OID: IPSEC-GW-MIB::ipsecGwHaRoleChange' "$work/traps.log"
check "a wrong auth passphrase: refused by snmptrapd" grep -q 'Authentication failed for opsbad' "$work/traps.log"
check "a wrong auth passphrase: its trap never logged" [ "$(traps_to standby 'user opsbad')" = 0 ]
check "boots file: 1 after the first start" grep -qx 1 "$work/boots"

echo "-- 3. a restart (the group starts active again): engine boots 2, its v3 traps taken too"
stop_slowpath
check "the slow path starts again" start_slowpath
check "ha-set lab standby, again" ha_set standby
check "boots file: 2" grep -qx 2 "$work/boots"
check "v2c after the restart: a second trap" wait_for 10 received standby 'community public' 2
check "v3 SHA-1 after the restart: a second trap" wait_for 10 received standby 'user opsha' 2
check "v3 SHA-256 after the restart: a second trap" wait_for 10 received standby 'user ops256' 2
stop_slowpath

if [ "$fail" -gt 0 ]; then
  echo "--- traps.log"; cat "$work/traps.log"
  echo "--- snmptrapd stderr"; tail -20 "$work/snmptrapd.err"
  echo "--- slowpath.log"; tail -20 "$work/slowpath.log"
fi
print_failed_checks
echo "snmp_traps: $pass passed, $fail failed"
[ "$fail" = 0 ]
