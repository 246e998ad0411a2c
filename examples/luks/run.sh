#!/usr/bin/env bash
# LUKS2 unlocked by an RSA key that never leaves the KMS: systemd-cryptenroll enrols a
# PKCS#11 token served by libp11kms.so, cryptsetup unlocks through it, and destroying the
# key on the KMS takes that access away. Then the same with an EC P-256 key, which systemd
# 252 refuses at enrolment. Runs as root (p11-kit registration in /etc/pkcs11/modules);
# needs cryptsetup-bin and systemd 252. Exits non-zero on any failure. See README.md.
source "$(dirname "$0")/../lib/common.sh"

[ "$(id -u)" = 0 ] || fail "run as root: systemd only loads modules registered in /etc/pkcs11/modules"
for tool in cryptsetup systemd-cryptenroll p11-kit pkcs11-tool; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install cryptsetup-bin systemd p11-kit opensc)"
done
ls /usr/lib/*/cryptsetup/libcryptsetup-token-systemd-pkcs11.so >/dev/null 2>&1 ||
  fail "cryptsetup's systemd-pkcs11 token plugin is missing (it comes with the systemd package)"

json_field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$1" "$2"; }
# CKA_ID (hex) of the token's objects of one type, one per line, as pkcs11-tool lists them.
ids_of() { pkcs11 -O --type "$1" 2>/dev/null | awk '$1 == "ID:" { print $2 }'; }
exactly_one() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
# systemd and cryptsetup must never wait on a terminal: stdin is /dev/null.
enroll() { systemd-cryptenroll --unlock-key-file="$WORK/passphrase" --pkcs11-token-uri="$1" "$WORK/disk.img" </dev/null; }
unlock() { cryptsetup open --test-passphrase --token-only -v "$WORK/disk.img" </dev/null; }
indent() { sed "s/^/   ${1:-}/"; }
# Runs a command, shows its output indented under PREFIX, returns its exit status.
shown() {
  local prefix="$1" rc=0; shift
  "$@" >"$WORK/out.txt" 2>&1 || rc=$?
  indent "$prefix" <"$WORK/out.txt"
  return "$rc"
}

LABEL="luks-$RANDOM"
say "1. Starting a throwaway KMS; the module shows it as token '$LABEL', with only the objects tagged disk-encryption"
start_kms "$LABEL" 'tags = ["disk-encryption"]'
indent <"$P11KMS_CONF"

say "2. An RSA-2048 key pair on the KMS (the private key not extractable) and a self-signed certificate for it"
PAIR=$($P11KMS keys create --type rsa --length 2048 --label luks-rsa --tag disk-encryption --not-extractable --json) || fail "the KMS did not create the RSA key pair"
RSA_SK=$(json_field "$PAIR" privateKeyId)
RSA_PK=$(json_field "$PAIR" publicKeyId)
echo "private key $RSA_SK, public key $RSA_PK"
RSA_CERT=$($P11KMS certificates certify --public-key-id "$RSA_PK" --subject "CN=luks-rsa,O=p11kms example" \
  --days 3650 --label luks-rsa-cert --tag disk-encryption) || fail "the KMS did not certify the RSA public key"
echo "certificate $RSA_CERT (Certify links it to the key pair: PublicKeyLink and PrivateKeyLink)"

echo "pkcs11-tool -O: the certificate and the private key have the same CKA_ID"
pkcs11 -O --type cert >"$WORK/certs.txt" 2>&1 || { cat "$WORK/certs.txt"; fail "pkcs11-tool cannot list the certificates"; }
pkcs11 -O --type privkey >"$WORK/keys.txt" 2>&1 || { cat "$WORK/keys.txt"; fail "pkcs11-tool cannot list the private keys"; }
grep -v "^Using slot" "$WORK/certs.txt" | indent
grep -E "Private Key|label|ID:|Access" "$WORK/keys.txt" | indent
CERT_ID=$(ids_of cert)
KEY_ID=$(ids_of privkey)
exactly_one "$CERT_ID" || fail "expected exactly one certificate on the token, got: $CERT_ID"
exactly_one "$KEY_ID" || fail "expected exactly one private key on the token, got: $KEY_ID"
[ "$CERT_ID" = "$KEY_ID" ] || fail "certificate ID $CERT_ID differs from private key ID $KEY_ID"
echo "same CKA_ID: $CERT_ID"

say "3. Registering the module with p11-kit (systemd loads PKCS#11 modules only through p11-kit)"
register_module
p11-kit list-modules >"$WORK/modules.txt" 2>&1 || true
grep -E "libp11kms|token: $LABEL\$" "$WORK/modules.txt" | indent
grep -q "token: $LABEL\$" "$WORK/modules.txt" || { cat "$WORK/modules.txt"; fail "p11-kit list-modules does not show token $LABEL"; }

say "4. A 32 MiB LUKS2 image with a passphrase, then the token enrolled in a second key slot"
truncate -s 32M "$WORK/disk.img"
(umask 077; printf 'correct horse battery staple' >"$WORK/passphrase")
cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
  --key-file="$WORK/passphrase" "$WORK/disk.img"
shown "systemd-cryptenroll: " enroll "pkcs11:token=$LABEL" || fail "systemd-cryptenroll did not enrol the RSA key"
cryptsetup luksDump "$WORK/disk.img" >"$WORK/dump.txt"
grep -A2 "systemd-pkcs11" "$WORK/dump.txt" | indent
grep -q "pkcs11-uri: pkcs11:token=$LABEL\$" "$WORK/dump.txt" || fail "luksDump shows no systemd-pkcs11 token for $LABEL"

say "5. Unlocking with the token only: the KMS decrypts the slot's key (C_Decrypt, CKM_RSA_PKCS)"
shown "cryptsetup: " unlock || fail "the token did not unlock the volume"
echo "unlocked through the KMS"

say "6. Revoking the private key on the KMS: the same unlock must now fail"
$P11KMS revoke "$RSA_SK" --reason CessationOfOperation --message "disk retired" || fail "the KMS did not revoke $RSA_SK"
if shown "cryptsetup: " unlock; then
  fail "the volume still unlocks with the token after its private key was revoked"
fi
grep -q "Failed to find selected private key" "$WORK/out.txt" || fail "the unlock failed, but not because the key is off the token"
echo "token unlock refused: a revoked key is no longer on the token (the slot does not set show_revoked)"
echo "the passphrase still opens the volume:"
shown "cryptsetup: " cryptsetup open --test-passphrase --key-file="$WORK/passphrase" -v "$WORK/disk.img" </dev/null ||
  fail "the passphrase no longer opens the volume"
$P11KMS destroy "$RSA_SK" >/dev/null || fail "the KMS did not destroy the revoked key $RSA_SK"
echo "the revoked key is destroyed on the KMS too"

say "7. EC: a P-256 key pair and its certificate, enrolled on the same image"
PAIR=$($P11KMS keys create --type ec --curve p256 --label luks-ec --tag disk-encryption --not-extractable --json) || fail "the KMS did not create the EC key pair"
EC_SK=$(json_field "$PAIR" privateKeyId)
EC_PK=$(json_field "$PAIR" publicKeyId)
EC_CERT=$($P11KMS certificates certify --public-key-id "$EC_PK" --subject "CN=luks-ec,O=p11kms example" \
  --days 3650 --label luks-ec-cert --tag disk-encryption) || fail "the KMS did not certify the EC public key"
echo "private key $EC_SK, certificate $EC_CERT"
# The RSA certificate is still on the token, so the URI names the EC pair by its CKA_ID.
EC_ID=$(ids_of privkey)
exactly_one "$EC_ID" || fail "expected only the EC private key on the token, got: $EC_ID"
ids_of cert | grep -qx "$EC_ID" || fail "no certificate on the token has the EC private key's ID $EC_ID"
EC_URI="pkcs11:token=$LABEL;id=$(printf '%s' "$EC_ID" | sed 's/../%&/g')"
echo "URI: $EC_URI"
TOKENS_BEFORE=$(grep -c "systemd-pkcs11" "$WORK/dump.txt")
if shown "systemd-cryptenroll: " enroll "$EC_URI"; then
  echo "systemd accepted the EC certificate: the token must now unlock the volume"
  shown "cryptsetup: " unlock || fail "systemd enrolled the EC key but the token does not unlock the volume"
  echo "unlocked through the KMS with the EC key"
else
  grep -q "RSA" "$WORK/out.txt" || fail "systemd-cryptenroll failed on the EC key for an unexpected reason"
  cryptsetup luksDump "$WORK/disk.img" >"$WORK/dump.txt"
  [ "$(grep -c "systemd-pkcs11" "$WORK/dump.txt")" = "$TOKENS_BEFORE" ] || fail "the refused enrolment changed the LUKS header"
  echo "refused, as expected: systemd $(systemd-cryptenroll --version | awk 'NR == 1 { print $2 }') enrols RSA keys only" \
    "(EC needs ECDH through C_DeriveKey, added in systemd 255); the LUKS header is unchanged"
fi

say "LUKS example complete"
