#!/usr/bin/env bash
# OpenSSH logs in with keys that live on the KMS: an RSA-2048 and an EC P-256 key pair are
# created with the p11kms CLI, `ssh-keygen -D` reads their public halves through the
# PKCS#11 module, a private sshd on a free loopback port accepts them, and `ssh -I` (then
# ssh-agent with `ssh-add -s`) signs the login challenge on the KMS. Exits non-zero on any
# failure; leaves no sshd, no agent and no files behind.
source "$(dirname "$0")/../lib/common.sh"

for tool in ssh ssh-keygen ssh-agent ssh-add /usr/sbin/sshd; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install openssh-client openssh-server"
done

# One slot that shows only the objects tagged ssh-auth: other keys on the KMS stay out of ssh.
start_kms ssh 'tags = ["ssh-auth"]'
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The fingerprint (SHA256:…) of the first key in an OpenSSH public key file.
fingerprint() { ssh-keygen -l -E sha256 -f "$1" | awk '{print $2}'; }

say "1. Creating an RSA-2048 and an EC P-256 key pair on the KMS (p11kms keys create)"
RSA_PAIR=$($P11KMS keys create --type rsa --length 2048 --label ssh-rsa-key --tag ssh-auth --json)
EC_PAIR=$($P11KMS keys create --type ec --curve p256 --label ssh-ec-key --tag ssh-auth --json)
json() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$1" "$2"; }
RSA_SK=$(json "$RSA_PAIR" privateKeyId); RSA_PK=$(json "$RSA_PAIR" publicKeyId)
EC_SK=$(json "$EC_PAIR" privateKeyId)
echo "RSA private key $RSA_SK, EC private key $EC_SK (both tagged ssh-auth)"
OTHER=$($P11KMS keys create --type ec --curve p384 --label not-for-ssh --json)
echo "and an untagged EC P-384 key pair $(json "$OTHER" privateKeyId), which the slot must not show"

say "The module shows each private key and its public key with the same CKA_ID (OpenSSH pairs them by CKA_ID)"
pkcs11 --list-objects 2>/dev/null | tee "$WORK/objects.txt" | grep -E 'Object;|label:|ID:' | grep -v 'Unique ID'
for label in ssh-rsa-key ssh-ec-key; do
  ids=$(awk -v l="$label" '/label:/ {cur=$2} /^  ID:/ && cur==l {print $2}' "$WORK/objects.txt" | sort -u)
  [ "$(echo "$ids" | grep -c .)" = 1 ] || fail "$label: private and public key do not share one CKA_ID ($ids)"
done
echo "both pairs share their CKA_ID"

say "2. ssh-keygen -D lists the two tagged public keys in OpenSSH format"
ssh-keygen -D "$MODULE" >"$WORK/all_keys.pub"
cat "$WORK/all_keys.pub"
[ "$(grep -c . "$WORK/all_keys.pub")" = 2 ] || fail "ssh-keygen -D should list exactly 2 keys"
grep -E '^ssh-rsa [A-Za-z0-9+/=]+ ssh-rsa-key$' "$WORK/all_keys.pub" >"$WORK/rsa.pub" || fail "no ssh-rsa key listed"
grep -E '^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+ ssh-ec-key$' "$WORK/all_keys.pub" >"$WORK/ec.pub" || fail "no ecdsa-sha2-nistp256 key listed"
ssh-keygen -l -f "$WORK/rsa.pub"
ssh-keygen -l -f "$WORK/ec.pub"
# The RSA key OpenSSH sees is the KMS's key: its modulus is the one the CLI exports.
$P11KMS export "$RSA_PK" "$WORK/rsa-spki.der" --format spki >/dev/null
ssh-keygen -i -m PKCS8 -f <(openssl pkey -pubin -inform DER -in "$WORK/rsa-spki.der") | awk '{print $2}' >"$WORK/rsa-kms.b64"
[ "$(awk '{print $2}' "$WORK/rsa.pub")" = "$(cat "$WORK/rsa-kms.b64")" ] || fail "the RSA key listed is not the KMS's key"
echo "the ssh-rsa key is the KMS's public key (compared with p11kms export)"

say "3. Starting a private sshd on a free loopback port (own host key, own authorized_keys)"
SSH_PORT=$(free_port)
mkdir -p /run/sshd   # sshd's privilege-separation directory (the package's own, kept)
ssh-keygen -q -t ed25519 -N '' -C p11kms-example-host -f "$WORK/ssh_host_ed25519_key"
: >"$WORK/authorized_keys"
cat >"$WORK/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel VERBOSE
CONF
/usr/sbin/sshd -t -f "$WORK/sshd_config" || fail "sshd rejects its configuration"
/usr/sbin/sshd -D -f "$WORK/sshd_config" -E "$WORK/sshd.log" &
SSHD_PID=$!
on_exit "kill $SSHD_PID 2>/dev/null; wait $SSHD_PID 2>/dev/null"
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null && break
  kill -0 "$SSHD_PID" 2>/dev/null || { cat "$WORK/sshd.log"; fail "sshd exited"; }
  sleep 0.1
done
echo "sshd (pid $SSHD_PID) listening on 127.0.0.1:$SSH_PORT, log $WORK/sshd.log"

# -F /dev/null: no user or system ssh_config, and nothing written under ~/.ssh.
SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile="$WORK/known_hosts"
  -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR -p "$SSH_PORT")

# login NAME PUBFILE ssh-args...: allow only PUBFILE's key, log in, check the greeting and
# that sshd accepted that very key.
login() {
  local name="$1" pub="$2"; shift 2
  cp "$pub" "$WORK/authorized_keys"
  local before out fp
  before=$(grep -c 'Accepted publickey' "$WORK/sshd.log" || true)
  out=$(timeout 60 ssh "${SSH_OPTS[@]}" "$@" root@127.0.0.1 echo logged-in-through-p11kms) \
    || { tail -20 "$WORK/sshd.log"; fail "$name: ssh login failed"; }
  echo "$out"
  [ "$out" = logged-in-through-p11kms ] || fail "$name: unexpected output"
  fp=$(fingerprint "$pub")
  grep 'Accepted publickey' "$WORK/sshd.log" | tail -n +"$((before + 1))" | grep -q -- "$fp" \
    || fail "$name: sshd did not accept key $fp"
  echo "sshd: $(grep 'Accepted publickey' "$WORK/sshd.log" | tail -1 | sed 's/.*Accepted/Accepted/')"
}

# With IdentitiesOnly=yes OpenSSH uses a PKCS#11 key only when its public key is also given
# with -i (ssh_config(5)); that names the key to use. Without IdentitiesOnly ssh offers every
# key of the module in turn.
say "ssh -I the module -i rsa.pub, authorized_keys holding only the RSA key"
login "RSA via ssh -I" "$WORK/rsa.pub" -I "$MODULE" -o IdentitiesOnly=yes -i "$WORK/rsa.pub" -o IdentityAgent=none

say "ssh -I the module -i ec.pub, authorized_keys holding only the EC P-256 key"
login "EC via ssh -I" "$WORK/ec.pub" -I "$MODULE" -o IdentitiesOnly=yes -i "$WORK/ec.pub" -o IdentityAgent=none

say "ssh -I the module alone: ssh offers the module's keys in turn, sshd refuses the RSA one and takes the EC one"
login "any module key via ssh -I" "$WORK/ec.pub" -I "$MODULE" -o IdentityAgent=none
grep "Failed publickey" "$WORK/sshd.log" | tail -1 | grep -q -- "$(fingerprint "$WORK/rsa.pub")" \
  || fail "ssh did not offer the RSA key first"
echo "sshd: $(grep 'Failed publickey' "$WORK/sshd.log" | tail -1)"

say "4. ssh-agent: start one for this script, add the module's keys with ssh-add -s"
# ssh-agent loads PKCS#11 modules only from its allow-list (default /usr/lib*/*,/usr/local/lib*/*).
eval "$(ssh-agent -s -P "$MODULE")" >/dev/null
on_exit "SSH_AGENT_PID=$SSH_AGENT_PID SSH_AUTH_SOCK=$SSH_AUTH_SOCK ssh-agent -k >/dev/null 2>&1"
echo "ssh-agent pid $SSH_AGENT_PID, socket $SSH_AUTH_SOCK"
# ssh-add asks for a PIN; the slot's login = "none" needs none, so an empty answer will do.
timeout 60 ssh-add -s "$MODULE" </dev/null
echo
ssh-add -L | tee "$WORK/agent_keys.pub"
for f in rsa ec; do
  grep -qF "$(awk '{print $2}' "$WORK/$f.pub")" "$WORK/agent_keys.pub" || fail "ssh-add -L does not list the $f key"
done
echo "the agent holds both KMS keys"

# IdentitiesOnly + IdentityFile=<public key>: ssh uses the agent key that matches it.
say "ssh through the agent, authorized_keys holding only the RSA key"
login "RSA via ssh-agent" "$WORK/rsa.pub" -o IdentitiesOnly=yes -o IdentityFile="$WORK/rsa.pub"

say "ssh through the agent, authorized_keys holding only the EC P-256 key"
login "EC via ssh-agent" "$WORK/ec.pub" -o IdentitiesOnly=yes -o IdentityFile="$WORK/ec.pub"

say "ssh-add -e removes the module's keys from the agent"
ssh-add -e "$MODULE"
if ssh-add -L >/dev/null 2>&1; then fail "keys still in the agent"; fi
echo "agent empty"

say "OpenSSH logged in with RSA-2048 and EC P-256 keys held by the KMS, directly and through ssh-agent"
