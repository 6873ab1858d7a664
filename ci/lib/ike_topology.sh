# What the strongSwan interop tests share (sourced by ci/ike_strongswan.sh,
# ci/ike_strongswan_more.sh, ci/ike_floods.sh and ci/restart_recovery.sh; ci/ha_failover.sh
# uses its strongSwan side alone), after `set -euo pipefail` and a cd to the
# repository):
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- strongSwan S (192.0.2.2, 10.2.0.1)
#                               G: fastpath (af_packet + net_tap) and slowpath (IKE)
#
# `ike_topology_up TAG` builds the namespaces (named ik<pid>G/S/L), starts the fast path in G
# and installs the cleanup trap; then the caller writes `$work/swanctl.conf` and `$work/sp.conf`
# (`write_swanctl_psk` writes the first for one PSK conn) and calls `write_strongswan_conf`,
# `start_slowpath` and `start_charon`. `check` counts (ci/lib/checks.sh), `ike_summary`
# prints the tally and fails the script on any failure.
# Every wait is bounded; the trap stops every process of the namespaces, deletes them and
# DPDK's runtime directory, and the work directory unless KEEP=1.
# Options (environment): FP_ARGS, more arguments of the fast path (`--ha-sync`); FP_STATS_MS=N
# (and FP_JSON=1) make it log its counters every N ms (as JSON lines) in $work/fp.log;
# FP_OUT_PCAP=1 puts its outside port on net_pcap (fragments as they came);
# SWAN_CHARON_EXTRA and SWAN_LOG_EXTRA, more lines in strongswan.conf's charon section and
# in its filelog. `start_fastpath` starts the fast path again (after a kill: a restart).

. ci/lib/checks.sh
# Conditions here ask slowpath-ctl or swanctl and parse their JSON: not too often.
WAIT_STEP=${WAIT_STEP:-0.2}
BIN=${BIN:-target/release}
[ -x "$BIN/fastpath" ] || cargo build --release --quiet -p fastpath
[ -x "$BIN/slowpath" ] || cargo build --release --quiet -p slowpath
t=ik$$
work=""
fp="" sp="" charon=""
pass=0
fail=0

ike_cleanup() {
  [ -n "$sp" ] && kill -INT "$sp" 2>/dev/null || true
  [ -n "$charon" ] && kill -TERM "$charon" 2>/dev/null || true
  sleep 0.3
  [ -n "$fp" ] && kill -INT "$fp" 2>/dev/null || true
  reap_netns "${t}G" "${t}S" "${t}L"
  for n in G S L; do ip netns del "$t$n" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/${t}G"
  if [ -n "$work" ]; then
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
  fi
}

ike_topology_up() { # tag (names the work directory)
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  trap ike_cleanup EXIT
  for n in G S L; do ip netns add "$t$n"; done
  ip link add l0 netns "${t}L" type veth peer name gI netns "${t}G"
  ip link add gO netns "${t}G" type veth peer name s0 netns "${t}S"
  local pair ns dev
  for pair in L:l0 G:gI G:gO S:s0; do
    ns=$t${pair%%:*}; dev=${pair#*:}
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
    ip -n "$ns" link set "$dev" up
  done
  # A veth leaves UDP checksums to be filled in by a NIC that is not there (TX offload); the
  # fast path reads those frames raw through af_packet and G's kernel would drop them as
  # corrupt. A real peer's NIC fills them in: so do the peers' veths here.
  ip netns exec "${t}S" ethtool -K s0 tx off >/dev/null
  ip netns exec "${t}L" ethtool -K l0 tx off >/dev/null
  # G's veths are fast path ports: G's kernel must not answer ARP on them too.
  for dev in gI gO; do ip netns exec "${t}G" sysctl -qw "net.ipv4.conf.$dev.arp_ignore=8"; done
  ip -n "${t}L" addr add 10.1.0.10/16 dev l0
  ip -n "${t}L" route add default via 10.1.0.1
  ip -n "${t}S" addr add 192.0.2.2/24 dev s0
  ip -n "${t}S" addr add 10.2.0.1/32 dev lo
  ip -n "${t}S" link set lo up

  # FP_OUT_PCAP=1: port 1 through libpcap rather than af_packet. DPDK's af_packet joins a
  # fanout group with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles IP fragments
  # before the fast path sees them (and cuts what exceeds its 2048-byte frames); libpcap's
  # plain packet socket hands the fragments over as they came.
  cat > "$work/fp.conf" <<CONF
port 0 protected   exception 2 next-hop 10.1.0.10
port 1 unprotected exception 3 next-hop 192.0.2.2
local 10.1.0.1 192.0.2.1
CONF
  start_fastpath
}

# The fast path in G with its TAPs and their addresses (the node's network configuration,
# which a restart must lay again on the new TAPs).
start_fastpath() {
  rm -f "$work/fp.sock"
  local out_port="net_af_packet1,iface=gO"
  [ "${FP_OUT_PCAP:-0}" = 1 ] && out_port="net_pcap1,rx_iface_in=gO,tx_iface=gO"
  # shellcheck disable=SC2086 # FP_ARGS is a list of arguments
  ip netns exec "${t}G" "$BIN/fastpath" --config "$work/fp.conf" --control "$work/fp.sock" \
    --idle-sleep-us 200 --stats-ms "${FP_STATS_MS:-0}" ${FP_JSON:+--json} ${FP_ARGS:-} -- \
    -l 0,1 --no-huge -m 256 --file-prefix "${t}G" --no-pci --log-level=error \
    --vdev "net_af_packet0,iface=gI" --vdev "$out_port" \
    --vdev "net_tap0,iface=tapI" --vdev "net_tap1,iface=tapO" >>"$work/fp.log" 2>&1 &
  fp=$!
  wait_for 30 test -S "$work/fp.sock"
  wait_for 10 ip -n "${t}G" link show tapO >/dev/null 2>&1
  local tap
  for tap in tapI tapO; do ip netns exec "${t}G" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"; done
  ip -n "${t}G" addr add 10.1.0.1/16 dev tapI
  ip -n "${t}G" addr add 192.0.2.1/24 dev tapO
}

# strongSwan's charon.conf: its own vici socket and a log in the work dir; extra plugins as
# arguments (x509 pem ... for certificates).
write_strongswan_conf() {
  cat > "$work/strongswan.conf" <<CONF
charon {
  load = kdf random nonce aes sha1 sha2 hmac gmp gcm openssl kernel-libipsec kernel-netlink socket-default vici updown $*
  install_routes = yes
  ${SWAN_CHARON_EXTRA:-}
  plugins { vici { socket = unix://$work/charon.vici } }
  filelog { f { path = $work/charon.log
    flush_line = yes
    default = 1
    ike = 2
    cfg = 2
    ${SWAN_LOG_EXTRA:-} } }
}
CONF
}

# swanctl.conf for one PSK connection NAME of S (192.0.2.2) to G (192.0.2.1), UDP encapsulated,
# with one CHILD SA `net` (10.2.0.0/16 <-> 10.1.0.0/16), into $work/swanctl.conf.
# One PSK conn of swanctl.conf from S to G with one child `net` (10.2.0.0/16 <-> 10.1.0.0/16),
# and the secret ($PSK) it authenticates with.
swan_psk_conn() { # name, IKE proposals, ESP proposals, [one more conn setting], [one more child setting]
  printf '  %s {\n    version = 2\n    local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1\n' "$1"
  printf '    proposals = %s\n    encap = yes\n    %s\n' "$2" "${4:-}"
  printf '    local { auth = psk\n      id = 192.0.2.2 }\n    remote { auth = psk\n      id = 192.0.2.1 }\n'
  printf '    children { net { local_ts = 10.2.0.0/16\n        remote_ts = 10.1.0.0/16\n'
  printf '        %s\n        esp_proposals = %s } }\n  }\n' "${5:-}" "$3"
}
swan_psk_secret() { printf 'secrets { ike-gw { id-1 = 192.0.2.1\n    id-2 = 192.0.2.2\n    secret = %s } }\n' "$PSK"; }
# A PSK conn of swanctl.conf from S to G that asks for a virtual IP (a road warrior), with
# one child (its virtual IP <-> 10.1.0.0/16); its identity's secret is the caller's to add.
swan_vip_conn() { # name, local identity, IKE proposals, child name, ESP proposals, [one more conn setting], [one more child setting]
  printf '  %s {\n    version = 2\n    local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1\n' "$1"
  printf '    proposals = %s\n    encap = yes\n    vips = 0.0.0.0\n    %s\n' "$3" "${6:-}"
  printf '    local { auth = psk\n      id = %s }\n    remote { auth = psk\n      id = 192.0.2.1 }\n' "$2"
  printf '    children { %s { local_ts = dynamic\n        remote_ts = 10.1.0.0/16\n' "$4"
  printf '        %s\n        esp_proposals = %s } }\n  }\n' "${7:-}" "$5"
}

# $work/swanctl.conf with that one conn and its secret.
write_swanctl_psk() { # name, IKE proposals, ESP proposals, [one more conn setting]
  {
    echo "connections {"
    swan_psk_conn "$@"
    echo "}"
    swan_psk_secret
  } >"$work/swanctl.conf"
}

swan() { local cmd=$1; shift; ip netns exec "${t}S" swanctl "$cmd" --uri "unix://$work/charon.vici" "$@" 2> >(grep -v "^plugin '" >&2); }

# charon in S with its own /run, then `swanctl --load-all` of a swanctl.conf ($work/swanctl.conf
# unless given): swanctl takes credentials from the directories beside that file (x509,
# x509ca, private, ...), and says so on stderr (kept in $work/swanctl.out) for each it lacks.
start_charon() { # [swanctl.conf]
  local conf=${1:-$work/swanctl.conf}
  ip netns exec "${t}S" unshare -m sh -c "mount -t tmpfs tmpfs /run; STRONGSWAN_CONF=$work/strongswan.conf exec /usr/lib/ipsec/charon" >>"$work/charon.out" 2>&1 &
  charon=$!
  wait_for 15 test -S "$work/charon.vici"
  if ! wait_for 10 swan --load-all --file "$conf" >"$work/swanctl.out" 2>&1; then
    cat "$work/swanctl.out" >&2
    return 1
  fi
}

start_slowpath() {
  ip netns exec "${t}G" "$BIN/slowpath" --config "$work/sp.conf" >"$work/sp.log" 2>&1 &
  sp=$!
  wait_for 10 test -S "$work/sp.sock"
}

ctl() { "$BIN/slowpath-ctl" -s "$work/sp.sock" --json "$@"; }
# Whether an IKE SA of ours is established.
our_ike_up() { ctl ike-sas 2>/dev/null | python3 -c "import json,sys; sys.exit(0 if sum(1 for s in json.load(sys.stdin) if s['state']=='Established') >= 1 else 1)"; }
our_ike_none() { ctl ike-sas 2>/dev/null | python3 -c "import json,sys; sys.exit(0 if not json.load(sys.stdin) else 1)"; }
swan_has() { swan --list-sas 2>/dev/null | grep -q "$1"; }
fp_sas() { "$BIN/fastpath-ctl" -s "$work/fp.sock" --json sa list 2>/dev/null | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
fp_sas_at_least() { [ "$(fp_sas)" -ge "$1" ]; }
fp_sas_none() { [ "$(fp_sas)" -eq 0 ]; }
fp_sas_is() { [ "$(fp_sas)" -eq "$1" ]; }
# swanctl lists a CHILD SA's inbound SA as `in  c1234567(-, 0x..),    252 bytes,     3 packets`.
swan_counted() { swan --list-sas 2>/dev/null | grep -E '^ +in ' | grep -qE ' [1-9][0-9]* packets'; }
swan_no_ike() { ! swan --list-sas 2>/dev/null | grep -q ESTABLISHED; }
ping_to() { ip netns exec "${t}L" ping -c 3 -i 0.2 -W 2 -q "$1" >/dev/null; }
ping_through() { ping_to 10.2.0.1; }

# --- strongSwan's view, for judging (ci/ike_strongswan_more.sh, ci/restart_recovery.sh,
# ci/ha_failover.sh).
# strongSwan's IKE SAs as JSON, by conn (ci/lib/swan_sas.py): {"rk": [{"state":
# "ESTABLISHED", "child-sas": {"rk-7": {"state": "INSTALLED", "spi-in": "c1234567", ...}}}]}.
swan_json() {
  swan --list-sas --pretty 2>/dev/null | python3 ci/lib/swan_sas.py
}
# The states of strongSwan's IKE SAs of a conn (ESTABLISHED, REKEYED, ...: two during an IKE
# rekey), empty if none.
swan_ike_states() { swan_json | python3 -c "
import json,sys
print(' '.join(sa.get('state','?') for sa in json.load(sys.stdin).get('$1',[])))"; }
swan_conn_established() { [[ " $(swan_ike_states "$1") " == *" ESTABLISHED "* ]]; }
swan_conn_gone() { [ -z "$(swan_ike_states "$1")" ]; }
# strongSwan's installed CHILD SAs of a conn, a `SPI_IN SPI_OUT` line each turned around to
# the gateway's point of view, sorted.
swan_children() { swan_json | python3 -c "
import json,sys
for sa in json.load(sys.stdin).get('$1',[]):
    for ch in sa.get('child-sas',{}).values():
        if ch.get('state')=='INSTALLED': print(int(ch['spi-out'],16), int(ch['spi-in'],16))" | sort; }
# The virtual IPs strongSwan holds through a conn's IKE SA.
swan_vip() { swan_json | python3 -c "
import json,sys
sas=json.load(sys.stdin).get('$1',[])
print(' '.join(sas[0].get('local-vips',[])) if sas else '')"; }
in_pool() { case "$1" in 10.3.0.*) [ "$1" != 10.3.0.0 ] && [ "$1" != 10.3.0.255 ] ;; *) false ;; esac; }
s_has_addr() { [ -n "$1" ] && ip -n "${t}S" -o addr show | grep -q " $1/"; }
# strongSwan's SPIs: the IKE SA's pair and the CHILD SA's in and out, one line.
swan_spis() {
  swan --list-sas 2>/dev/null | grep -oE '[0-9a-f]{16}_[ir]|(in|out) +[0-9a-f]{8}' | tr -s ' \n' '  '
}
# charon.log's length, and how many of its lines since line $1 match $2.
log_lines() { wc -l <"$work/charon.log"; }
log_since() { tail -n +"$(($1 + 1))" "$work/charon.log" | grep -c "$2" || true; }

# strongSwan's SPIs before and after a fault: shown, and the same.
judge_spis() { # label, SPIs before, SPIs after
  echo "$1: strongSwan's SPIs before: $2"
  echo "$1: strongSwan's SPIs after:  $3"
  check "$1: strongSwan keeps the same IKE and CHILD SPIs" test -n "$2" -a "$2" = "$3"
}
# strongSwan's log since a mark: nothing renegotiated, no ESP dropped.
judge_log() { # label, log mark
  check "$1: no new IKE_SA_INIT in strongSwan's log" test "$(log_since "$2" 'IKE_SA_INIT')" -eq 0
  check "$1: strongSwan logs no replayed sequence number" test "$(log_since "$2" 'sequence number verification failed')" -eq 0
  check "$1: strongSwan logs no ICV failure" test "$(log_since "$2" 'ICV verification failed')" -eq 0
  check "$1: strongSwan logs no ESP for an unknown SPI" test "$(log_since "$2" 'does not belong to an installed SA')" -eq 0
}
# strongSwan logs every CHILD SA it installs, the first one and each rekey's, once or twice
# (`[inbound |outbound ]CHILD_SA rk{7} established with SPIs ...`: counted by their unique
# ids), and its IKE rekeys (`IKE_SA rk[3] rekeyed between ...`).
swan_child_installs() { grep -o "CHILD_SA $1{[0-9]*} established with SPIs" "$work/charon.log" | sort -u | wc -l; }
swan_ike_rekeys() { grep -c "IKE_SA $1\[[0-9]*\] rekeyed between" "$work/charon.log" || true; }

ike_summary() { # script name
  echo "$1: $pass passed, $fail failed"
  if [ "$fail" -gt 0 ]; then
    echo "--- sp.log"; tail -40 "$work/sp.log"
    echo "--- charon.log"; tail -40 "$work/charon.log"
    print_failed_checks
    exit 1
  fi
}
