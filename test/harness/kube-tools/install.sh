#!/usr/bin/env bash
# Builds or installs the tools of the Kubernetes test harness (test/harness/kube.ts) into .tools/bin/.
#
#   test/harness/kube-tools/install.sh [apiserver|etcd|helm|all]
#     apiserver  .tools/bin/kube-apiserver, built from the k8s.io/kubernetes Go module (minutes, once)
#     etcd       .tools/bin/etcd, Debian's etcd-server (apt-get) or built from go.etcd.io/etcd/server/v3
#     helm       .tools/bin/helm, built from the helm.sh/helm/v3 Go module
#     all        the three (default)
#
# Idempotent and cached: each tool leaves a stamp keyed by its pinned version (versions.env); a run that finds
# every stamp returns at once without calling go or apt. Concurrent runs serialize on a lock file. Build logs go
# to .tools/logs/. Environment:
#   ORION_TOOLS_DIR  where to build (default <repo>/.tools)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
TOOLS="${ORION_TOOLS_DIR:-$REPO/.tools}"
# shellcheck source=versions.env
source "$HERE/versions.env"

BIN="$TOOLS/bin"
LOGS="$TOOLS/logs"

STAMPS="$TOOLS/stamps"
LOG_TAG=kube-tools
# shellcheck source=../go-tools.sh
source "$HERE/../go-tools.sh"

stamp_of() { printf '%s/%s-%s' "$STAMPS" "$1" "$2"; }

is_installed() { # NAME VERSION BINARY
  [[ -f "$(stamp_of "$1" "$2")" && -x "$3" ]]
}

mark_installed() { mkdir -p "$STAMPS" && touch "$(stamp_of "$1" "$2")"; }

install_apiserver() {
  local out="$BIN/kube-apiserver"
  is_installed kube-apiserver "$KUBE_GOVER" "$out" && return 0
  local start=$SECONDS
  log "building kube-apiserver $KUBE_GOVER (staging modules at $KUBE_STAGING_GOVER); this takes minutes …"
  # The version stamps of kubernetes' hack/lib/version.sh, so that /version and kubectl report the release.
  local major minor flags="" pkg
  major="$(echo "${KUBE_GOVER#v}" | cut -d. -f1)"
  minor="$(echo "${KUBE_GOVER#v}" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_GOVER -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  EXTRA_LDFLAGS="$flags" build_go_binary kube-apiserver "$KUBE_MODULE" "$KUBE_GOVER" "$KUBE_MODULE/cmd/kube-apiserver" \
    "$out" "$KUBE_STAGING_GOVER" || return 1
  mark_installed kube-apiserver "$KUBE_GOVER"
  log "built kube-apiserver $KUBE_GOVER in $(elapsed $((SECONDS - start)))"
}

install_helm() {
  local out="$BIN/helm"
  is_installed helm "$HELM_GOVER" "$out" && return 0
  local start=$SECONDS
  log "building helm $HELM_GOVER …"
  # What helm's Makefile stamps in: its version, and the Kubernetes version `helm template` and `helm lint`
  # assume (1.<minor of its k8s.io/client-go>; without it helm says 1.20 and charts needing newer fail to render).
  local minor=$HELM_K8S_MINOR
  local pkgs="$HELM_MODULE/pkg"
  EXTRA_LDFLAGS="-X $HELM_MODULE/internal/version.version=$HELM_GOVER -X $HELM_MODULE/internal/version.gitTreeState=clean \
-X $pkgs/lint/rules.k8sVersionMajor=1 -X $pkgs/lint/rules.k8sVersionMinor=$minor \
-X $pkgs/chartutil.k8sVersionMajor=1 -X $pkgs/chartutil.k8sVersionMinor=$minor" \
    build_go_binary helm "$HELM_MODULE" "$HELM_GOVER" "$HELM_MODULE/cmd/helm" "$out" || return 1
  mark_installed helm "$HELM_GOVER"
  log "built helm $HELM_GOVER in $(elapsed $((SECONDS - start)))"
}

install_etcd() {
  local out="$BIN/etcd" key
  key="$ETCD_SOURCE-$([[ $ETCD_SOURCE == go ]] && echo "$ETCD_GOVER" || echo package)"
  is_installed etcd "$key" "$out" && return 0
  local start=$SECONDS
  case "$ETCD_SOURCE" in
    debian)
      if ! dpkg-query -W -f='${Status}' etcd-server 2>/dev/null | grep -q 'install ok installed'; then
        log "installing Debian's etcd-server …"
        [[ -f "$STAMPS/apt-updated" ]] || { apt-get update -qq && mkdir -p "$STAMPS" && touch "$STAMPS/apt-updated"; }
        # The package ships a service; no init system runs here, and the harness starts etcd itself.
        DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends etcd-server \
          >"$LOGS/apt-etcd-server.log" 2>&1 || { log "apt-get install etcd-server failed; see $LOGS/apt-etcd-server.log"; return 1; }
      fi
      mkdir -p "$BIN"
      ln -sfn "$(command -v etcd || echo /usr/bin/etcd)" "$out"
      ;;
    go)
      log "building etcd $ETCD_GOVER …"
      build_go_binary etcd "$ETCD_MODULE" "$ETCD_GOVER" "$ETCD_MODULE" "$out" || return 1
      ;;
    *) log "ETCD_SOURCE must be debian or go"; return 2 ;;
  esac
  "$out" --version | head -1 >&2
  mark_installed etcd "$key"
  log "etcd ready ($ETCD_SOURCE) in $(elapsed $((SECONDS - start)))"
}

all_installed() { # TARGET
  local etcd_key="$ETCD_SOURCE-$([[ $ETCD_SOURCE == go ]] && echo "$ETCD_GOVER" || echo package)"
  case "$1" in
    apiserver) is_installed kube-apiserver "$KUBE_GOVER" "$BIN/kube-apiserver" ;;
    etcd) is_installed etcd "$etcd_key" "$BIN/etcd" ;;
    helm) is_installed helm "$HELM_GOVER" "$BIN/helm" ;;
    all) all_installed apiserver && all_installed etcd && all_installed helm ;;
    *) return 1 ;;
  esac
}

main() {
  local target=${1:-all}
  case "$target" in
    apiserver | etcd | helm | all) ;;
    *) log "usage: $0 [apiserver|etcd|helm|all]"; exit 2 ;;
  esac
  all_installed "$target" && return 0
  mkdir -p "$TOOLS" "$LOGS"
  exec 9>"$TOOLS/.kube-install.lock"
  flock 9
  command -v go >/dev/null || { install_failed go "-" "go is required to build the tools and is not on PATH"; exit 1; }
  # Each step is checked explicitly: a function called from a condition runs without `set -e`.
  case "$target" in
    apiserver) install_apiserver || exit 1 ;;
    etcd) install_etcd || exit 1 ;;
    helm) install_helm || exit 1 ;;
    all) install_etcd || exit 1; install_helm || exit 1; install_apiserver || exit 1 ;;
  esac
}

main "$@"; exit  # on one line: bash stops reading here, so editing this file mid-run is safe
