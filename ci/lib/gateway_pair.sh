# Two of our gateways, A (192.0.2.1) and B (192.0.2.2), in namespaces $t A and $t B with one
# ESP tunnel between them (ci/netns_ping.sh, ci/fib_routes.sh). Source it; set t,
# work and FASTPATH (the binary) before starting a node; LCORES and QP (af_packet queue pairs)
# are optional. `pids` holds the nodes started.

pids=()

K1=2b7e151628aed2a6abf7158809cf4f3ccafebabe
K2=000102030405060708090a0b0c0d0e0f10111213

# The SA and SP statements of one node: AES-128-GCM with ESN, A's inside prefix to B's.
pair_sas() { # node (A|B), A's inside prefix, B's inside prefix
  local me=192.0.2.1 peer=192.0.2.2 out=0x1001 in=0x2002 kout=$K1 kin=$K2 mine=$2 theirs=$3
  if [ "$1" = B ]; then
    me=192.0.2.2 peer=192.0.2.1 out=0x2002 in=0x1001 kout=$K2 kin=$K1 mine=$3 theirs=$2
  fi
  echo "sa 1 out spi $out aes128gcm16 key $kout tunnel $me $peer esn"
  echo "sa 2 in  spi $in aes128gcm16 key $kin tunnel $me $peer esn"
  echo "sp out protect 1 pri 10 src $mine dst $theirs"
  echo "sp in  protect 2 pri 10 src $theirs dst $mine"
}

# A node's whole file: its ports (with the given options), its addresses (A: 10.0.1.254 and
# 192.0.2.1, B: 10.0.2.254 and 192.0.2.2), the extra statements, then `pair_sas`.
pair_conf() { # node, A's inside prefix, B's inside prefix, port 0 options, port 1 options, extra...
  local n=$1 a=$2 b=$3 p0=$4 p1=$5 local="10.0.1.254 192.0.2.1"
  shift 5
  [ "$n" = B ] && local="10.0.2.254 192.0.2.2"
  echo "port 0 protected   exception 2 $p0"
  echo "port 1 unprotected exception 3 $p1"
  echo "local $local"
  for x in "$@"; do echo "$x"; done
  pair_sas "$n" "$a" "$b"
}

# Starts node $1 on $work/$1.conf (control socket $work/$1.sock): af_packet ports on the
# protected and unprotected veths, a net_tap each as the exception path, where the kernel gets
# the node's addresses.
start_node() { # name, protected veth, unprotected veth, protected addr, unprotected addr
  local n=$1
  # shellcheck disable=SC2086
  ip netns exec "$t$n" "$FASTPATH" --config "$work/$n.conf" --control "$work/$n.sock" \
    --idle-sleep-us 200 --stats-ms 0 --json -- \
    ${LCORES:--l 0,1} --no-huge -m 256 --file-prefix "$t$n" --no-pci --log-level=error \
    --vdev "net_af_packet0,iface=$2${QP:-}" --vdev "net_af_packet1,iface=$3${QP:-}" \
    --vdev "net_tap0,iface=tap${n}0" --vdev "net_tap1,iface=tap${n}1" >"$work/$n.out" 2>"$work/$n.err" &
  pids+=($!)
  for _ in $(seq 100); do
    ip -n "$t$n" link show "tap${n}1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ip -n "$t$n" addr add "$4/24" dev "tap${n}0"
  ip -n "$t$n" addr add "$5/24" dev "tap${n}1"
  ip -n "$t$n" link set "tap${n}0" up
  ip -n "$t$n" link set "tap${n}1" up
}

# Stops the nodes started (SIGINT, then SIGKILL after 10 s) and forgets them.
stop_nodes() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  pids=()
}
