# Certificates for the strongSwan interop tests, made with the openssl CLI (source it after
# ike_topology_up; they go to $pki). Each subject is "$DN/CN=NAME".
#   mkca NAME KEY-OPTIONS...         a CA (valid 2 days): $pki/NAME.pem and NAME.key
#   mkcert CA NAME KEY-OPTIONS...    an end entity of CA, NAME also its DNS subjectAltName,
#                                    keyUsage digitalSignature (CN=X mkcert ...: X in the
#                                    subject and subjectAltName instead, files still NAME)
#   make_swan_pki                    an RSA CA and an ECDSA (P-256) CA, each with a
#                                    gateway's (gw-rsa.test, gw-ec.test) and strongSwan's
#                                    (swan-rsa.test, swan-ec.test) certificate
#   swan_trusts CA... / swan_owns NAME...   strongSwan's CAs, and its certificates with their
#                                    keys, in swanctl's layout beside $sw/swanctl.conf
# KEY-OPTIONS are openssl req -newkey's: `rsa:2048`, or "${EC[@]}" for P-256.
DN="/C=CH/O=ipsec-gw test"
EC=(ec -pkeyopt ec_paramgen_curve:P-256)
pki=$work/pki
sw=$work/swanctl
mkdir -p "$pki" "$sw/x509" "$sw/x509ca" "$sw/private"
mkca() { # name, key options...
  local n=$1; shift
  openssl req -x509 -newkey "$@" -nodes -keyout "$pki/$n.key" -out "$pki/$n.pem" -days 2 \
    -subj "$DN/CN=$n" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mkcert() { # ca, name (files; CN and DNS name unless CN=... is set), key options...
  local ca=$1 n=$2 cn=${CN:-$2}; shift 2
  openssl req -newkey "$@" -nodes -keyout "$pki/$n.key" -subj "$DN/CN=$cn" -out "$pki/$n.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nkeyUsage=critical,digitalSignature\n' "$cn" >"$pki/$n.ext"
  openssl x509 -req -in "$pki/$n.csr" -CA "$pki/$ca.pem" -CAkey "$pki/$ca.key" -days 2 \
    -extfile "$pki/$n.ext" -out "$pki/$n.pem" 2>/dev/null
}
swan_trusts() { local ca; for ca in "$@"; do cp "$pki/$ca.pem" "$sw/x509ca/"; done; }
swan_owns() { local n; for n in "$@"; do cp "$pki/$n.pem" "$sw/x509/"; cp "$pki/$n.key" "$sw/private/"; done; }
make_swan_pki() {
  mkca rsa-ca rsa:2048
  mkca ec-ca "${EC[@]}"
  mkcert rsa-ca gw-rsa.test rsa:2048
  mkcert rsa-ca swan-rsa.test rsa:2048
  mkcert ec-ca gw-ec.test "${EC[@]}"
  mkcert ec-ca swan-ec.test "${EC[@]}"
  swan_trusts rsa-ca ec-ca
  swan_owns swan-rsa.test swan-ec.test
}
