#!/usr/bin/env bash
# Oracle TDE in HSM mode on p11kms, without Oracle: oracle-tde-replay.c makes the PKCS#11
# calls an Oracle database makes when it opens its "HSM keystore", sets and rotates the master
# key, and wraps table keys with it. Each replay run is one Oracle process; a state directory
# stands for the datafile headers (master key ids, wrapped table keys). Exits non-zero on any
# failure.
source "$(dirname "$0")/../lib/common.sh"
HERE="$ROOT/examples/oracle-tde"
KEYSTORE_PASSWORD='hsm_identity_pass'   # ADMINISTER KEY MANAGEMENT ... IDENTIFIED BY hsm_identity_pass

say "Starting a throwaway KMS; one slot 'oracle-tde' with the default login = \"none\" (the keystore password is accepted as PIN)"
start_kms oracle-tde
cat "$P11KMS_CONF"
pkcs11 -L | sed -n '2,6p'

say "Building the replay program (cc, PKCS#11 headers from p11-kit, return-code names from native/include)"
cc -O2 -Wall -Wextra -Werror -I/usr/include/p11-kit-1 -I"$ROOT/native/include" -o "$WORK/oracle-tde-replay" "$HERE/oracle-tde-replay.c" -ldl
STATE="$WORK/datafile-headers"
mkdir "$STATE"
oracle() {
  local mode="$1" log="$WORK/trace-$1-$2.log"
  if ! "$WORK/oracle-tde-replay" "$MODULE" "$KEYSTORE_PASSWORD" "$STATE" "$mode" >"$log" 2>&1; then
    cat "$log"
    fail "the $mode process"
  fi
  if [ "${3:-}" = full ]; then cat "$log"; else grep -v -E '^  C_(Encrypt|Decrypt|EncryptInit|DecryptInit|GenerateRandom)\(' "$log"; fi
}

say "Process 1 (KEYSTORE OPEN, SET KEY): C_Login with the keystore password, C_GenerateKey of ORACLE.TDE.HSM.MK.<MKID>, lookups by both labels, 3 table keys wrapped with AES-CBC into unaligned buffers"
oracle setkey 1 full
MKID1=$(cat "$STATE/mk1.id")

say "On the KMS the master key is an AES-256 SymmetricKey named ORACLE.TDE.HSM.MK.$MKID1, Sensitive and not Extractable"
MK1_UID=$($P11KMS locate --label "ORACLE.TDE.HSM.MK.$MKID1")
[ -n "$MK1_UID" ] || fail "no KMS object named ORACLE.TDE.HSM.MK.$MKID1"
$P11KMS attributes "$MK1_UID" | grep -E '^(ObjectType|CryptographicAlgorithm|CryptographicLength|Name|Sensitive|Extractable|State):'
$P11KMS attributes "$MK1_UID" | grep -qx 'Extractable: false' || fail "the KMS does not say Extractable: false"

say "What the 'datafile headers' hold: master key ids and wrapped table keys (IV || ciphertext), never a master key"
ls -l "$STATE" | sed 1d
for f in "$STATE"/tk-*.mk1; do
  cmp -s <(tail -c 32 "$f") "${f%.mk1}.key" && fail "$f holds the table key in clear"
done
echo "OK: no wrapped file contains its table key"

say "Process 2 (the database restarts and opens the wallet): new C_Initialize, login, the master key found by its ORACLE.SECURITY.KM.ENCRYPTION label, every table key unwrapped"
oracle open 2

say "Process 3 (SET KEY again: re-key): a second master key; the table keys are rewrapped under it and new ones wrapped"
oracle rekey 3
MKID2=$(cat "$STATE/mk2.id")
[ "$MKID1" != "$MKID2" ] || fail "the re-key reused the MKID"

say "Both master keys are on the token"
# (pkcs11-tool also tries to read CKA_VALUE of each key and warns CKR_ATTRIBUTE_SENSITIVE on stderr: hidden here)
pkcs11 --list-objects --type secrkey 2>/dev/null >"$WORK/secrkeys.txt"
grep -E "label|Access" "$WORK/secrkeys.txt" | sed 's/^ */  /'
[ "$(grep -c "label:.*ORACLE.TDE.HSM.MK." "$WORK/secrkeys.txt")" = 2 ] || fail "expected two master keys"

say "Process 4: a new process unwraps everything, under master key 1 and master key 2"
oracle open 4 | tee "$WORK/open4.txt" | grep -E '^(--|    tk)'
grep -q 'tk-employees.mk1 unwraps' "$WORK/open4.txt" || fail "data wrapped under master key 1 did not unwrap"
grep -q 'tk-employees.mk2 unwraps' "$WORK/open4.txt" || fail "data rewrapped under master key 2 did not unwrap"
grep -q 'tk-invoices.mk2 unwraps' "$WORK/open4.txt" || fail "data wrapped under master key 2 did not unwrap"

say "Process 5: the master key cannot be exported (CKA_VALUE, C_WrapKey, C_SetAttributeValue)"
oracle refuse 5 full

say "Oracle TDE replay complete: master keys $MKID1 and $MKID2 stayed on the KMS"
