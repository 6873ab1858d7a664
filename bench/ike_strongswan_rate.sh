#!/usr/bin/env bash
# IKE SAs set up per second between our slow path and strongSwan 5.9.8 (charon,
# kernel-libipsec), over real UDP between two network namespaces, without a fast path (a
# slow path without a `fastpath` line only logs the CHILD SAs it would install):
#
#   namespace A: slowpath, 192.0.2.1 --veth-- namespace S: charon, 192.0.2.2
#
# For each group (AES-GCM-16-128, PRF-HMAC-SHA256, PSK, one CHILD SA 10.1/16 <-> 10.2/16 per
# IKE SA, UDP-encapsulated as kernel-libipsec wants) and each direction:
#   ours->swan  our slow path initiates one conn again and again through its control socket
#               (slowpath-ctl's protocol), WINDOW IKE SAs in flight; each one is terminated as
#               soon as it is up;
#   swan->ours  charon initiates again and again through vici (swanctl's protocol: `initiate`
#               without waiting, then `terminate` of each IKE SA once up), WINDOW in flight,
#               against our responder. strongSwan's load-tester plugin, the usual tool for
#               this, is not built in Debian's packages (no libstrongswan-load-tester.so in
#               /usr/lib/ipsec/plugins): a driver loop it is.
# The driver (python3, below) counts the IKE SAs established within DURATION seconds, after WARMUP
# seconds, as each side reports them (our ike_up events; charon's ike-updown events), and the
# CPU time each daemon used in that window.
#
#   [DURATION=10] [WARMUP=2] [REPEAT=3] [WINDOW=8] [IKE_GROUPS="modp2048 curve25519"] \
#     [BIN=target/release] [CHARON_LOG=0] [KEEP=0] bash bench/ike_strongswan_rate.sh
#
# IKE_GROUPS may also name modp1024 (AES-CBC-128/HMAC-SHA1, for reference). WINDOW stays below our
# responder's limit of 10 half-open SAs per peer address; charon's DoS protection (cookies
# from 10 half-open SAs on, drops above 5 per peer) is off for the bench. The two daemons and
# the driver share the machine's cores: the rate is the pair's. Traffic stays in the two
# namespaces; every wait is bounded; everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
# (Not SECONDS nor GROUPS: bash keeps those for itself.)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
REPEAT=${REPEAT:-3}
WINDOW=${WINDOW:-8}
IKE_GROUPS=${IKE_GROUPS:-modp2048 curve25519}
BIN=${BIN:-target/release}
if [ "$BIN" = target/release ]; then cargo build --release --quiet -p slowpath; fi
[ -x "$BIN/slowpath" ] || { echo "no $BIN/slowpath"; exit 1; }
[ -x /usr/lib/ipsec/charon ] || { echo "strongSwan's charon is not installed (ci/setup.sh)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed"; exit 1; }

t=ikr$$
work=$(mktemp -d /tmp/ike-rate.XXXXXX)
sp="" charon=""

stop_daemons() {
  [ -n "$sp" ] && kill -INT "$sp" 2>/dev/null || true
  [ -n "$charon" ] && kill -TERM "$charon" 2>/dev/null || true
  local end=$((SECONDS + 10))
  while { [ -n "$sp" ] && kill -0 "$sp" 2>/dev/null; } || { [ -n "$charon" ] && kill -0 "$charon" 2>/dev/null; }; do
    [ $SECONDS -lt $end ] || break
    sleep 0.1
  done
  [ -n "$sp" ] && kill -9 "$sp" 2>/dev/null || true
  [ -n "$charon" ] && kill -9 "$charon" 2>/dev/null || true
  sp="" charon=""
}

cleanup() {
  stop_daemons
  for n in A S; do
    ip netns pids "$t$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$t$n" 2>/dev/null || true
  done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # seconds, command...
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  "$@"
}

for n in A S; do ip netns add "$t$n"; done
ip link add a0 netns "${t}A" type veth peer name s0 netns "${t}S"
for pair in A:a0 S:s0; do
  ns=$t${pair%%:*}; dev=${pair#*:}
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
  ip -n "$ns" link set "$dev" up
  ip -n "$ns" link set lo up
done
ip -n "${t}A" addr add 192.0.2.1/24 dev a0
ip -n "${t}S" addr add 192.0.2.2/24 dev s0
# kernel-libipsec routes the remote selector through its TUN from an address of the local one.
ip -n "${t}S" addr add 10.2.0.1/32 dev lo

PSK=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

cat > "$work/strongswan.conf" <<CONF
charon {
  load = kdf random nonce aes sha1 sha2 hmac gmp gcm openssl kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  dos_protection = no
  # Each initiate a new IKE SA, not a CHILD SA in one already there.
  reuse_ikesa = no
  ikesa_table_size = 1024
  plugins { vici { socket = unix://$work/charon.vici } }
  filelog { f { path = $work/charon.log
    default = ${CHARON_LOG:-0} } }
}
CONF

# ike proposal, esp proposal of each group.
proposals() {
  case $1 in
    modp2048) echo "aes128gcm16-prfsha256-modp2048 aes128gcm16" ;;
    curve25519) echo "aes128gcm16-prfsha256-curve25519 aes128gcm16" ;;
    modp1024) echo "aes128-sha1-modp1024 aes128-sha1" ;;
    *) echo "unknown group $1 (modp2048, curve25519, modp1024)" >&2; return 1 ;;
  esac
}

start_daemons() { # group
  local ike esp
  read -r ike esp < <(proposals "$1")
  cat > "$work/swanctl.conf" <<CONF
connections {
  c {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = $ike
    encap = yes
    dpd_delay = 0
    rekey_time = 0
    local { auth = psk
      id = 192.0.2.2 }
    remote { auth = psk
      id = 192.0.2.1 }
    children { net { local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        esp_proposals = $esp
        rekey_time = 0 } }
  }
}
secrets { ike-gw { id-1 = 192.0.2.1
    id-2 = 192.0.2.2
    secret = $PSK } }
CONF
  cat > "$work/sp.conf" <<CONF
control $work/sp.sock
secret gw psk $PSK
conn c local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike $ike encap rekey 0 add
child net conn c local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp $esp rekey 0 life 0
CONF
  rm -f "$work/sp.sock" "$work/charon.vici"
  ip netns exec "${t}A" "$BIN/slowpath" --config "$work/sp.conf" >>"$work/sp.log" 2>&1 &
  sp=$!
  ip netns exec "${t}S" unshare -m sh -c "mount -t tmpfs tmpfs /run; STRONGSWAN_CONF=$work/strongswan.conf exec /usr/lib/ipsec/charon" >>"$work/charon.out" 2>&1 &
  charon=$!
  wait_for 10 test -S "$work/sp.sock" || { echo "slowpath did not start"; tail -5 "$work/sp.log"; return 1; }
  wait_for 15 test -S "$work/charon.vici" || { echo "charon did not start"; tail -5 "$work/charon.out"; return 1; }
  wait_for 10 ip netns exec "${t}S" swanctl --load-all --file "$work/swanctl.conf" --uri "unix://$work/charon.vici" >/dev/null 2>&1 \
    || { echo "swanctl --load-all failed"; return 1; }
}

cat > "$work/driver.py" <<'PY'
"""Keeps WINDOW IKE SAs in flight between our slow path (its control socket) and charon (vici),
counts the ones each side saw established inside the timed window, and prints one JSON line."""
import json, os, select, socket, struct, sys, time

mode, sp_sock, vici_sock, sp_pid, charon_pid = sys.argv[1:6]
warmup, secs, window = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
STUCK = 10.0  # an SA not up after this long is given up on (counted as lost)

def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

class Ctl:
    """The slow path's control socket: JSON lines, schema v2."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(5)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.n = 0
    def request(self, op, **kw):
        self.n += 1
        self.s.sendall((json.dumps(dict(v=2, id=self.n, op=op, **kw)) + "\n").encode())
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("slowpath closed its control socket")
            r = json.loads(line)
            if r.get("id") == self.n:
                return r

class Events:
    """A subscription to the slow path's events, read without blocking."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(5)
        self.s.connect(path)
        self.s.sendall(b'{"v":2,"id":1,"op":"subscribe"}\n')
        self.buf = b""
        self.s.setblocking(False)
    def read(self):
        out = []
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    raise RuntimeError("slowpath closed its event stream")
                self.buf += d
        except BlockingIOError:
            pass
        *lines, self.buf = self.buf.split(b"\n")
        for l in lines:
            if l.strip():
                m = json.loads(l)
                if "event" in m:
                    out.append(m["event"])
        return out

# vici (strongSwan's src/libcharon/plugins/vici/README.md): 32-bit length, packet type,
# then for requests and events an 8-bit-length name, then the message's elements.
CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN, EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = range(8)
SEC_START, SEC_END, KV, LIST_START, LIST_ITEM, LIST_END = range(1, 7)

def encode(d):
    out = b""
    for k, v in d.items():
        kb = k.encode()
        if isinstance(v, dict):
            out += bytes([SEC_START, len(kb)]) + kb + encode(v) + bytes([SEC_END])
        else:
            vb = str(v).encode()
            out += bytes([KV, len(kb)]) + kb + struct.pack(">H", len(vb)) + vb
    return out

def decode(b):
    stack, i, lst = [{}], 0, None
    while i < len(b):
        t = b[i]; i += 1
        if t in (SEC_START, KV, LIST_START):
            n = b[i]; name = b[i + 1:i + 1 + n].decode(); i += 1 + n
        if t == SEC_START:
            d = {}; stack[-1][name] = d; stack.append(d)
        elif t == SEC_END:
            stack.pop()
        elif t == KV:
            (m,) = struct.unpack(">H", b[i:i + 2]); stack[-1][name] = b[i + 2:i + 2 + m].decode("utf-8", "replace"); i += 2 + m
        elif t == LIST_START:
            lst = []; stack[-1][name] = lst
        elif t == LIST_ITEM:
            (m,) = struct.unpack(">H", b[i:i + 2]); lst.append(b[i + 2:i + 2 + m].decode("utf-8", "replace")); i += 2 + m
    return stack[0]

class Vici:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(5)
        self.s.connect(path)
        self.buf = b""
    def send(self, ptype, name=None, body=b""):
        p = bytes([ptype])
        if name is not None:
            p += bytes([len(name)]) + name.encode()
        self.s.sendall(struct.pack(">I", len(p + body)) + p + body)
    def packets(self, block):
        """Complete packets as (type, name, message); waits for one if `block`."""
        out = []
        while True:
            while len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) < 4 + n:
                    break
                p, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                t, name, body = p[0], None, p[1:]
                if t in (EVENT, CMD_REQUEST, EVENT_REGISTER):
                    name, body = body[1:1 + body[0]].decode(), body[1 + body[0]:]
                out.append((t, name, decode(body)))
            if out or not block:
                return out
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError("charon closed vici")
            self.buf += d
    def request(self, cmd, **kw):
        self.send(CMD_REQUEST, cmd, encode(kw))
        while True:
            for t, _, msg in self.packets(True):
                if t == CMD_RESPONSE:
                    return msg
                if t == CMD_UNKNOWN:
                    raise RuntimeError(f"vici: unknown command {cmd}")
    def register(self, event):
        self.send(EVENT_REGISTER, event)
        for t, _, _ in self.packets(True):
            if t != EVENT_CONFIRM:
                raise RuntimeError(f"vici: cannot register {event}")
    def events(self):
        self.s.setblocking(False)
        try:
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError("charon closed vici")
            self.buf += d
        except BlockingIOError:
            pass
        finally:
            self.s.setblocking(True)
        return [(n, m) for t, n, m in self.packets(False) if t == EVENT]

def ike_uid(msg):
    for v in msg.values():
        if isinstance(v, dict) and "uniqueid" in v:
            return v["uniqueid"]
    return None

ctl, ours = Ctl(sp_sock), Events(sp_sock)
vcmd, vev = Vici(vici_sock), Vici(vici_sock)
vev.register("ike-updown")
vev.register("child-updown")
ctl.request("ike_counters")  # the subscription's reply comes first on `ours`

t0 = time.monotonic()
start, end = t0 + warmup, t0 + warmup + secs
inflight = {}  # ours: our IKE SA id -> when initiated; swan: a FIFO of initiation times
pending = []
counts = dict(ours_up=0, ours_child_up=0, swan_up=0, swan_child_up=0, lost=0,
              ours_deleted_by_peer=0, initiated=0, terminated=0, init_errors=0)
cpu0 = None

def in_window(now):
    return start <= now < end

while True:
    now = time.monotonic()
    if cpu0 is None and now >= start:
        cpu0 = (cpu_s(sp_pid), cpu_s(charon_pid))
    if now >= end:
        break
    # Keep the window full.
    if mode == "ours":
        while len(inflight) < window:
            r = ctl.request("initiate", conn="c")
            if not r.get("ok"):
                counts["init_errors"] += 1
                break
            inflight[r["result"]["ike_sa"]] = time.monotonic()
            counts["initiated"] += 1
    else:
        while len(pending) < window:
            r = vcmd.request("initiate", child="net", ike="c", timeout=-1, **{"init-limits": "no"})
            if r.get("success") != "yes":
                counts["init_errors"] += 1
                break
            pending.append(time.monotonic())
            counts["initiated"] += 1
    select.select([ours.s, vev.s], [], [], 0.05)
    now = time.monotonic()
    for e in ours.read():
        kind = e.get("event")
        if kind == "ike_up":
            if in_window(now):
                counts["ours_up"] += 1
            if mode == "ours" and inflight.pop(e.get("ike_sa"), None) is not None:
                ctl.request("terminate", ike_sa=e["ike_sa"])
                counts["terminated"] += 1
        elif kind == "child_up" and in_window(now):
            counts["ours_child_up"] += 1
        elif kind == "ike_down":
            if e.get("reason") == "DeletedByPeer" and mode == "ours":
                counts["ours_deleted_by_peer"] += 1
            if mode == "ours" and inflight.pop(e.get("ike_sa"), None) is not None:
                counts["lost"] += 1
    for name, msg in vev.events():
        if msg.get("up") != "yes":
            continue
        if name == "ike-updown":
            if in_window(now):
                counts["swan_up"] += 1
            if mode == "swan" and pending:
                pending.pop(0)
                uid = ike_uid(msg)
                if uid:
                    vcmd.request("terminate", **{"ike-id": uid, "timeout": -1})
                    counts["terminated"] += 1
        elif name == "child-updown" and in_window(now):
            counts["swan_child_up"] += 1
    # Give up on SAs that never came up.
    if mode == "ours":
        for k in [k for k, t in inflight.items() if now - t > STUCK]:
            del inflight[k]
            counts["lost"] += 1
    else:
        while pending and now - pending[0] > STUCK:
            pending.pop(0)
            counts["lost"] += 1

cpu1 = (cpu_s(sp_pid), cpu_s(charon_pid))
ours_counters = ctl.request("ike_counters").get("result", {})
ctl.request("flush")
out = dict(mode=mode, seconds=secs, window=window, **counts)
# IKE SAs our side still held at the end: the last ones in flight, and terminated ones whose
# delete is not answered (a peer that dropped them without a delete).
out["ours_sas_left"] = ours_counters.get("ike_sas")
up = counts["ours_up"] if mode == "ours" else counts["swan_up"]
out["rate"] = up / secs
out["slowpath_cpu_ms_per_sa"] = 1000 * (cpu1[0] - cpu0[0]) / max(up, 1)
out["charon_cpu_ms_per_sa"] = 1000 * (cpu1[1] - cpu0[1]) / max(up, 1)
out["cpu_share"] = ((cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1])) / secs
print(json.dumps(out))
PY

results=$work/results.jsonl
: > "$results"
for group in $IKE_GROUPS; do
  proposals "$group" >/dev/null
  for rep in $(seq "$REPEAT"); do
    for mode in ours swan; do
      start_daemons "$group"
      # The driver is bounded by its window; `timeout` bounds it even if a daemon hangs.
      line=$(timeout $((WARMUP + DURATION + 30)) python3 "$work/driver.py" "$mode" "$work/sp.sock" \
        "$work/charon.vici" "$sp" "$charon" "$WARMUP" "$DURATION" "$WINDOW") || line=""
      stop_daemons
      if [ -z "$line" ]; then
        echo "run $rep $group $mode: the driver failed"; tail -3 "$work/sp.log" "$work/charon.out"
        continue
      fi
      echo "{\"group\": \"$group\", \"rep\": $rep, ${line#\{}" >> "$results"
      python3 - "$line" "$group" "$rep" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
d = "ours->swan" if r["mode"] == "ours" else "swan->ours"
print(f"run {sys.argv[3]} {sys.argv[2]:<10} {d}: {r['rate']:7.1f} IKE SAs/s (ours {r['ours_up']}, strongSwan "
      f"{r['swan_up']} up in {r['seconds']:.0f} s; CHILD SAs {r['ours_child_up']}/{r['swan_child_up']}; lost {r['lost']}); "
      f"CPU ms/SA: slowpath {r['slowpath_cpu_ms_per_sa']:.2f}, charon {r['charon_cpu_ms_per_sa']:.2f}; "
      f"deleted by peer {r['ours_deleted_by_peer']}; our IKE SAs left at the end: {r['ours_sas_left']}")
PY
    done
  done
done

echo
python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    rows.setdefault((r["group"], r["mode"]), []).append(r)
print(f"{'group':<11} {'direction':<11} {'runs':>4} {'IKE SAs/s median (min-max)':>28} "
      f"{'slowpath CPU ms/SA':>19} {'charon CPU ms/SA':>17} {'lost':>5} {'ours left':>9}")
for (g, m), v in rows.items():
    rates = [r["rate"] for r in v]
    d = "ours->swan" if m == "ours" else "swan->ours"
    print(f"{g:<11} {d:<11} {len(v):>4} {statistics.median(rates):>14.1f} ({min(rates):.1f}-{max(rates):.1f})"
          f"{statistics.median(r['slowpath_cpu_ms_per_sa'] for r in v):>19.2f}"
          f"{statistics.median(r['charon_cpu_ms_per_sa'] for r in v):>18.2f}"
          f"{sum(r['lost'] for r in v):>6}"
          f"{statistics.median(r['ours_sas_left'] or 0 for r in v):>10.0f}")
PY
