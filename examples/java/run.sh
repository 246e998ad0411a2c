#!/usr/bin/env bash
# Java (OpenJDK 17) SunPKCS11 on libp11kms.so: an RSA and an EC key pair on the KMS, a
# certificate for each stored on the token, keytool listing them as PrivateKeyEntry, and a
# Java program signing through SunPKCS11, verified by the JDK's own providers. The slot
# needs a login (login = "pin-is-token": the PIN is the KMS access token), so SunPKCS11 has
# to log in to see anything. Exits non-zero on any failure. See README.md for the same steps.
source "$(dirname "$0")/../lib/common.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

LABEL=java-example
PIN=example-access-token   # this KMS does not check tokens yet; a Cosmian KMS would
export P11KMS_LOG=debug    # the module log then records each call (never PINs, keys or data)
start_kms "$LABEL" 'login = "pin-is-token"'
cd "$WORK"
login=(--login --pin "$PIN")

say "The SunPKCS11 configuration: $HERE/p11kms.cfg with the module path filled in"
sed "s|@P11KMS_MODULE@|$MODULE|" "$HERE/p11kms.cfg" >"$WORK/p11kms.cfg"
grep -v '^#' "$WORK/p11kms.cfg"

say "The token wants a login (login = \"pin-is-token\": the PIN is the KMS access token)"
pkcs11 -L 2>/dev/null | grep -E 'token (label|flags)' | sed 's/^ */  /'

say "pkcs11-tool (logged in) makes an RSA-2048 and an EC P-256 key pair on the KMS, and one more EC key pair without a certificate"
pkcs11 "${login[@]}" --keypairgen --key-type rsa:2048 --label web-rsa --id 01 >/dev/null
pkcs11 "${login[@]}" --keypairgen --key-type EC:prime256v1 --label web-ec --id 02 >/dev/null
pkcs11 "${login[@]}" --keypairgen --key-type EC:prime256v1 --label no-cert --id 03 >/dev/null
pkcs11 "${login[@]}" --list-objects --type privkey 2>/dev/null | grep -E 'Private Key Object|label:|ID:'
n="$(pkcs11 --list-objects 2>/dev/null | grep -c 'Object;' || true)"
[ "$n" -eq 0 ] || fail "without login pkcs11-tool sees $n objects"
echo "without login: pkcs11-tool --list-objects sees $n objects"

say "A self-signed certificate for web-rsa and web-ec, signed by the keys themselves through the OpenSSL pkcs11 engine, stored on the token with the key's CKA_ID"
ENGINE="$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')/pkcs11.so"
[ -f "$ENGINE" ] || fail "no pkcs11 engine at $ENGINE: apt-get install libengine-pkcs11-openssl"
sed -e "s|@P11KMS_MODULE@|$MODULE|" -e "s|^dynamic_path = .*|dynamic_path = $ENGINE|" -e "s|^# PIN = .*|PIN = $PIN|" \
  "$HERE/../openssl/openssl-pkcs11.cnf" >"$WORK/openssl-pkcs11.cnf"
grep -q "^PIN = $PIN\$" "$WORK/openssl-pkcs11.cnf" || fail "no PIN line in the engine configuration"
for pair in web-rsa:01 web-ec:02; do
  obj="${pair%%:*}" id="${pair##*:}"
  OPENSSL_CONF="$WORK/openssl-pkcs11.cnf" openssl req -new -x509 -days 365 -sha256 -engine pkcs11 -keyform engine \
    -key "pkcs11:token=$LABEL;object=$obj;type=private" -subj "/O=Example/CN=$obj" -outform DER -out "$obj.der" \
    2>"$obj.req.err" || { cat "$obj.req.err"; fail "no certificate for $obj"; }
  pkcs11 "${login[@]}" --write-object "$obj.der" --type cert --id "$id" --label "$obj" >/dev/null
  echo "$obj: $(openssl x509 -inform DER -in "$obj.der" -noout -subject), SHA-256 fingerprint $(openssl x509 -inform DER -in "$obj.der" -noout -fingerprint -sha256 | cut -d= -f2)"
done

say "keytool -list through SunPKCS11 (the -storepass is the PIN)"
keytool -list -keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11 \
  -providerArg "$WORK/p11kms.cfg" -storepass "$PIN" | tee keytool.out
grep -q '^Keystore provider: SunPKCS11-p11kms$' keytool.out || fail "keytool did not use SunPKCS11-p11kms"
grep -q '^Your keystore contains 2 entries$' keytool.out || fail "keytool does not list exactly the two keys with certificates"
for obj in web-rsa web-ec; do
  grep -q "^$obj, PrivateKeyEntry, \$" keytool.out || fail "$obj is not a PrivateKeyEntry"
  fp="$(openssl x509 -inform DER -in "$obj.der" -noout -fingerprint -sha256 | cut -d= -f2)"
  [ "$(grep -A1 "^$obj, PrivateKeyEntry, \$" keytool.out | sed -n 's/^Certificate fingerprint (SHA-256): //p')" = "$fp" ] \
    || fail "$obj: not the certificate stored"
done
if grep -q '^no-cert,' keytool.out; then fail "the key without a certificate is listed"; fi
echo "web-rsa and web-ec are PrivateKeyEntry with their certificates; no-cert (no certificate) is not an entry"

say "A Java program signs through SunPKCS11 and verifies with the JDK's own providers (java SignWithP11kms.java)"
java "$HERE/SignWithP11kms.java" "$WORK/p11kms.cfg" "$PIN" web-rsa=SHA256withRSA web-ec=SHA256withECDSA | tee java.out
grep -q '^ALL OK$' java.out || fail "the Java program did not sign and verify with both keys"
grep -q '^OK web-rsa SHA256withRSA key=RSA signer=SunPKCS11-p11kms verifier=SunRsaSign ' java.out || fail "no RSA signature by SunPKCS11-p11kms"
grep -q '^OK web-ec SHA256withECDSA key=EC signer=SunPKCS11-p11kms verifier=SunEC ' java.out || fail "no ECDSA signature by SunPKCS11-p11kms"

say "The module log: what the JVM did (embedded in the JVM, logged in, two signatures on the KMS)"
jpid="$(sed -n 's/^pid \([0-9]*\)$/\1/p' java.out)"
# The JVM's lines are those with its pid: "native[pid]" (the C shim), "runtime[pid]" (the token).
grep -F "[$jpid] " module.log >jvm.log || fail "no line from the JVM (pid $jpid) in the module log"
grep 'hosting: ' jvm.log | sed 's/^.*hosting: /  hosting: /'
grep -q ' C_Login -> 0x0$' jvm.log || fail "the JVM did not log in"
signs="$(grep -cE ' C_Sign(Final)? -> 0x0$' jvm.log || true)"
[ "$signs" -eq 2 ] || fail "expected 2 signatures from the JVM, the log shows $signs"
echo "  C_Login -> CKR_OK; $signs successful C_Sign/C_SignFinal calls from JVM pid $jpid"
if grep -q 'hosting: child process' jvm.log; then fail "the JVM got the child-process runtime"; fi

say "Java example complete"
