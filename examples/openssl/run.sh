#!/usr/bin/env bash
# OpenSSL 3 with the pkcs11 engine (libengine-pkcs11-openssl) on libp11kms.so: keys made on
# the KMS with pkcs11-tool, a CSR, raw signatures checked by plain OpenSSL (no engine), and
# TLS servers whose RSA and ECDSA private keys never leave the KMS. Exits non-zero on any
# failure. See README.md for the same steps by hand.
source "$(dirname "$0")/../lib/common.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

LABEL=openssl-example
export P11KMS_LOG=debug   # the module log then records each call (never keys or data)
start_kms "$LABEL"
cd "$WORK"

say "The engine configuration: $HERE/openssl-pkcs11.cnf with the module path filled in"
ENGINESDIR="$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')"
ENGINE="$ENGINESDIR/pkcs11.so"
[ -f "$ENGINE" ] || fail "no pkcs11 engine at $ENGINE: apt-get install libengine-pkcs11-openssl"
sed -e "s|@P11KMS_MODULE@|$MODULE|" -e "s|^dynamic_path = .*|dynamic_path = $ENGINE|" \
  "$HERE/openssl-pkcs11.cnf" >"$WORK/openssl-pkcs11.cnf"
grep -E '^(engine_id|dynamic_path|MODULE_PATH)' "$WORK/openssl-pkcs11.cnf"
# With the engine: OPENSSL_CONF is that file. Without: an empty file, so plain openssl cannot
# load any engine, whatever the system's openssl.cnf says.
: >"$WORK/empty.cnf"
engine() { OPENSSL_CONF="$WORK/openssl-pkcs11.cnf" openssl "$@"; }
plain() { OPENSSL_CONF="$WORK/empty.cnf" openssl "$@"; }
engine engine -t pkcs11 | sed -n '1,2p'

say "pkcs11-tool makes an RSA-2048 and an EC P-256 key pair on the KMS"
pkcs11 --keypairgen --key-type rsa:2048 --label web-rsa --id 01 >/dev/null
pkcs11 --keypairgen --key-type EC:prime256v1 --label web-ec --id 02 >/dev/null
pkcs11 --list-objects --type privkey
RSA_KEY="pkcs11:token=$LABEL;object=web-rsa;type=private"
EC_KEY="pkcs11:token=$LABEL;object=web-ec;type=private"

say "The public keys, read from the token's public key objects with pkcs11-tool"
for k in rsa ec; do
  pkcs11 --read-object --type pubkey --label "web-$k" -o "$k.pub.der" >/dev/null
  plain pkey -pubin -inform DER -in "$k.pub.der" -out "$k.pub.pem"
  echo "$k.pub.pem: $(plain pkey -pubin -in "$k.pub.pem" -noout -text | sed -n 1p)"
done

say "A CSR signed by each KMS key (openssl req -new -engine pkcs11), checked by openssl req -verify"
for k in rsa ec; do
  key="pkcs11:token=$LABEL;object=web-$k;type=private"
  engine req -new -engine pkcs11 -keyform engine -key "$key" -sha256 \
    -subj "/O=Example/CN=www.example.test" -out "$k.csr"
  verified="$(plain req -in "$k.csr" -verify -noout 2>&1)" || fail "$k.csr does not verify: $verified"
  [[ "$verified" == *"verify OK"* ]] || fail "$k.csr does not verify: $verified"
  [ "$(plain req -in "$k.csr" -noout -pubkey)" = "$(cat "$k.pub.pem")" ] || fail "$k.csr does not carry the token's public key"
  echo "$k.csr: verify OK, $(plain req -in "$k.csr" -noout -subject), public key = the token's"
done

say "openssl pkeyutl -sign with the engine; plain openssl (no engine) verifies with the public key"
echo "signed by a key that stays in the KMS" >data.txt
plain dgst -sha256 -binary -out data.sha256 data.txt
echo "tampered" >other.txt
plain dgst -sha256 -binary -out other.sha256 other.txt
engine pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$RSA_KEY" -pkeyopt digest:sha256 -in data.sha256 -out rsa.sig
engine pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$EC_KEY" -in data.sha256 -out ec.sig
plain pkeyutl -verify -pubin -inkey rsa.pub.pem -pkeyopt digest:sha256 -in data.sha256 -sigfile rsa.sig
plain pkeyutl -verify -pubin -inkey ec.pub.pem -in data.sha256 -sigfile ec.sig
echo "RSA PKCS#1 v1.5 signature: $(stat -c %s rsa.sig) bytes; ECDSA signature: $(stat -c %s ec.sig) bytes (DER)"
if plain pkeyutl -verify -pubin -inkey ec.pub.pem -in other.sha256 -sigfile ec.sig >/dev/null 2>&1; then
  fail "the ECDSA signature verified over other data"
fi
echo "over other data: Signature Verification Failure, as it should be"

say "Self-signed TLS certificates for the RSA and the EC key, made through the engine"
for k in rsa ec; do
  key="pkcs11:token=$LABEL;object=web-$k;type=private"
  engine req -new -x509 -days 30 -sha256 -engine pkcs11 -keyform engine -key "$key" \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out "$k-cert.pem"
  plain verify -CAfile "$k-cert.pem" "$k-cert.pem"
  [ "$(plain x509 -in "$k-cert.pem" -noout -pubkey)" = "$(cat "$k.pub.pem")" ] || fail "$k-cert.pem does not carry the token's public key"
done

# A TLS server (openssl s_server) whose private key is a KMS key, and a client that checks
# the server's certificate and completes a handshake with it.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
tls_round() {
  local k="$1" key="$2" want_sig="$3" port spid
  port="$(free_port)"
  # openssl itself, not the engine() function: $! must be the s_server process.
  OPENSSL_CONF="$WORK/openssl-pkcs11.cnf" openssl s_server -engine pkcs11 -keyform engine -key "$key" -cert "$k-cert.pem" \
    -accept "127.0.0.1:$port" -naccept 1 -www >"s_server-$k.log" 2>&1 &
  spid=$!
  on_exit "kill $spid 2>/dev/null"
  for _ in $(seq 1 100); do grep -q '^ACCEPT' "s_server-$k.log" 2>/dev/null && break; kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  grep -q '^ACCEPT' "s_server-$k.log" || { cat "s_server-$k.log"; fail "s_server with the $k key did not start"; }
  echo "s_server (pid $spid) listens on 127.0.0.1:$port with $key"
  printf 'GET / HTTP/1.0\r\n\r\n' | plain s_client -connect "127.0.0.1:$port" -CAfile "$k-cert.pem" \
    -verify_return_error -verify_ip 127.0.0.1 -ign_eof >"s_client-$k.log" 2>&1 \
    || { cat "s_client-$k.log" "s_server-$k.log"; fail "s_client could not complete a handshake with the $k server"; }
  grep -E '^(Peer signature type|Peer signing digest|Verify return code|New, TLS|HTTP/1.0 )' "s_client-$k.log" | awk '!seen[$0]++' | sed 's/^/  s_client: /'
  grep -q '^Verify return code: 0 (ok)' "s_client-$k.log" || fail "the $k server's certificate did not verify"
  grep -q "^Peer signature type: $want_sig\$" "s_client-$k.log" || fail "the $k server did not sign with $want_sig"
  grep -q '^HTTP/1.0 200 ok' "s_client-$k.log" || fail "no answer from the $k server"
  # -naccept 1: the server exits after this one connection.
  for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null || true
  # The handshake signature was made by the module inside s_server (its pid is in the log).
  local signs
  grep -F "runtime[$spid] " "$WORK/module.log" >"s_server-$k.module.log" || true
  signs="$(grep -cE ' C_Sign(Final)? -> 0x0$' "s_server-$k.module.log" || true)"
  [ "$signs" -ge 1 ] || fail "the module log shows no signature made in s_server $spid"
  echo "  module log: s_server $spid made $signs C_Sign call(s) through libp11kms.so"
}

say "TLS with the RSA key: openssl s_server -engine pkcs11 ... s_client verifies the certificate"
tls_round rsa "$RSA_KEY" RSA-PSS
say "TLS with the ECDSA key"
tls_round ec "$EC_KEY" ECDSA

say "Every signature above was made by the module (C_Sign on the KMS), embedded in openssl"
echo "successful C_Sign/C_SignFinal calls in the module log: $(grep -cE ' C_Sign(Final)? -> 0x0$' "$WORK/module.log" || true)"
grep -m1 -E 'hosting: ' "$WORK/module.log" | sed 's/^.*hosting: /hosting: /'
if grep -q 'hosting: child process' "$WORK/module.log"; then fail "a host fell back to the child-process runtime"; fi

say "OpenSSL example complete"
