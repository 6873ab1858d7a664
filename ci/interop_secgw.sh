#!/usr/bin/env bash
# Interop with DPDK's ipsec-secgw as the ESP peer, both directions, through pcap files:
#   (a) our fastpath encrypts the plaintext, ipsec-secgw decrypts our ESP;
#   (b) ipsec-secgw encrypts the plaintext, our fastpath decrypts its ESP;
# and the decrypted frames must equal the plaintext (ci/pcap_compare.py: addresses, ports,
# lengths, payload, valid IPv4 checksum). For AES-128-GCM and AES-128-CBC+HMAC-SHA1-96, on
# 64 B, 1400 B and IMIX frames (our trafgen's, its 1518 B frames cut to 1400 B: ipsec-secgw
# runs with MTU 1500 and does not fragment). One SA, SPI 5, tunnel 192.0.2.1 -> 192.0.2.2,
# the keys of the ipsec-secgw anchor (../shared/anchors/ipsec-secgw).
#
#   bash ci/interop_secgw.sh                 # prints "N passed, M failed"; exit 1 if M > 0
#
# Prerequisite: the anchor's ipsec-secgw build in $WORK. If it is missing, this runs the
# anchor's own bench.sh once with the smallest settings (one 1 s cell), which builds it.
# Knobs: WORK=/tmp/ipsec-secgw-anchor ANCHOR=<repo>/../shared/anchors/ipsec-secgw
#        SIZES="64 1400 imix" CIPHERS="aes-128-gcm aes-128-cbc-sha1" NPKTS=512 SKIP_CARGO=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ANCHOR=${ANCHOR:-$(cd "$ROOT/.." && pwd)/shared/anchors/ipsec-secgw}
WORK=${WORK:-/tmp/ipsec-secgw-anchor}
SIZES=${SIZES:-"64 1400 imix"}
CIPHERS=${CIPHERS:-"aes-128-gcm aes-128-cbc-sha1"}
NPKTS=${NPKTS:-512}
BIN=$WORK/src/ipsec-secgw/build/ipsec-secgw
PY=$(command -v python3)
TMP=$(mktemp -d /tmp/interop_secgw.XXXXXX)
PREFIX_BASE=interop$$
N=0
passed=0 failed=0

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() { rm -rf "$TMP" /var/run/dpdk/${PREFIX_BASE}_* 2>/dev/null || true; }
trap cleanup EXIT

# ------------------------------------------------------------------ prerequisites
if [ ! -x "$BIN" ]; then
    [ -x "$ANCHOR/bench.sh" ] || { echo "no ipsec-secgw build and no anchor at $ANCHOR" >&2; exit 2; }
    log "no $BIN: building it with the anchor's bench.sh (one 1 s cell)"
    WORK=$WORK SIZES=64 CIPHERS=aes-128-gcm DIRS=out REPEAT=1 DURATION=1 WARMUP=0 SKIP_VERIFY=1 \
        timeout -s KILL 900 bash "$ANCHOR/bench.sh" > "$TMP/anchor.log" 2>&1 ||
        { tail -20 "$TMP/anchor.log" >&2; echo "anchor build failed" >&2; exit 2; }
    [ -x "$BIN" ] || { echo "anchor ran, but $BIN is missing" >&2; exit 2; }
fi
[ -x "$ANCHOR/measure.py" ] || { echo "no $ANCHOR/measure.py" >&2; exit 2; }
if [ "${SKIP_CARGO:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet -p fastpath -p bench)
fi
cp "$ROOT/target/release/fastpath" "$ROOT/target/release/trafgen" "$TMP/"

# ------------------------------------------------------------------ inputs and configs
for s in $SIZES; do
    if [ "$s" = imix ]; then
        "$TMP/trafgen" --out "$TMP/imix_raw.pcap" --size imix --count "$NPKTS" >/dev/null
        "$PY" "$ROOT/bench/vs_secgw.py" capframes "$TMP/imix_raw.pcap" "$TMP/plain_$s.pcap" 1400
    else
        "$TMP/trafgen" --out "$TMP/plain_$s.pcap" --size "$s" --count "$NPKTS" >/dev/null
    fi
done

secgw_sa() {
    case "$1" in
    aes-128-gcm) echo "aead_algo aes-128-gcm aead_key 2b:7e:15:16:28:ae:d2:a6:ab:f7:15:88:09:cf:4f:3c:ca:fe:ba:be";;
    aes-128-cbc-sha1) echo "cipher_algo aes-128-cbc cipher_key 2b:7e:15:16:28:ae:d2:a6:ab:f7:15:88:09:cf:4f:3c auth_algo sha1-hmac auth_key 01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14";;
    esac
}
our_sa() {
    case "$1" in
    aes-128-gcm) echo "aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe";;
    aes-128-cbc-sha1) echo "aes128-sha1 key 2b7e151628aed2a6abf7158809cf4f3c auth-key 0102030405060708090a0b0c0d0e0f1011121314";;
    esac
}
for c in $CIPHERS; do
    [ -n "$(our_sa "$c")" ] || { echo "unknown cipher $c" >&2; exit 2; }
    cat > "$TMP/secgw_out_$c.cfg" <<EOF
sp ipv4 out esp protect 5 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24 sport 0:65535 dport 0:65535
sa out 5 $(secgw_sa "$c") mode ipv4-tunnel src 192.0.2.1 dst 192.0.2.2
rt ipv4 dst 192.0.2.2/32 port 1
EOF
    cat > "$TMP/secgw_in_$c.cfg" <<EOF
sp ipv4 in esp protect 5 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24 sport 0:65535 dport 0:65535
sa in 5 $(secgw_sa "$c") mode ipv4-tunnel src 192.0.2.1 dst 192.0.2.2
rt ipv4 dst 203.0.113.0/24 port 0
EOF
    # ours: port 0 reads the input pcap, port 1 only writes the output pcap
    cat > "$TMP/ours_out_$c.conf" <<EOF
port 0 protected   peer-mac 02:00:00:00:00:02
port 1 unprotected peer-mac 00:16:3e:22:a1:d9 tx-only
sa 1 out spi 5 $(our_sa "$c") tunnel 192.0.2.1 192.0.2.2
sp out protect 1 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24
EOF
    cat > "$TMP/ours_in_$c.conf" <<EOF
port 0 unprotected peer-mac 02:00:00:00:00:02
port 1 protected   peer-mac 00:16:3e:7e:94:9a tx-only
sa 1 in spi 5 $(our_sa "$c") tunnel 192.0.2.2 192.0.2.1 window 1024
sp in protect 1 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24
EOF
done

# ------------------------------------------------------------------ the two gateways
# fastpath CONF IN OUT LOG: run to completion (input drained, then 500 ms idle)
fastpath() {
    N=$((N + 1))
    local prefix=${PREFIX_BASE}_$N rc=0
    timeout -k 5 -s INT 60 "$TMP/fastpath" --config "$1" --until-idle-ms 500 --stats-ms 0 -- \
        -l 0,1 --main-lcore 0 --no-huge -m 512 --file-prefix "$prefix" --no-pci \
        --log-level=warning \
        --vdev "net_pcap0,rx_pcap=$2,tx_pcap=/dev/null" --vdev "net_pcap1,tx_pcap=$3" \
        > "$4" 2>&1 || rc=$?
    rm -rf "/var/run/dpdk/$prefix"
    return $rc
}

# secgw out|in CIPHER IN OUT LOG: one lcore (lcore 1 runs the loop); the anchor's measure.py
# starts it, waits (bounded) until the TX port has sent NPKTS frames, checks that the app
# dropped nothing, and stops it by PID.
secgw() {
    local dir=$1 c=$2 in=$3 out=$4 logf=$5 src sink rxp txp umask=() rc=0
    N=$((N + 1))
    local prefix=${PREFIX_BASE}_$N
    src="net_pcap0,rx_pcap=$in" sink="net_pcap1,tx_pcap=$out"
    if [ "$dir" = out ]; then v0=$src v1=$sink rxp=0 txp=1
    else v0=$sink v1=$src rxp=1 txp=0 umask=(-u 0x2); fi
    timeout -s KILL 90 "$PY" "$ANCHOR/measure.py" --prefix "$prefix" --rxport $rxp \
        --txport $txp --lcore 1 --dir "$dir" --log "$logf" --capture "$NPKTS" -- \
        timeout -k 5 -s INT 60 "$BIN" -l 1 --no-huge -m 1024 --file-prefix "$prefix" --no-pci \
            --vdev "$v0" --vdev "$v1" --vdev crypto_aesni_mb0 \
            -- -p 0x3 -P "${umask[@]}" --config "($rxp,0,1)" -f "$TMP/secgw_${dir}_$c.cfg" \
        > "$logf.json" 2>&1 || rc=$?
    rm -rf "/var/run/dpdk/$prefix"
    return $rc
}

result() { # NAME OK(0|1) DETAIL
    if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS $1: $3"
    else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}

# ------------------------------------------------------------------ the cases
start=$(date +%s)
for c in $CIPHERS; do
    for s in $SIZES; do
        plain=$TMP/plain_$s.pcap
        # (a) fastpath encrypts, ipsec-secgw decrypts
        name="fastpath->secgw $c $s"
        esp=$TMP/a_esp_${c}_$s.pcap dec=$TMP/a_dec_${c}_$s.pcap lg=$TMP/a_${c}_$s
        if ! fastpath "$TMP/ours_out_$c.conf" "$plain" "$esp" "$lg.fastpath.log"; then
            result "$name" 1 "fastpath failed: $(tail -2 "$lg.fastpath.log" | tr '\n' ' ')"
        elif ! secgw in "$c" "$esp" "$dec" "$lg.secgw.log"; then
            result "$name" 1 "ipsec-secgw did not decrypt all $NPKTS: $(tail -1 "$lg.secgw.log.json")"
        else
            out=$("$PY" "$ROOT/ci/pcap_compare.py" "$plain" "$dec") && ok=0 || ok=1
            result "$name" "$ok" "$out"
        fi
        # (b) ipsec-secgw encrypts, fastpath decrypts
        name="secgw->fastpath $c $s"
        esp=$TMP/b_esp_${c}_$s.pcap dec=$TMP/b_dec_${c}_$s.pcap lg=$TMP/b_${c}_$s
        if ! secgw out "$c" "$plain" "$esp" "$lg.secgw.log"; then
            result "$name" 1 "ipsec-secgw did not encrypt all $NPKTS: $(tail -1 "$lg.secgw.log.json")"
        elif ! fastpath "$TMP/ours_in_$c.conf" "$esp" "$dec" "$lg.fastpath.log"; then
            result "$name" 1 "fastpath failed: $(tail -2 "$lg.fastpath.log" | tr '\n' ' ')"
        else
            out=$("$PY" "$ROOT/ci/pcap_compare.py" "$plain" "$dec") && ok=0 || ok=1
            [ "$ok" = 0 ] || out="$out; fastpath: $(grep -E '^(total|drops)' "$lg.fastpath.log" | tr '\n' ' ')"
            result "$name" "$ok" "$out"
        fi
    done
done
echo "interop with ipsec-secgw: $passed passed, $failed failed ($(($(date +%s) - start)) s)"
[ "$failed" = 0 ]
