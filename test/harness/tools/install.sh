#!/usr/bin/env bash
# Builds the tools the tests run against — OpenTofu and Terraform providers — from their Go modules, into .tools/.
#
#   test/harness/tools/install.sh [tofu|core|providers|all]
#     tofu       .tools/bin/tofu
#     core       tofu + the null and local providers (what the runner tests need; the fast path)
#     providers  every provider: null, local, then libvirt and proxmox
#     all        tofu + every provider (default)
#
# Idempotent and cached: each build leaves a stamp keyed by its pinned version (versions.env); a run that finds
# every stamp does nothing. Concurrent runs serialize on a lock file. Environment:
#   ORION_TOOLS_DIR  where to build (default <repo>/.tools)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
TOOLS="${ORION_TOOLS_DIR:-$REPO/.tools}"
# shellcheck source=versions.env
source "$HERE/versions.env"

GOOS_ARCH="linux_amd64"
MIRROR="$TOOLS/providers"
STAMPS="$TOOLS/stamps"
LOGS="$TOOLS/logs"
# Bumped when the way a tool is built changes (flags, layout): part of every stamp, so it forces a rebuild.
RECIPE=2

log() { printf '[tools] %s\n' "$*" >&2; }

elapsed() { # seconds -> 3m12s
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

stamp_of() { printf '%s/%s-%s-r%s' "$STAMPS" "$1" "$2" "$RECIPE"; }

# Writes a wrapper module in $1 that requires module $2 at $3 and carries that module's own replace directives.
# (A replace in a dependency's go.mod is ignored by Go; the wrapper must repeat it to build the same code.)
write_wrapper_module() {
  local dir=$1 module=$2 gover=$3 name=$4
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init "orion.lab/tools/$name" >/dev/null 2>&1)
  local src
  src="$(cd "$dir" && go mod download -json "$module@$gover" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$src" && -f "$src/go.mod" ]] || { log "cannot download $module@$gover"; return 1; }
  local go_line
  go_line="$(grep -E '^go [0-9]' "$src/go.mod" | head -1 || true)"
  {
    echo "module orion.lab/tools/$name"
    echo
    echo "${go_line:-go 1.22}"
    echo
    echo "require $module $gover"
    echo
    extract_replaces "$src/go.mod"
  } >"$dir/go.mod"
}

# Prints the replace directives of a go.mod (single-line and block forms) as single lines; drops local-path ones.
extract_replaces() {
  awk '
    /^replace[[:space:]]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { line = $0; sub(/\/\/.*/, "", line); if (line ~ /=>/) print "replace " line; next }
    /^replace[[:space:]]/ { line = $0; sub(/\/\/.*/, "", line); print line }
  ' "$1" | awk '{ split($0, parts, "=>"); target = parts[2]; gsub(/^[ \t]+/, "", target);
                   if (target ~ /^\.\.?\// || target ~ /^\//) next; print }'
}

# build_go_binary NAME MODULE GOVER PACKAGE OUTPUT [LDFLAGS]: builds PACKAGE of MODULE@GOVER into OUTPUT.
build_go_binary() {
  local name=$1 module=$2 gover=$3 pkg=$4 out=$5 ldflags="-s -w ${6:-}"
  local dir="$TOOLS/build/$name-$gover" logf="$LOGS/build-$name-$gover.log"
  mkdir -p "$LOGS" "$(dirname "$out")"
  write_wrapper_module "$dir" "$module" "$gover" "$name"
  (
    cd "$dir"
    export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED="${CGO_ENABLED:-0}"
    go build -trimpath -ldflags="$ldflags" -o "$out.tmp" "$pkg"
  ) >"$logf" 2>&1 || { log "build of $name failed; see $logf"; tail -20 "$logf" >&2; return 1; }
  mv -f "$out.tmp" "$out"
}

install_tofu() {
  local stamp out="$TOOLS/bin/tofu"
  stamp="$(stamp_of tofu "$TOFU_GOVER")"
  if [[ -f "$stamp" && -x "$out" ]]; then return 0; fi
  local start=$SECONDS
  log "building tofu $TOFU_GOVER …"
  # As OpenTofu's release build does: without it the binary calls itself a -dev prerelease.
  build_go_binary tofu "$TOFU_MODULE" "$TOFU_GOVER" "$TOFU_MODULE/cmd/tofu" "$out" \
    "-X '$TOFU_MODULE/version.dev=no'"
  mkdir -p "$STAMPS" && touch "$stamp"
  log "building tofu $TOFU_GOVER … $(elapsed $((SECONDS - start)))"
}

# install_provider NS TYPE: builds one provider (pinned in versions.env as <TYPE>_MODULE/_GOVER/_VERSION/_CGO/_NOSUMDB)
# into the filesystem mirror, under both registry hosts (tofu uses registry.opentofu.org, terraform
# registry.terraform.io).
install_provider() {
  local ns=$1 type=$2 key
  key="$(echo "$type" | tr '[:lower:]' '[:upper:]')"
  local module_var="${key}_MODULE" gover_var="${key}_GOVER" version_var="${key}_VERSION" cgo_var="${key}_CGO"
  local nosumdb_var="${key}_NOSUMDB"
  local module=${!module_var} gover=${!gover_var} version=${!version_var} cgo=${!cgo_var:-0}
  # sum.golang.org has never seen some pseudo-versions the proxy serves (null's, see versions.env), and go
  # refuses a module it cannot verify. GONOSUMDB names only this module, so every dependency is still checked.
  local nosumdb=${GONOSUMDB:-}
  if [[ "${!nosumdb_var:-}" == 1 ]]; then nosumdb="${nosumdb:+$nosumdb,}$module"; fi
  if [[ -z "$gover" ]]; then
    log "skipping provider $ns/$type: no version of $module is pinned (see versions.env)"
    return 0
  fi
  local rel="$ns/$type/$version/$GOOS_ARCH"
  local out="$MIRROR/registry.opentofu.org/$rel/terraform-provider-${type}_v$version"
  local stamp
  stamp="$(stamp_of "provider-$ns-$type" "$version-$gover")"
  if [[ ! -f "$stamp" || ! -x "$out" ]]; then
    local start=$SECONDS
    log "building provider $ns/$type $version ($module@$gover) …"
    GONOSUMDB="$nosumdb" CGO_ENABLED="$cgo" build_go_binary "provider-$type" "$module" "$gover" "$module" "$out"
    mkdir -p "$STAMPS" && touch "$stamp"
    log "building provider $ns/$type $version … $(elapsed $((SECONDS - start)))"
  fi
  mkdir -p "$MIRROR/registry.terraform.io/$ns/$type/$version"
  ln -sfn "$MIRROR/registry.opentofu.org/$rel" "$MIRROR/registry.terraform.io/$rel"
}

write_cli_config() {
  local cfg="$TOOLS/tofurc" tmp
  tmp="$(mktemp "$TOOLS/.tofurc.XXXXXX")"
  cat >"$tmp" <<EOF
# Written by test/harness/tools/install.sh: providers come only from the local filesystem mirror.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["*/*/*"]
  }
  direct {
    exclude = ["*/*/*"]
  }
}
EOF
  if cmp -s "$tmp" "$cfg" 2>/dev/null; then rm -f "$tmp"; else mv -f "$tmp" "$cfg"; fi
}

core_providers() {
  install_provider hashicorp null
  install_provider hashicorp local
}

vm_providers() {
  install_provider dmacvicar libvirt
  install_provider telmate proxmox
}

main() {
  local target=${1:-all}
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/.install.lock"
  flock 9
  command -v go >/dev/null || { log "go is required to build the tools"; exit 1; }
  case "$target" in
    tofu) install_tofu ;;
    core) install_tofu && core_providers ;;
    providers) core_providers && vm_providers ;;
    all) install_tofu && core_providers && vm_providers ;;
    *) log "usage: $0 [tofu|core|providers|all]"; exit 2 ;;
  esac
  write_cli_config
}

main "$@"
