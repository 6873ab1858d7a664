#!/usr/bin/env bash
# A full-size FIB loaded into the real `fastpath` process, from the kernel and from the file.
#
# Kernel: in a fresh network namespace the fast path runs with `kernel-routes on`; V4 IPv4 and
# V6 IPv6 routes through its exception TAP are added with `ip -batch` while it follows the
# kernel (rtnetlink events; a burst this size overruns the socket, so the mirror also reads
# full dumps). Then a TAP bounce makes it read the whole table again as one dump. Static: the
# same routes as `route` lines of the configuration file. Each prints `figure:` lines: time
# until the FIB holds every route, the process's RSS, the mirror's overruns and resyncs, and
# how long `fastpath-ctl routes --limit 5` takes meanwhile (it must not wait for the mirror),
# checks that the counts equal the kernel's and that SAMPLE random addresses (inside the
# routes, where a more specific route and its /16 or /52 aggregate compete, and outside them)
# are looked up as the kernel's own `ip route get` answers.
#
#   bash bench/fib_load.sh                                  # 1,000,000 IPv4 + 100,000 IPv6
#   V4=100000 V6=10000 STATIC=0 bash bench/fib_load.sh      # the test suite's check
#   KERNEL=0 bash bench/fib_load.sh                         # the file only (a minute, not ten)
#
# Without the kernel's phase, lookups are checked against a reference computed here (the
# longest of the generated prefixes that holds each address) instead of `ip route get`.
#
# Exits 1 when a count or a lookup disagrees (the figures are printed all the same).
set -euo pipefail
cd "$(dirname "$0")/.."
V4=${V4:-1000000}
V6=${V6:-100000}
KERNEL=${KERNEL:-1}
STATIC=${STATIC:-1}
SAMPLE=${SAMPLE:-500}
TIMEOUT=${TIMEOUT:-600}
BIN=${BIN:-target/release}
[ -x "$BIN/fastpath" ] && [ -x "$BIN/fastpath-ctl" ] || cargo build --release --quiet -p fastpath
t=fl$$
work=$(mktemp -d /tmp/fib-load.XXXXXX)
pid=
probe=
fail=0

cleanup() {
  [ -n "$probe" ] && { touch "$work/probe.stop"; wait "$probe" 2>/dev/null; }
  [ -n "$pid" ] && { kill -INT "$pid" 2>/dev/null; timeout 10 tail --pid="$pid" -f /dev/null || kill -9 "$pid"; } 2>/dev/null
  ip netns del "$t" 2>/dev/null || true
  rm -rf "/var/run/dpdk/$t"
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$t" "$@"; }
ctl() { in_ns "$BIN/fastpath-ctl" -s "$work/fp.sock" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
counts() { ctl --json routes --limit 0 | jq -r '"\(.ipv4) \(.ipv6) \(.mirror.overruns // 0) \(.mirror.resyncs // 0)"'; }
bad() { echo "FAILED: $*"; fail=1; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# probe_start / probe_figure WHAT: times `fastpath-ctl routes --limit 5` every 0.1 s in the
# background meanwhile (the control thread must answer while the mirror reads a dump).
probe_start() {
  rm -f "$work/probe.stop"
  while [ ! -e "$work/probe.stop" ]; do
    s=$(ms_now)
    if ctl routes --limit 5 >/dev/null 2>&1; then echo "$(($(ms_now) - s))"; else echo failed; fi
    sleep 0.1
  done >"$work/probe" &
  probe=$!
}
probe_figure() {
  touch "$work/probe.stop"
  wait "$probe"
  sort -n "$work/probe" | awk -v what="$1" '
    /failed/ { failed++; next } { ms[n++] = $1 }
    END { printf "figure: fastpath-ctl routes --limit 5 %s: %d calls, median %d ms, max %d ms, %d failed\n",
            what, n + failed, n ? ms[int(n / 2)] : 0, n ? ms[n - 1] : 0, failed }'
}

# The routes: in each block of 256, one aggregate (/16 for IPv4, /52 for IPv6) and 255 more
# specific routes inside it (IPv4: /24, one in ten /25 to /28, as public tables are mostly /24
# and shorter; IPv6: /60 to /64), each block's gateways differing, so a lookup is right only if
# the longest match wins. Also writes the sample addresses to look up.
python3 - "$V4" "$V6" "$SAMPLE" "$work" <<'EOF'
import ipaddress, random, sys
v4, v6, sample, work = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(19)
def v4_route(i):
    block, sub = i >> 8, i & 255
    if sub == 0:
        return (0x0B000000 + (block << 16), 16, f"10.0.{block % 250 + 1}.1")
    length = 25 + i // 10 % 4 if i % 10 == 0 else 24
    return (0x0B000000 + (i << 8), length, f"10.0.{(block + sub) % 250 + 1}.2")
def v6_route(i):
    block, sub = i >> 8, i & 255
    base = 0x2400 << 112
    if sub == 0:
        return (base + (block << 76), 52, f"2001:db8:ffff::{block % 250 + 1:x}")
    return (base + (i << 68), 60 + i % 5, f"2001:db8:ffff::1:{(block + sub) % 250 + 1:x}")
with open(f"{work}/kernel.batch", "w") as kb, open(f"{work}/static.routes", "w") as st:
    for n, route, cls in ((v4, v4_route, ipaddress.IPv4Address), (v6, v6_route, ipaddress.IPv6Address)):
        for i in range(n):
            addr, length, gw = route(i)
            p = f"{cls(addr)}/{length}"
            kb.write(f"route add {p} via {gw} dev tapF0\n")
            st.write(f"route {p} via {gw} port 0\n")
with open(f"{work}/sample", "w") as out:
    for n, route, cls, bits in ((v4, v4_route, ipaddress.IPv4Address, 32), (v6, v6_route, ipaddress.IPv6Address, 128)):
        host = 8 if bits == 32 else 68
        for _ in range(sample if n else 0):
            addr, _, _ = route(rng.randrange(n))
            out.write(f"{cls(addr + rng.randrange(1 << host))}\n")
        # Outside every route.
        out.write(f"{cls((0xC6336400 if bits == 32 else 0x3fff << 112) + rng.randrange(256))}\n")
# The reference: each sample's longest matching prefix, as `ip route get` would print it.
table = {}
for n, route, bits in ((v4, v4_route, 32), (v6, v6_route, 128)):
    for i in range(n):
        addr, length, gw = route(i)
        table[(bits, length, addr >> (bits - length))] = gw
with open(f"{work}/sample") as sample, open(f"{work}/reference.get", "w") as out:
    for a in (s.strip() for s in sample):
        ip = ipaddress.ip_address(a)
        bits = ip.max_prefixlen
        gw = next((table[k] for length in range(bits, -1, -1)
                   if (k := (bits, length, int(ip) >> (bits - length))) in table), None)
        if gw:
            out.write(f"{a} via {gw} dev tapF0\n")
EOF
[ "$KERNEL" = 1 ] || cp "$work/reference.get" "$work/kernel.get"

ip netns add "$t"
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
ip -n "$t" link add v0 type veth peer name v1
ip -n "$t" link set v0 up
ip -n "$t" link set v1 up

# start MODE: the fast path on the two veths (idle) with a TAP each; kernel or static routes.
start() {
  {
    echo "port 0 protected   exception 2"
    echo "port 1 unprotected exception 3"
    if [ "$1" = kernel ]; then echo "kernel-routes on"; else cat "$work/static.routes"; fi
  } >"$work/fp.conf"
  rm -f "$work/fp.sock"
  # Not through in_ns: `ip netns exec` execs the fast path, so $! is its pid (for its RSS).
  RUST_LOG=info ip netns exec "$t" "$BIN/fastpath" --config "$work/fp.conf" --control "$work/fp.sock" \
    --idle-sleep-us 1000 --stats-ms 0 -- -l 0,1 --no-huge -m 512 --file-prefix "$t" \
    --no-pci --log-level=error --vdev net_af_packet0,iface=v0 --vdev net_af_packet1,iface=v1 \
    --vdev net_tap0,iface=tapF0 --vdev net_tap1,iface=tapF1 >"$work/fp.out" 2>"$work/fp.err" &
  pid=$!
}
stop() {
  kill -INT "$pid"
  timeout 20 tail --pid="$pid" -f /dev/null || kill -9 "$pid"
  pid=
}
# wait_counts V4 V6: until the fast path holds that many routes (or TIMEOUT).
wait_counts() {
  local deadline=$((SECONDS + TIMEOUT)) c
  while [ $SECONDS -lt $deadline ]; do
    c=$(counts 2>/dev/null) || c=
    set -- "$1" "$2" $c
    [ "${3:-}" = "$1" ] && [ "${4:-}" = "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
# check_lookups: the sample through `fastpath-ctl routes --lookup` against `ip route get`.
check_lookups() {
  [ -s "$work/kernel.get" ] ||
    in_ns ip -force -batch <(sed 's/^/route get /' "$work/sample") >"$work/kernel.get" 2>/dev/null || true
  # shellcheck disable=SC2046
  ctl routes --limit 0 --lookup $(cat "$work/sample") >"$work/fp.get"
  python3 - "$work" "$([ "$KERNEL" = 1 ] && echo "ip route get" || echo "the reference")" <<'EOF' || return 1
import re, sys
work, reference = sys.argv[1], sys.argv[2]
kernel = {}
for line in open(f"{work}/kernel.get"):
    m = re.match(r"(\S+) (?:from \S+ )?via (\S+) dev tapF0", line)
    if m:
        kernel[m.group(1)] = m.group(2)
ours, wrong = {}, []
for line in open(f"{work}/fp.get"):
    m = re.match(r"lookup (\S+) (?:port 0 via (\S+)|no route)", line)
    if m:
        ours[m.group(1)] = m.group(2)
sample = [a.strip() for a in open(f"{work}/sample")]
for a in sample:
    if kernel.get(a) != ours.get(a, "missing"):
        wrong.append(f"{a}: kernel {kernel.get(a)}, ours {ours.get(a, 'missing')}")
routed = sum(1 for a in sample if kernel.get(a))
print(f"figure: lookups checked against {reference}: {len(sample)} ({routed} routed), {len(wrong)} differ")
for w in wrong[:10]:
    print("  " + w)
sys.exit(1 if wrong else 0)
EOF
}

if [ "$KERNEL" = 1 ]; then
  echo "== kernel: $V4 IPv4 + $V6 IPv6 routes by ip -batch, mirrored over rtnetlink"
  start kernel
  for _ in $(seq 100); do ip -n "$t" link show tapF1 >/dev/null 2>&1 && break; sleep 0.1; done
  ip -n "$t" addr add 10.0.0.254/16 dev tapF0
  ip -n "$t" addr add 2001:db8:ffff::ff/64 dev tapF0 nodad
  ip -n "$t" addr add 192.0.2.1/24 dev tapF1
  ip -n "$t" link set tapF0 up
  ip -n "$t" link set tapF1 up
  for _ in $(seq 100); do [ -S "$work/fp.sock" ] && counts >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 1 # the addresses' connected routes (and IPv6 link-local ones) settle
  kernel_counts() {
    printf '%s %s\n' "$(in_ns ip -4 route show table main | wc -l)" \
      "$(in_ns ip -6 route show table main | awk '{ print $1 }' | sort -u | wc -l)"
  }
  read -r base4 base6 <<<"$(kernel_counts)"
  rss0=$(rss_mib)
  probe_start # idle: what a call costs by itself (a process, a namespace, a socket)
  sleep 1
  probe_figure "idle"
  probe_start
  t0=$(now)
  in_ns ip -batch "$work/kernel.batch"
  t1=$(now)
  read -r want4 want6 <<<"$(kernel_counts)"
  [ "$want4" = $((base4 + V4)) ] && [ "$want6" = $((base6 + V6)) ] || bad "the kernel holds $want4 + $want6 routes"
  if wait_counts "$want4" "$want6"; then
    t2=$(now)
    probe_figure "during the load and its resyncs"
    read -r _ _ overruns resyncs <<<"$(counts)"
    echo "figure: kernel ip -batch of $V4 + $V6 routes: $(secs "$t0" "$t1") s; fast path FIB complete $(secs "$t0" "$t2") s after the batch began ($(secs "$t1" "$t2") s after it ended; $overruns overruns, $resyncs resyncs)"
  else
    probe_figure "during the load"
    bad "fast path holds $(counts) (ipv4 ipv6 overruns resyncs), kernel $want4 $want6"
  fi
  echo "figure: fast path RSS $rss0 MiB before, $(rss_mib) MiB with $want4 IPv4 + $want6 IPv6 routes"
  check_lookups || bad "lookups differ from the kernel's"
  # A TAP bounce: the mirror reads the whole table again as one dump (what an overrun costs).
  read -r _ _ _ resyncs <<<"$(counts)"
  probe_start
  t0=$(now)
  ip -n "$t" link set tapF1 down
  ip -n "$t" link set tapF1 up
  deadline=$((SECONDS + TIMEOUT))
  # Resyncs are counted once the dump is read and applied; the control socket answers meanwhile.
  resynced() { local r; r=$(counts 2>/dev/null | awk '{ print $4 }'); [ -n "$r" ] && [ "$r" -gt "$resyncs" ]; }
  until resynced || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
  echo "figure: a full resync (dump of $want4 + $want6 routes read and applied): $(secs "$t0" "$(now)") s"
  probe_figure "during the full resync"
  wait_counts "$want4" "$want6" || bad "after the resync the fast path holds $(counts)"
  # Events after: a thousand more routes, then those deleted, reach the FIB.
  python3 -c "
for i in range(1000): print(f'route add 99.{i >> 8}.{i & 255}.0/24 via 10.0.0.9 dev tapF0')" >"$work/more.batch"
  t0=$(now)
  in_ns ip -batch "$work/more.batch"
  wait_counts $((want4 + 1000)) "$want6" || bad "1000 more routes did not arrive: $(counts)"
  sed 's/route add/route del/' "$work/more.batch" | in_ns ip -batch -
  wait_counts "$want4" "$want6" || bad "1000 deleted routes did not leave: $(counts)"
  echo "figure: 1000 routes added then deleted by events, mirrored in $(secs "$t0" "$(now)") s"
  stop
fi

if [ "$STATIC" = 1 ]; then
  echo "== static: the same routes as $((V4 + V6)) route lines of the configuration file"
  t0=$(now)
  start static
  if wait_counts $((V4 + 0)) $((V6 + 0)); then
    echo "figure: static file of $((V4 + V6)) route lines: start to FIB complete $(secs "$t0" "$(now)") s, RSS $(rss_mib) MiB"
    # The process's own account: the file read and parsed, then the routes put in the FIB.
    read_ms=$(grep -o 'read_ms=[0-9]*' "$work/fp.err" | head -1 | cut -d= -f2)
    fill_ms=$(grep -o 'fill_ms=[0-9]*' "$work/fp.err" | head -1 | cut -d= -f2)
    echo "figure: static file of $((V4 + V6)) route lines ($(du -m "$work/fp.conf" | cut -f1) MiB): read and parsed in ${read_ms:-?} ms, FIB filled in ${fill_ms:-?} ms"
    check_lookups || bad "static: lookups differ from the kernel's"
  else
    bad "static: the fast path holds $(counts 2>/dev/null || echo nothing)"
    tail -3 "$work/fp.err"
  fi
  stop
fi
[ $fail = 0 ] && echo "fib_load: all checks passed" || echo "fib_load: FAILED"
exit $fail
