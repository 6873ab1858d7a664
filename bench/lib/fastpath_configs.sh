# Sourced by bench/vs_secgw.sh and bench/side_by_side.sh: the names of the harness's inputs,
# and our fastpath's configs for the cells of the ipsec-secgw harness (the anchor's SA: SPI 5, tunnel 192.0.2.1 -> 192.0.2.2,
# its keys, anti-replay off; port 1 marked tx-only, or net_null would be polled as a source).

# The name of a size in the anchor's files: IMIX goes by the number $IMIX_ALIAS.
name_of() { if [ "$1" = imix ]; then echo "$IMIX_ALIAS"; else echo "$1"; fi; }

# The SA transform of a cipher name, in our config's words.
sa_of() {
    case "$1" in
    aes-128-gcm) echo "aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe";;
    aes-128-cbc-sha1) echo "aes128-sha1 key 2b7e151628aed2a6abf7158809cf4f3c auth-key 0102030405060708090a0b0c0d0e0f1011121314";;
    *) echo "unknown cipher $1" >&2; exit 2;;
    esac
}

# write_fastpath_configs DIR CIPHERS...: DIR/out_<cipher>.conf and DIR/in_<cipher>.conf.
write_fastpath_configs() {
    local dir=$1 c; shift
    for c in "$@"; do
        cat > "$dir/out_$c.conf" <<EOC
port 0 protected   peer-mac 02:00:00:00:00:02
port 1 unprotected peer-mac 00:16:3e:22:a1:d9 tx-only
sa 1 out spi 5 $(sa_of "$c") tunnel 192.0.2.1 192.0.2.2
sp out protect 1 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24
EOC
        cat > "$dir/in_$c.conf" <<EOC
port 0 unprotected peer-mac 02:00:00:00:00:02
port 1 protected   peer-mac 00:16:3e:7e:94:9a tx-only
sa 1 in spi 5 $(sa_of "$c") tunnel 192.0.2.2 192.0.2.1 window 0
sp in protect 1 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24
EOC
    done
}
