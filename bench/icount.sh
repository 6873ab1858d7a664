#!/usr/bin/env bash
# Instructions per packet of one cell of the `esp` bench, counted by callgrind: deterministic,
# so that a change of a few per cent in our own code shows on a host whose timings wander by
# more than that (bench/side_by_side.sh's header). Two runs of N1 and N2 packets; their
# difference cancels the set-up. Split by object: our code, intel-ipsec-mb, libc. Under
# valgrind intel-ipsec-mb takes its AVX2 code path (valgrind has no AVX-512), so its count is
# not the one of the real run; ours is. Needs valgrind (not in ci/setup.sh: a developer's tool).
#
#   bash bench/icount.sh [ESP_BENCH_BINARY] CELL...
#     e.g. bash bench/icount.sh AES-128-CBC+HMAC-SHA1/64/1/encrypt AES-128-GCM/64/1/decrypt
#   (cells as `esp --only`; the binary defaults to target/release/esp)
set -euo pipefail
BIN=target/release/esp
if [ $# -gt 0 ] && [ -x "$1" ]; then BIN=$1; shift; fi
[ $# -gt 0 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
N1=${N1:-10240} N2=${N2:-30720}
TMP=$(mktemp -d /tmp/icount.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
for cell in "$@"; do
  for n in "$N1" "$N2"; do
    valgrind --tool=callgrind --callgrind-out-file="$TMP/$n.out" \
      "$BIN" --sas 1 --reps 1 --packets "$n" --only "$cell" > "$TMP/$n.log" 2>&1 ||
      { cat "$TMP/$n.log" >&2; exit 1; }
  done
  python3 - "$cell" "$TMP/$N1.out" "$TMP/$N2.out" "$N1" "$N2" <<'PY'
import collections, re, subprocess, sys
cell, a, b, n1, n2 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def by_object(path):
    out = subprocess.run(["callgrind_annotate", "--auto=no", "--inclusive=no", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    c = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m or "PROGRAM TOTALS" in line or m.group(2).startswith(("=>", "<", "*")):
            continue
        s = m.group(2)
        obj = "ipsec-mb" if "IPSec_MB" in s else "libc" if "libc.so" in s or "ld-linux" in s else "ours"
        c[obj] += int(m.group(1).replace(",", ""))
    return c
x, y = by_object(a), by_object(b)
# --packets rounds up to whole checks of 256 packets
pk = (-(-n2 // 256) - -(-n1 // 256)) * 256
per = {k: (y[k] - x[k]) / pk for k in ("ours", "ipsec-mb", "libc")}
print(f"{cell}: instructions per packet: ours {per['ours']:.0f}, ipsec-mb {per['ipsec-mb']:.0f}, libc {per['libc']:.0f}")
PY
done
