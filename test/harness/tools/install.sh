#!/usr/bin/env bash
# Builds the tools the tests run against — OpenTofu and Terraform providers — from their Go modules, into .tools/.
#
#   test/harness/tools/install.sh [tofu|core|providers|all]
#     tofu       .tools/bin/tofu
#     core       tofu + the hashicorp/local provider (what the runner tests need; the fast path)
#     providers  every provider: local, then libvirt and proxmox
#     all        tofu + every provider (default)
#
# Idempotent and cached: each build leaves a stamp keyed by its pinned version (versions.env); a run that finds
# every stamp does nothing. Concurrent runs serialize on a lock file. A tool that cannot be downloaded or built
# stops the script (exit 1) with one line naming it, its module@version and the registry's answer. Environment:
#   ORION_TOOLS_DIR  where to build (default <repo>/.tools)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
TOOLS="${ORION_TOOLS_DIR:-$REPO/.tools}"
LOGS="$TOOLS/logs"
LOG_TAG=tools
# shellcheck source=../go-tools.sh
source "$HERE/../go-tools.sh"
# shellcheck source=versions.env
source "$HERE/versions.env"

GOOS_ARCH="linux_amd64"
MIRROR="$TOOLS/providers"
STAMPS="$TOOLS/stamps"
# Bumped when the way a tool is built changes (flags, layout): part of every stamp, so it forces a rebuild.
RECIPE=2

stamp_of() { printf '%s/%s-%s-r%s' "$STAMPS" "$1" "$2" "$RECIPE"; }

install_tofu() {
  local stamp out="$TOOLS/bin/tofu"
  stamp="$(stamp_of tofu "$TOFU_GOVER")"
  if [[ -f "$stamp" && -x "$out" ]]; then return 0; fi
  local start=$SECONDS
  log "building tofu $TOFU_GOVER …"
  # As OpenTofu's release build does: without it the binary calls itself a -dev prerelease.
  EXTRA_LDFLAGS="-X '$TOFU_MODULE/version.dev=no'" \
    build_go_binary tofu "$TOFU_MODULE" "$TOFU_GOVER" "$TOFU_MODULE/cmd/tofu" "$out" || return 1
  mkdir -p "$STAMPS" && touch "$stamp"
  log "built tofu $TOFU_GOVER in $(elapsed $((SECONDS - start)))"
}

# install_provider NS TYPE: builds one provider (pinned in versions.env as <TYPE>_MODULE/_GOVER/_VERSION/_CGO)
# into the filesystem mirror, under both registry hosts (tofu uses registry.opentofu.org, terraform
# registry.terraform.io).
install_provider() {
  local ns=$1 type=$2 key
  key="$(echo "$type" | tr '[:lower:]' '[:upper:]')"
  local module_var="${key}_MODULE" gover_var="${key}_GOVER" version_var="${key}_VERSION" cgo_var="${key}_CGO"
  local module=${!module_var} gover=${!gover_var} version=${!version_var} cgo=${!cgo_var:-0}
  if [[ -z "$gover" ]]; then
    # Only Telmate/proxmox: documented in versions.env; its tests use the named Proxmox stand-in.
    log "not building provider $ns/$type: the module proxy serves no version of $module (see versions.env)"
    return 0
  fi
  local rel="$ns/$type/$version/$GOOS_ARCH"
  local out="$MIRROR/registry.opentofu.org/$rel/terraform-provider-${type}_v$version"
  local stamp
  stamp="$(stamp_of "provider-$ns-$type" "$version-$gover")"
  if [[ ! -f "$stamp" || ! -x "$out" ]]; then
    local start=$SECONDS
    log "building provider $ns/$type $version ($module@$gover) …"
    CGO_ENABLED="$cgo" build_go_binary "provider-$type" "$module" "$gover" "$module" "$out" || return 1
    mkdir -p "$STAMPS" && touch "$stamp"
    log "built provider $ns/$type $version in $(elapsed $((SECONDS - start)))"
  fi
  mkdir -p "$MIRROR/registry.terraform.io/$ns/$type/$version"
  ln -sfn "$MIRROR/registry.opentofu.org/$rel" "$MIRROR/registry.terraform.io/$rel"
}

write_cli_config() {
  local cfg="$TOOLS/tofurc" tmp
  tmp="$(mktemp "$TOOLS/.tofurc.XXXXXX")"
  cat >"$tmp" <<CONFIG
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
CONFIG
  if cmp -s "$tmp" "$cfg" 2>/dev/null; then rm -f "$tmp"; else mv -f "$tmp" "$cfg"; fi
}

core_providers() { install_provider hashicorp local; }

vm_providers() {
  install_provider dmacvicar libvirt || return 1
  install_provider telmate proxmox
}

main() {
  local target=${1:-all}
  case "$target" in
    tofu | core | providers | all) ;;
    *) log "usage: $0 [tofu|core|providers|all]"; exit 2 ;;
  esac
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/.install.lock"
  flock 9
  command -v go >/dev/null || { install_failed go "-" "go is required to build the tools and is not on PATH"; exit 1; }
  # Each step is checked explicitly: a function called from a condition runs without `set -e`.
  if [[ $target != providers ]]; then install_tofu || exit 1; fi
  if [[ $target != tofu ]]; then core_providers || exit 1; fi
  if [[ $target == providers || $target == all ]]; then vm_providers || exit 1; fi
  write_cli_config
}

main "$@"; exit  # on one line: bash stops reading here, so editing this file mid-run is safe
