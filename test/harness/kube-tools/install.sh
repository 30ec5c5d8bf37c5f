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
STAMPS="$TOOLS/stamps"
LOGS="$TOOLS/logs"

log() { printf '[kube-tools] %s\n' "$*" >&2; }

elapsed() { # seconds -> 3m12s
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

stamp_of() { printf '%s/%s-%s' "$STAMPS" "$1" "$2"; }

is_installed() { # NAME VERSION BINARY
  [[ -f "$(stamp_of "$1" "$2")" && -x "$3" ]]
}

mark_installed() { mkdir -p "$STAMPS" && touch "$(stamp_of "$1" "$2")"; }

# Directory of a downloaded module (downloads it into the module cache if needed).
module_dir() { # MODULE VERSION (run inside a module directory)
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# Prints the replace directives of a go.mod (single-line and block forms) as `replace A => B` lines.
replaces_of() {
  awk '
    /^replace[[:space:]]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { line = $0; sub(/\/\/.*/, "", line); if (line ~ /=>/) print "replace " line; next }
    /^replace[[:space:]]/ { line = $0; sub(/\/\/.*/, "", line); print line }
  ' "$1"
}

# Rewrites replace lines for a wrapper module: a local `./staging/src/k8s.io/X` target becomes the published
# `k8s.io/X STAGING_VERSION`; other local targets are dropped; remote targets are kept as they are.
# (A dependency's replace directives are ignored by Go, so the wrapper must repeat them.)
wrapper_replaces() { # GO_MOD STAGING_VERSION
  replaces_of "$1" | awk -v staging="$2" '{
    split($0, parts, "=>"); target = parts[2]; gsub(/^[ \t]+|[ \t]+$/, "", target)
    if (target ~ /^\.\/staging\/src\//) {
      if (staging == "") next
      sub(/^\.\/staging\/src\//, "", target); print parts[1] "=> " target " " staging; next
    }
    if (target ~ /^\.\.?\// || target ~ /^\//) next
    print
  }'
}

# write_wrapper_module DIR NAME MODULE VERSION [STAGING_VERSION]: a module in DIR that requires MODULE@VERSION
# with MODULE's own replace directives (staging ones pointed at STAGING_VERSION).
write_wrapper_module() {
  local dir=$1 name=$2 module=$3 version=$4 staging=${5:-}
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init "orion.lab/tools/$name" >/dev/null 2>&1)
  local src
  src="$(cd "$dir" && module_dir "$module" "$version")"
  [[ -n "$src" && -f "$src/go.mod" ]] || { log "cannot download $module@$version"; return 1; }
  local go_line
  go_line="$(grep -E '^go [0-9]' "$src/go.mod" | head -1 || true)"
  {
    echo "// Written by test/harness/kube-tools/install.sh: builds $module@$version."
    echo "module orion.lab/tools/$name"
    echo
    echo "${go_line:-go 1.22}"
    echo
    echo "require $module $version"
    echo
    wrapper_replaces "$src/go.mod" "$staging"
  } >"$dir/go.mod"
}

# Runs a command with its output in LOGFILE, printing a progress line (elapsed time, packages built so far)
# every 30 s, since a kube-apiserver build takes minutes.
run_logged() { # LABEL LOGFILE COMMAND...
  local label=$1 logf=$2
  shift 2
  local start=$SECONDS
  "$@" >>"$logf" 2>&1 &
  local pid=$! ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((++ticks % 30 == 0)); then
      log "  $label: $(elapsed $((SECONDS - start))), $(wc -l <"$logf") log lines (packages) so far"
    fi
  done
  wait "$pid"
}

# build_go_binary NAME MODULE VERSION PACKAGE OUTPUT [STAGING_VERSION]
build_go_binary() {
  local name=$1 module=$2 version=$3 pkg=$4 out=$5 staging=${6:-}
  local dir="$TOOLS/build/$name-$version" logf="$LOGS/build-$name-$version.log"
  mkdir -p "$LOGS" "$BIN"
  log "  resolving $module@$version (module download; log $logf)"
  write_wrapper_module "$dir" "$name" "$module" "$version" "$staging" 2>"$logf"
  if ! (
    cd "$dir"
    export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED="${CGO_ENABLED:-0}"
    run_logged "$name" "$logf" go build -v -trimpath -ldflags="-s -w ${EXTRA_LDFLAGS:-}" -o "$out.tmp" "$pkg"
  ); then
    log "build of $name failed; see $logf"
    tail -20 "$logf" >&2
    return 1
  fi
  mv -f "$out.tmp" "$out"
}

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
    "$out" "$KUBE_STAGING_GOVER"
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
    build_go_binary helm "$HELM_MODULE" "$HELM_GOVER" "$HELM_MODULE/cmd/helm" "$out"
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
      build_go_binary etcd "$ETCD_MODULE" "$ETCD_GOVER" "$ETCD_MODULE" "$out"
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
  command -v go >/dev/null || { log "go is required to build the tools"; exit 1; }
  case "$target" in
    apiserver) install_apiserver ;;
    etcd) install_etcd ;;
    helm) install_helm ;;
    all) install_etcd && install_helm && install_apiserver ;;
  esac
}

main "$@"; exit  # on one line: bash stops reading here, so editing this file mid-run is safe
