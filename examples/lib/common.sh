# Shared by every examples/<name>/run.sh: a throwaway KMS, a module configuration pointing
# at it, and the helpers the walk-throughs use. Source it; it exits the script on any error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
P11KMS="node $ROOT/bin/p11kms"
WORK="$(mktemp -d)"
MODULE="$($P11KMS module-path)"
[ -f "$MODULE" ] || { echo "the module is not built: run npm run setup" >&2; exit 1; }

say() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

cleanup_hooks=()
on_exit() { cleanup_hooks+=("$1"); }
run_cleanup() {
  local i
  for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do eval "${cleanup_hooks[$i]}" || true; done
  [ -n "${KMS_PID:-}" ] && kill "$KMS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap run_cleanup EXIT

# Starts the KMS on a free loopback port and writes $WORK/p11kms.toml for one slot.
# Usage: start_kms LABEL [extra toml lines...]
start_kms() {
  local label="$1"; shift
  PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  export P11KMS_SERVER_URL="http://127.0.0.1:$PORT"
  $P11KMS serve --port "$PORT" --db "$WORK/kms.sqlite" --workers 0 --log-level error >"$WORK/kms.log" 2>&1 &
  KMS_PID=$!
  for _ in $(seq 1 100); do curl -fsS "$P11KMS_SERVER_URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$P11KMS_SERVER_URL/version" >/dev/null || { cat "$WORK/kms.log"; fail "the KMS did not start"; }
  {
    echo '[[slot]]'
    echo "label = \"$label\""
    echo "urls = [\"$P11KMS_SERVER_URL\"]"
    printf '%s\n' "$@"
  } >"$WORK/p11kms.toml"
  export P11KMS_CONF="$WORK/p11kms.toml"
  export P11KMS_LOG="${P11KMS_LOG:-info}" P11KMS_LOG_FILE="$WORK/module.log"
  echo "KMS on $P11KMS_SERVER_URL; module configuration $P11KMS_CONF"
}

# Registers the module with p11-kit under a unique name, removed on exit. systemd and
# GnuTLS only load modules registered there.
register_module() {
  local name="p11kms-example-$$"
  $P11KMS install-module --name "$name" >/dev/null
  on_exit "rm -f /etc/pkcs11/modules/$name.module"
  echo "registered in /etc/pkcs11/modules/$name.module"
}

pkcs11() { pkcs11-tool --module "$MODULE" "$@"; }
