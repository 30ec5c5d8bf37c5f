#!/usr/bin/env bash
# Builds Dex (the OpenID Connect provider of the web app's login test, test/harness/dex.ts) from its pinned Go module
# into .tools/bin/dex, the way the harness builds its other Go tools (go-tools.sh). Idempotent: a stamp keyed by the
# pinned version (versions.env) makes a second run return at once. When the module proxy refuses the module, it
# says so in one line and exits non-zero. Environment: ORION_TOOLS_DIR (default <repo>/.tools).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
TOOLS="${ORION_TOOLS_DIR:-$REPO/.tools}"
# shellcheck source=versions.env
source "$HERE/versions.env"
BIN="$TOOLS/bin"
LOGS="$TOOLS/logs"
STAMPS="$TOOLS/stamps"
LOG_TAG=dex
# shellcheck source=../go-tools.sh
source "$HERE/../go-tools.sh"

stamp="$STAMPS/dex-$DEX_GOVER"
[[ -f "$stamp" && -x "$BIN/dex" ]] && exit 0
mkdir -p "$TOOLS" "$LOGS" "$STAMPS"
exec 9>"$TOOLS/.dex-install.lock"
flock 9
[[ -f "$stamp" && -x "$BIN/dex" ]] && exit 0
command -v go >/dev/null || { install_failed dex "$DEX_MODULE@$DEX_GOVER" "go is required and is not on PATH"; exit 1; }
command -v gcc >/dev/null || { install_failed dex "$DEX_MODULE@$DEX_GOVER" "gcc is required (cgo) and is not on PATH"; exit 1; }
start=$SECONDS
log "building dex $DEX_GOVER …"
CGO_ENABLED=1 build_go_binary dex "$DEX_MODULE" "$DEX_GOVER" "$DEX_MODULE/cmd/dex" "$BIN/dex" || exit 1
touch "$stamp"
log "built dex in $(elapsed $((SECONDS - start)))"
