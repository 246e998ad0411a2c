#!/usr/bin/env bash
# VeraCrypt security-token keyfiles on p11kms, without VeraCrypt (it is not in Debian): the
# keyfile is stored on the KMS with the p11kms CLI, then veracrypt-replay.c makes the exact
# PKCS#11 calls of VeraCrypt's SecurityToken.cpp (list, mount, import, delete) on
# libp11kms.so, first on a plain slot, then on a slot filtered by tags = ["disk-encryption"].
# Exits non-zero on any failure.
source "$(dirname "$0")/../lib/common.sh"
HERE="$ROOT/examples/veracrypt"

say "Starting a throwaway KMS; the module gets two slots on it: 0 'disks' (no filter) and 1 'disks-tagged' (tags = [\"disk-encryption\"])"
start_kms disks
cat >>"$P11KMS_CONF" <<EOF
[[slot]]
label = "disks-tagged"
urls = ["$P11KMS_SERVER_URL"]
tags = ["disk-encryption"]
EOF
cat "$P11KMS_CONF"

say "Building the replay program (cc, PKCS#11 headers from p11-kit, return-code names from native/include)"
cc -O2 -Wall -Wextra -Werror -I/usr/include/p11-kit-1 -I"$ROOT/native/include" -o "$WORK/veracrypt-replay" "$HERE/veracrypt-replay.c" -ldl
REPLAY="$WORK/veracrypt-replay"
KEYFILES="$WORK/keyfiles"   # VeraCrypt names an imported keyfile after the file's base name
mkdir "$KEYFILES"
veracrypt() { "$REPLAY" "$MODULE" "$@"; }
# The traced PKCS#11 calls go to a log per step; the summary lines are shown.
quiet() { local log="$WORK/trace-$1.log"; shift; if ! "$@" >"$log" 2>&1; then cat "$log"; fail "$*"; fi; grep -v '^ ' "$log" | sed '/^$/d'; }

say "(a) Storing a 64-byte keyfile on the KMS: p11kms data import --label vol1 (SecretData, type Seed)"
head -c 64 /dev/urandom >"$WORK/vol1.key"
VOL1_UID=$($P11KMS data import --label vol1 "$WORK/vol1.key")
echo "vol1 is KMS object $VOL1_UID"
$P11KMS attributes "$VOL1_UID" | grep -E '^(ObjectType|Name|SecretDataType|State):'

say "... and through PKCS#11 it is a CKO_DATA object (pkcs11-tool --list-objects --type data)"
pkcs11 --slot 0 --list-objects --type data

say "... with CKA_TOKEN, CKA_PRIVATE, CKA_LABEL and CKA_VALUE: the VeraCrypt keyfile token://slot/0/file/vol1"
veracrypt show token://slot/0/file/vol1 | sed -n '/C_GetAttributeValue(CLASS/,$p' | grep -v -e '-> CKR_OK$' || fail "show"

say "A data object with CKA_PRIVATE=FALSE (pkcs11-tool --write-object without --private): VeraCrypt must skip it"
echo "not a keyfile" >"$WORK/note.txt"
pkcs11 --slot 0 --write-object "$WORK/note.txt" --type data --label public-note | grep -E 'label|flags'

say "(b) veracrypt --text --list-token-keyfiles: every PKCS#11 call, in VeraCrypt's order"
veracrypt list | tee "$WORK/list.log"
grep -qx 'token://slot/0/file/vol1' "$WORK/list.log" || fail "vol1 is not listed on slot 0"
grep -q 'public-note' "$WORK/list.log" && fail "the CKA_PRIVATE=FALSE object was listed"
grep -q 'skipped: CKA_PRIVATE is FALSE' "$WORK/list.log" || fail "the public data object was not seen and skipped"
grep -qx 'token://slot/1/file/vol1' "$WORK/list.log" && fail "vol1 (no tag) is visible on the tagged slot"
echo "OK: vol1 listed on slot 0, public-note skipped, vol1 not on the tagged slot 1"

# One replay of VeraCrypt's mount read, import, mount of the import, duplicate import and delete on SLOT.
replay_slot() {
  local slot="$1" name="$2"
  if [ "$slot" = 0 ]; then
    say "Mount with token://slot/0/file/vol1: VeraCrypt lists the data objects, picks the one labelled vol1 and reads its CKA_VALUE (length, then value); it equals the original keyfile"
    veracrypt mount "token://slot/0/file/vol1" "$WORK/mounted-vol1.key" | sed -n '/C_FindObjectsInit/,$p'
    cmp "$WORK/vol1.key" "$WORK/mounted-vol1.key" || fail "the keyfile read by mount differs from the original"
    echo "OK: cmp: identical"
  else
    say "Mount with token://slot/1/file/vol1 fails: vol1 has no disk-encryption tag, so the tagged slot does not show it"
    if veracrypt mount "token://slot/1/file/vol1" "$WORK/x" >"$WORK/trace-mount-hidden.log" 2>&1; then fail "vol1 was readable on the tagged slot"; fi
    tail -n 1 "$WORK/trace-mount-hidden.log"
    echo "OK: vol1 (untagged) is not a keyfile of the tagged slot"
  fi

  say "veracrypt --import-token-keyfiles: keyfile $name onto slot $slot (C_CreateObject{DATA, TOKEN, PRIVATE, LABEL, VALUE}, CKA_VALUE read back)"
  head -c 1024 /dev/urandom >"$KEYFILES/$name"
  veracrypt import "$slot" "$KEYFILES/$name" | sed -n '/C_CreateObject/,$p'

  say "Mounting with the imported keyfile token://slot/$slot/file/$name"
  quiet "mount-$name" veracrypt mount "token://slot/$slot/file/$name" "$WORK/mounted-$name.key"
  cmp "$KEYFILES/$name" "$WORK/mounted-$name.key" || fail "$name read back differs"
  echo "OK: cmp: identical"

  say "Importing $name again: VeraCrypt refuses an existing name before any C_CreateObject"
  if veracrypt import "$slot" "$KEYFILES/$name" >"$WORK/trace-dup.log" 2>&1; then fail "a duplicate keyfile name was accepted"; fi
  grep -q C_CreateObject "$WORK/trace-dup.log" && fail "C_CreateObject was called for a duplicate"
  tail -n 1 "$WORK/trace-dup.log"

  say "veracrypt --delete-token-keyfiles token://slot/$slot/file/$name: C_DestroyObject, then the object is gone"
  veracrypt delete "token://slot/$slot/file/$name" | sed -n '/C_DestroyObject/,/C_GetAttributeValue/p;/^deleted/p'
}

replay_slot 0 vol2

say "(c) pkcs11-tool --read-object --type data --label vol1 returns the keyfile bytes unchanged"
pkcs11 --slot 0 --read-object --type data --label vol1 -o "$WORK/read-object.key"
cmp "$WORK/vol1.key" "$WORK/read-object.key" || fail "pkcs11-tool read different bytes"
echo "OK: cmp: identical ($(stat -c %s "$WORK/read-object.key") bytes)"

say "The replay again, on slot 1 'disks-tagged' (tags = [\"disk-encryption\"])"
replay_slot 1 vol3

say "Objects the replay creates on the tagged slot carry the tag: import vol4 there and ask the KMS"
head -c 256 /dev/urandom >"$KEYFILES/vol4"
quiet import-vol4 veracrypt import 1 "$KEYFILES/vol4"
VOL4_UID=$($P11KMS locate --tag disk-encryption --label vol4)
[ -n "$VOL4_UID" ] || fail "vol4 does not carry the disk-encryption tag"
$P11KMS attributes "$VOL4_UID" | grep -E '^(Name|tags):'

say "A keyfile stored with the CLI and --tag disk-encryption is a keyfile of the tagged slot too"
head -c 64 /dev/urandom >"$WORK/vol5.key"
$P11KMS data import --label vol5 --tag disk-encryption "$WORK/vol5.key" >/dev/null
veracrypt list >"$WORK/list2.log" || { cat "$WORK/list2.log"; fail "list"; }
grep '^token://' "$WORK/list2.log"
for want in slot/0/file/vol1 slot/0/file/vol4 slot/0/file/vol5 slot/1/file/vol4 slot/1/file/vol5; do
  grep -qx "token://$want" "$WORK/list2.log" || fail "token://$want is not listed"
done
grep -qx 'token://slot/1/file/vol1' "$WORK/list2.log" && fail "untagged vol1 is listed on the tagged slot"
quiet mount-vol5 veracrypt mount token://slot/1/file/vol5 "$WORK/mounted-vol5.key"
cmp "$WORK/vol5.key" "$WORK/mounted-vol5.key" || fail "vol5 differs"
echo "OK: the tagged slot lists vol4 and vol5 only; the plain slot lists everything private; vol5 mounts identical"

say "VeraCrypt keyfile replay complete"
