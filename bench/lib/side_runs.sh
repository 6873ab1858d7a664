# Sourced by bench/side_by_side.sh and bench/ha_sync_cost.sh: two processes measured at the same
# moment, one per CPU, on the vs_secgw harness (its inputs in $DATA, its measurer $HELPER).
# The caller sets ROOT, calls side_defaults, sets TMP and PREFIX_BASE, then side_prepare.

# side_defaults: the knobs and paths the side-by-side scripts share (set ones are kept).
side_defaults() {
    WORK=${WORK:-/tmp/ipsec-secgw-anchor}
    DURATION=${DURATION:-8}
    WARMUP=${WARMUP:-3}
    REPEAT=${REPEAT:-4}
    MEM_MB=${MEM_MB:-1024}
    HUGE=${HUGE:-0}
    CIPHERS=${CIPHERS:-"aes-128-gcm aes-128-cbc-sha1"}
    DIRS=${DIRS:-"out in"}
    IMIX_ALIAS=9999
    PY=$(command -v python3)
    HELPER=$ROOT/bench/vs_secgw.py
    DATA=$WORK/data
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    RESDIR=$ROOT/bench/results
}

# eal_memory: the EAL's memory options of both sides: ordinary process memory (the default),
# or with HUGE=1 hugetlbfs pages, as a NIC-bound deployment runs (each side then takes MEM_MB
# of them up front and unlinks its files).
eal_memory() {
    if [ "$HUGE" = 1 ]; then echo "-m $MEM_MB --huge-unlink"; else echo "--no-huge -m $MEM_MB"; fi
}

# reserve_huge_pages: with HUGE=1, enough 2 MiB pages for two sides of MEM_MB MiB each, and
# a few spare (and hugetlbfs mounted), or an exit with what is missing. Pages it reserves and
# a mount it makes are undone by release_huge_pages (the caller's exit trap).
HUGE_PAGES_BEFORE=
HUGE_MOUNTED=
reserve_huge_pages() {
    [ "$HUGE" = 1 ] || return 0
    local want=$((MEM_MB + 64)) have
    have=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
    if [ "$have" -lt "$want" ]; then
        HUGE_PAGES_BEFORE=$have
        echo "$want" > /proc/sys/vm/nr_hugepages 2> /dev/null || true
        have=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
    fi
    [ "$have" -ge "$want" ] || { echo "HUGE=1 needs $want 2 MiB pages, the kernel gave $have" >&2; exit 2; }
    if ! grep -q ' hugetlbfs ' /proc/mounts; then
        mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages \
            || { echo "HUGE=1 needs hugetlbfs mounted" >&2; exit 2; }
        HUGE_MOUNTED=/dev/hugepages
    fi
}

# release_huge_pages: what reserve_huge_pages changed, back: its mount, and the page count it
# found (if it raised it).
release_huge_pages() {
    [ -z "$HUGE_MOUNTED" ] || umount "$HUGE_MOUNTED" 2> /dev/null || true
    [ -z "$HUGE_PAGES_BEFORE" ] || echo "$HUGE_PAGES_BEFORE" > /proc/sys/vm/nr_hugepages 2> /dev/null || true
}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# side_prepare: the inputs of the cells of $DIRS $CIPHERS $SIZES and our configs in $TMP, the
# fastpath binary built (unless SKIP_CARGO=1) and copied there as $FP, $RESDIR made.
side_prepare() {
    # shellcheck source=bench/lib/fastpath_configs.sh
    . "$ROOT/bench/lib/fastpath_configs.sh"
    copy_side_inputs "$DIRS" "$CIPHERS" "$SIZES"
    if [ "${SKIP_CARGO:-0}" != 1 ]; then
        (cd "$ROOT" && cargo build --release --quiet -p fastpath)
    fi
    cp "$ROOT/target/release/fastpath" "$TMP/"
    FP=$TMP/fastpath
    mkdir -p "$RESDIR"
    # shellcheck disable=SC2086
    write_fastpath_configs "$TMP" $CIPHERS
}

# copy_side_inputs "DIRS" "CIPHERS" "SIZES": the harness's inputs into $TMP (they must exist:
# bench/vs_secgw.sh leaves them), so that a later run of the anchor cannot change them mid-way.
copy_side_inputs() {
    local dir c s n f
    for dir in $1; do for c in $2; do
        [ -s "$DATA/${dir}_$c.cfg" ] || { echo "no $DATA/${dir}_$c.cfg: run bench/vs_secgw.sh once first" >&2; exit 2; }
        for s in $3; do
            n=$(name_of "$s")
            if [ "$dir" = out ]; then f=$DATA/plain_$n.pcap; else f=$DATA/esp_${c}_$n.pcap; fi
            [ -s "$f" ] || { echo "no $f: run bench/vs_secgw.sh once first" >&2; exit 2; }
            cp "$f" "$TMP/in_${dir}_${c}_$s.pcap"
        done
    done; done
}

# The seconds a fastpath run lasts: the measuring window, its warm-up, and a second of slack.
side_run_seconds() { echo $((WARMUP + DURATION + 1)); }

# fastpath_side REP DIR CIPHER SIZE CPU NAME BINARY [FASTPATH_OPTION...]: one fastpath run of a
# cell with both its lcores (the worker, and the main one, which sleeps) on CPU $5, measured by
# $HELPER from the other CPU; prints the measurer's JSON result. Options after the binary go
# to fastpath before its EAL arguments.
fastpath_side() {
    local rep=$1 dir=$2 cipher=$3 size=$4 cpu=$5 name=$6 bin=$7
    shift 7
    local prefix=${PREFIX_BASE}_${name}_$rep run
    run=$(side_run_seconds)
    # shellcheck disable=SC2086,SC2046
    timeout -s KILL $((run + 60)) "$PY" "$HELPER" ours --dir "$dir" --cipher "$cipher" --size "$size" \
        --in-pcap "$TMP/in_${dir}_${cipher}_$size.pcap" --rep "$rep" --warmup "$WARMUP" --duration "$DURATION" \
        --rxport 0 --txport 1 --lcore 1 --harness-cpu $((1 - cpu)) --log "$TMP/${name}_${rep}_${dir}_${cipher}_$size.log" -- \
        timeout -k 5 -s INT $((run + 30)) "$bin" --config "$TMP/${dir}_$cipher.conf" --json \
            --stats-ms 500 --duration "$run" "$@" -- \
            --lcores "0@$cpu,1@$cpu" --main-lcore 0 $(eal_memory) --file-prefix "$prefix" \
            --no-pci --log-level=warning \
            --vdev "net_pcap0,rx_pcap=$TMP/in_${dir}_${cipher}_$size.pcap,infinite_rx=1,tx_pcap=/dev/null" \
            --vdev net_null0 || true
    rm -rf "/var/run/dpdk/$prefix"
}

# rate < RESULT: its Mpps, or FAIL.
rate() { "$PY" -c 'import json,sys
try: r=json.loads(sys.stdin.read() or "{}")
except ValueError: r={}
print("%.3f" % (r.get("pps", 0) / 1e6) if r.get("ok") else "FAIL")'; }

# tag REP DIR CIPHER SIZE IMPL < RESULT: the result as one JSON line with its cell and side.
tag() { "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read() or "{}"); r.update(rep=int(sys.argv[1]), dir=sys.argv[2], cipher=sys.argv[3], size=sys.argv[4], impl=sys.argv[5]); print(json.dumps(r))' "$@"; }

# niced_session SCRIPT ARGS...: with AUTOGROUP_NICE set (not 0), runs SCRIPT again in a session
# of its own, whose scheduler autogroup gets that niceness, and returns in that run. Where the
# kernel groups each session (sched_autogroup_enabled), a process's own `nice` only weighs
# against its session, so other sessions' busy processes take CPU from the runs, and unequally:
# one side of a pair got 28 % of its CPU and the other 98 % while builds ran elsewhere.
niced_session() {
    [ "${AUTOGROUP_NICE:-0}" != 0 ] || return 0
    if [ -z "${IN_NICED_SESSION:-}" ]; then
        IN_NICED_SESSION=1 exec setsid -w bash "$@"
    fi
    echo "$AUTOGROUP_NICE" > /proc/self/autogroup ||
        echo "could not set the session's niceness: other processes may take unequal shares" >&2
}
