#!/usr/bin/env bash
# Builds the kstatus tool of the tests (main.go here: Flux's kstatus library, sigs.k8s.io/cli-utils, on objects read
# from stdin) into .tools/bin/kstatus. The source is ours, so this is a plain `go build` in this folder (its go.sum
# pins every dependency), not a wrapper module.
#
# Cached: the build leaves a stamp keyed by the hash of go.sum and main.go; a run that finds it returns at once.
# Concurrent runs serialize on a lock file. A build that fails ends with one FAILED line naming the tool, the module
# and the registry's answer. Environment:
#   ORION_TOOLS_DIR  where to build (default <repo>/.tools)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
TOOLS="${ORION_TOOLS_DIR:-$REPO/.tools}"
LOGS="$TOOLS/logs"
STAMPS="$TOOLS/stamps"
LOG_TAG=kstatus
# shellcheck source=../go-tools.sh
source "$HERE/../go-tools.sh"

OUT="$TOOLS/bin/kstatus"
MODULE="sigs.k8s.io/cli-utils@$(awk '$1 == "sigs.k8s.io/cli-utils" { print $2 }' "$HERE/go.mod")"
KEY="$(cat "$HERE/go.sum" "$HERE/main.go" | sha256sum | cut -c1-16)"
STAMP="$STAMPS/kstatus-$KEY"

[[ -f "$STAMP" && -x "$OUT" ]] && exit 0
mkdir -p "$TOOLS/bin" "$LOGS" "$STAMPS"
exec 9>"$TOOLS/.kstatus-install.lock"
flock 9
[[ -f "$STAMP" && -x "$OUT" ]] && exit 0
command -v go >/dev/null || { install_failed kstatus "$MODULE" "go is required to build it and is not on PATH"; exit 1; }

start=$SECONDS
logf="$LOGS/build-kstatus-$KEY.log"
: >"$logf"
log "building kstatus ($MODULE) …"
if ! (
  cd "$HERE"
  export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  run_logged kstatus "$logf" go build -trimpath -ldflags="-s -w" -o "$OUT.tmp" .
); then
  tail -20 "$logf" >&2
  answer="$(registry_answer "$logf")"
  install_failed kstatus "$MODULE" "${answer:+a dependency could not be downloaded: $answer; }build failed, see $logf"
  exit 1
fi
mv -f "$OUT.tmp" "$OUT"
touch "$STAMP"
log "built kstatus in $(elapsed $((SECONDS - start)))"
