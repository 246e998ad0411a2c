#!/usr/bin/env bash
# p11-kit and GnuTLS find libp11kms.so through its p11-kit registration (`p11kms
# install-module`), with no module path on their command lines: p11-kit list-modules shows the
# module and its token, p11tool (no --provider) lists the token and the objects pkcs11-tool
# made, and p11kms doctor reports the registration. Exits non-zero on any failure. See
# README.md for the same steps by hand.
source "$(dirname "$0")/../lib/common.sh"

LABEL=p11kit-example
export P11KMS_LOG=debug   # the module log then records each call (never keys or data)
start_kms "$LABEL"
cd "$WORK"

# Other registrations of this same module (another run, another user of this machine).
others() { grep -lsE "^module: *$MODULE\$" /etc/pkcs11/modules/*.module | grep -v "/$NAME.module\$" || true; }
NAME="p11kms-example-$$"   # what register_module (examples/lib/common.sh) names the file

say "pkcs11-tool makes an EC P-256 key pair and stores a certificate on the token"
pkcs11 --keypairgen --key-type EC:prime256v1 --label demo-ec --id 01 >/dev/null
OPENSSL_CONF=/dev/null openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cert.key \
  -days 30 -subj "/CN=$LABEL demo-cert" -outform DER -out demo-cert.der \
  2>req.err || { cat req.err; fail "openssl req"; }
pkcs11 --write-object demo-cert.der --type cert --id 02 --label demo-cert >/dev/null
pkcs11 --list-objects 2>/dev/null | grep -E 'Object;|label:'

say "Before registering: p11kms doctor"
before="$(others)"
$P11KMS doctor >doctor-before.out || true
after="$(others)"
grep 'p11-kit registration' doctor-before.out || true
if [ -z "$before$after" ]; then
  grep -q '^warn  p11-kit registration: not registered' doctor-before.out || fail "doctor should warn that the module is not registered"
else
  echo "(another registration of this library exists: $(echo $before $after))"
fi

say "p11kms install-module: the p11-kit registration (here under a unique name, removed on exit)"
register_module
[ -f "/etc/pkcs11/modules/$NAME.module" ] || fail "no /etc/pkcs11/modules/$NAME.module"
sed 's/^/  /' "/etc/pkcs11/modules/$NAME.module"

say "p11-kit list-modules shows the module and its token"
p11-kit list-modules >list-modules.out 2>list-modules.err || { cat list-modules.err; fail "p11-kit list-modules"; }
# The module's section: its "name: path" line and the indented lines under it. p11-kit loads
# a library once: if another .module file names the same library, it is listed under that name.
awk -v tail=": $MODULE" '/^[^ \t]/ { on = (length($0) > length(tail) && substr($0, length($0) - length(tail) + 1) == tail) } on' \
  list-modules.out | tee module-section.out
[ -s module-section.out ] || { cat list-modules.out; fail "$MODULE is not in p11-kit list-modules"; }
grep -qE '^    library-description: p11kms KMIP \((embedded|child process)\)$' module-section.out || fail "the module did not initialise in p11-kit"
grep -q "^    token: $LABEL\$" module-section.out || fail "p11-kit does not show the token $LABEL"
if grep -iE "(p11kms|$MODULE).*(fail|skipping)" list-modules.err; then fail "p11-kit reports a problem with the module"; fi

say "p11tool --list-tokens (GnuTLS, no --provider: the modules p11-kit has registered)"
p11tool --list-tokens >tokens.out 2>tokens.err || { cat tokens.err; fail "p11tool --list-tokens"; }
echo "tokens listed: $(grep -c '^Token [0-9]*:$' tokens.out) ($(grep -E '^\s+Label:' tokens.out | sed 's/^\s*Label: //' | paste -sd, -))"
awk -v want="	Label: $LABEL" '/^Token [0-9]+:$/ { if (block ~ want) printf "%s", block; block = "" } { block = block $0 "\n" } END { if (block ~ want) printf "%s", block }' tokens.out | sed '/^$/d' | tee token.out
grep -q "^	URL: pkcs11:.*token=$LABEL\$" token.out || fail "p11tool does not list the token $LABEL"
grep -q '^	Manufacturer: p11kms$' token.out || fail "the token's manufacturer is not p11kms"

say "p11tool --list-all pkcs11:token=$LABEL: the objects pkcs11-tool made"
p11tool --list-all "pkcs11:token=$LABEL" | tee list-all.out
for want in 'Private key (EC/ECDSA-SECP256R1)' 'Public key (EC/ECDSA-SECP256R1)' 'X.509 Certificate (EC/ECDSA-SECP256R1)'; do
  grep -qF "	Type: $want" list-all.out || fail "p11tool does not list a $want"
done
grep -q '^	Label: demo-ec$' list-all.out && grep -q '^	Label: demo-cert$' list-all.out || fail "p11tool does not list demo-ec and demo-cert"

say "p11tool --test-sign: GnuTLS signs with the KMS key through the registration"
p11tool --test-sign "pkcs11:token=$LABEL;object=demo-ec" 2>&1 | tee test-sign.out
grep -q '^Verifying against public key in the token... ok$' test-sign.out || fail "p11tool --test-sign"

say "p11kms doctor"
$P11KMS doctor | tee doctor.out
grep -q '^ok    p11-kit registration: /etc/pkcs11/modules/' doctor.out || fail "doctor does not report the registration ok"
grep -q '^ok    hosting: ' doctor.out || fail "doctor does not report the hosting ok"

say "Which runtime the programs above got, from the module log (number of processes per hosting)"
# pkcs11-tool and p11-kit: embedded. GnuTLS initialises modules with
# CKF_LIBRARY_CANT_CREATE_OS_THREADS, so p11tool gets the runtime as a child process.
grep -E ' native\[[0-9]+\] hosting: ' module.log | sed 's/^.*hosting: //' | sort | uniq -c | sed 's/^ */  /'

say "p11-kit example complete (the registration is removed on exit)"
