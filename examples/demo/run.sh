#!/usr/bin/env bash
# The main job on the embedded default: start the KMS, then create keys, encrypt and decrypt
# a file, sign and verify, all through the p11kms CLI. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

P11KMS="node bin/p11kms"
WORK=$(mktemp -d)
PORT=${P11KMS_DEMO_PORT:-19990}
export P11KMS_SERVER_URL="http://127.0.0.1:$PORT"
cleanup() { [ -n "${KMS_PID:-}" ] && kill "$KMS_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

say "Starting the embedded KMS on $P11KMS_SERVER_URL (SQLite in $WORK)"
$P11KMS serve --port "$PORT" --db "$WORK/kms.sqlite" >"$WORK/kms.log" 2>&1 &
KMS_PID=$!
for _ in $(seq 1 50); do
  curl -fsS "$P11KMS_SERVER_URL/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$P11KMS_SERVER_URL/version" >/dev/null || { echo "the KMS did not start:"; cat "$WORK/kms.log"; exit 1; }

say "Creating an AES-256 key tagged 'demo'"
AES=$($P11KMS keys create --type aes --length 256 --label demo-aes --tag demo)
echo "AES key: $AES"

say "Encrypting a 3 MiB file with it (streamed, in 1 MiB chunks, AES-GCM on the KMS)"
head -c 3145728 /dev/urandom >"$WORK/plain.bin"
$P11KMS encrypt --key "$AES" "$WORK/plain.bin" "$WORK/cipher.bin"
$P11KMS decrypt --key "$AES" "$WORK/cipher.bin" "$WORK/roundtrip.bin"
cmp "$WORK/plain.bin" "$WORK/roundtrip.bin"
echo "decrypted file is identical ($(stat -c %s "$WORK/cipher.bin") bytes of ciphertext)"

say "Creating an EC P-256 key pair and signing a file"
PAIR=$($P11KMS keys create --type ec --curve p256 --label demo-ec --tag demo --json)
echo "$PAIR"
SK=$(node -e 'const p=JSON.parse(process.argv[1]); console.log(p.privateKeyId)' "$PAIR")
PK=$(node -e 'const p=JSON.parse(process.argv[1]); console.log(p.publicKeyId)' "$PAIR")
echo "message to sign" >"$WORK/msg.txt"
$P11KMS sign --key "$SK" "$WORK/msg.txt" --out "$WORK/msg.sig"
$P11KMS verify --key "$PK" "$WORK/msg.txt" "$WORK/msg.sig"
echo "signature verifies"

say "Tampering with the message: verification must fail"
echo "tampered" >>"$WORK/msg.txt"
if $P11KMS verify --key "$PK" "$WORK/msg.txt" "$WORK/msg.sig"; then echo "tampered message verified!"; exit 1; fi
echo "tampered message rejected"

say "Locating everything tagged 'demo'"
$P11KMS locate --tag demo

say "Pointing the PKCS#11 module at the same KMS"
MODULE=$($P11KMS module-path)
echo "module: $MODULE"
unset P11KMS_CONF
export P11KMS_LOG=info P11KMS_LOG_FILE="$WORK/module.log"
P11="pkcs11-tool --module $MODULE"
$P11 -I | grep -E "Cryptoki|Library"
$P11 -L | sed -n '1,6p'

say "pkcs11-tool generates an AES-256 key and an EC P-256 key pair on the KMS (C_GenerateKey, C_GenerateKeyPair)"
$P11 --keygen --key-type AES:32 --label demo-p11-aes --id a1 | sed -n '1,3p'
$P11 --keypairgen --key-type EC:prime256v1 --label demo-p11-ec --id e1 | sed -n '1,3p'

say "C_Encrypt / C_Decrypt with AES-CBC-PAD: the KMS does the work, the data round-trips"
head -c 1000 /dev/urandom >"$WORK/p11-plain.bin"
$P11 --encrypt --id a1 -m AES-CBC-PAD --iv 00112233445566778899aabbccddeeff -i "$WORK/p11-plain.bin" -o "$WORK/p11-cipher.bin"
$P11 --decrypt --id a1 -m AES-CBC-PAD --iv 00112233445566778899aabbccddeeff -i "$WORK/p11-cipher.bin" -o "$WORK/p11-back.bin"
cmp "$WORK/p11-plain.bin" "$WORK/p11-back.bin"
echo "1000 bytes encrypted to $(stat -c %s "$WORK/p11-cipher.bin") and decrypted back, identical"

say "C_Sign with ECDSA-SHA256 on the KMS; C_Verify; then OpenSSL verifies with the exported public key"
echo "signed through PKCS#11" >"$WORK/p11-msg.txt"
$P11 --sign --id e1 -m ECDSA-SHA256 --signature-format openssl -i "$WORK/p11-msg.txt" -o "$WORK/p11-msg.sig"
$P11 --verify --id e1 -m ECDSA-SHA256 --signature-format openssl -i "$WORK/p11-msg.txt" --signature-file "$WORK/p11-msg.sig"
$P11 --read-object --type pubkey --id e1 -o "$WORK/p11-ec.der"
openssl dgst -sha256 -verify "$WORK/p11-ec.der" -keyform DER -signature "$WORK/p11-msg.sig" "$WORK/p11-msg.txt"

say "The module's log (never on the terminal; P11KMS_LOG=info wrote it to a file)"
grep -m3 -E "hosting|C_Initialize" "$WORK/module.log" || true

say "Demo complete"
