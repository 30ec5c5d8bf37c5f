# Sourced by the harness's installers (tools/, kube-tools/, kstatus/): builds one binary from a pinned Go module
# into .tools/, and when it cannot, stops with one line that names the tool, the module@version and what the
# registry answered. Callers set LOG_TAG, TOOLS and LOGS before sourcing.
#
#   build_go_binary NAME MODULE VERSION PACKAGE OUTPUT [STAGING_VERSION]
#     EXTRA_LDFLAGS  more -ldflags (version stamps)
#     CGO_ENABLED    default 0
#     GONOSUMDB      passed through

log() { printf '[%s] %s\n' "${LOG_TAG:-tools}" "$*" >&2; }

elapsed() { # seconds -> 3m12s
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# The one line a failed install ends with; the caller exits non-zero after it.
install_failed() { # TOOL MODULE@VERSION WHAT
  printf '[%s] FAILED: %s (%s): %s\n' "${LOG_TAG:-tools}" "$1" "$2" "$3" >&2
}

# The first line of a go command's output that carries the registry's answer (403/404/410, "not available", ...).
registry_answer() { # LOGFILE
  grep -m1 -E 'server response|[^0-9](403|404|410) |not available|unknown revision|invalid version|checksum mismatch|no matching versions|dial tcp|timeout' "$1" \
    | sed -E 's/^[[:space:]]+//' | cut -c1-300
}

# Directory of MODULE@VERSION in the module cache (downloads it). On failure prints the registry's answer on stdout
# and returns 1. Run inside a module directory.
module_dir() { # MODULE VERSION
  local json
  json="$(go mod download -json "$1@$2" 2>&1 || true)"
  local dir error
  dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' | head -1)"
  if [[ -n "$dir" && -f "$dir/go.mod" ]]; then printf '%s\n' "$dir"; return 0; fi
  error="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p' | head -1 | sed 's/\\n.*//; s/\\t/ /g')"
  printf '%s\n' "${error:-$(printf '%s' "$json" | tail -1 | cut -c1-300)}"
  return 1
}

# Prints the replace directives of a go.mod (single-line and block forms) as `replace A => B` lines.
replaces_of() { # GO_MOD
  awk '
    /^replace[[:space:]]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { line = $0; sub(/\/\/.*/, "", line); if (line ~ /=>/) print "replace " line; next }
    /^replace[[:space:]]/ { line = $0; sub(/\/\/.*/, "", line); print line }
  ' "$1"
}

# Replace lines for a wrapper module: a local `./staging/src/k8s.io/X` target becomes the published
# `k8s.io/X STAGING_VERSION` (when one is given); other local targets are dropped; remote targets are kept.
# (Go ignores a dependency's replace directives, so the wrapper must repeat them to build the same code.)
wrapper_replaces() { # GO_MOD [STAGING_VERSION]
  replaces_of "$1" | awk -v staging="${2:-}" '{
    split($0, parts, "=>"); target = parts[2]; gsub(/^[ \t]+|[ \t]+$/, "", target)
    if (target ~ /^\.\/staging\/src\//) {
      if (staging == "") next
      sub(/^\.\/staging\/src\//, "", target); print parts[1] "=> " target " " staging; next
    }
    if (target ~ /^\.\.?\// || target ~ /^\//) next
    print
  }'
}

# A module in DIR that requires MODULE@VERSION with MODULE's own replace directives. Prints the registry's answer
# and returns 1 when the module cannot be downloaded.
write_wrapper_module() { # DIR NAME MODULE VERSION [STAGING_VERSION]
  local dir=$1 name=$2 module=$3 version=$4 staging=${5:-}
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init "orion.lab/tools/$name" >/dev/null 2>&1)
  local src
  src="$(cd "$dir" && module_dir "$module" "$version")" || { printf '%s\n' "$src"; return 1; }
  local go_line
  go_line="$(grep -E '^go [0-9]' "$src/go.mod" | head -1 || true)"
  {
    echo "// Written by test/harness/go-tools.sh: builds $module@$version."
    echo "module orion.lab/tools/$name"
    echo
    echo "${go_line:-go 1.22}"
    echo
    echo "require $module $version"
    echo
    wrapper_replaces "$src/go.mod" "$staging"
  } >"$dir/go.mod"
}

# Runs a command with its output in LOGFILE, printing a progress line every 30 s (a large build takes minutes).
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

# Builds PACKAGE of MODULE@VERSION into OUTPUT. On failure prints the FAILED line and returns 1.
build_go_binary() { # NAME MODULE VERSION PACKAGE OUTPUT [STAGING_VERSION]
  local name=$1 module=$2 version=$3 pkg=$4 out=$5 staging=${6:-}
  local dir="$TOOLS/build/$name-$version" logf="$LOGS/build-$name-$version.log"
  mkdir -p "$LOGS" "$(dirname "$out")"
  : >"$logf"
  local answer
  if ! answer="$(write_wrapper_module "$dir" "$name" "$module" "$version" "$staging")"; then
    install_failed "$name" "$module@$version" "the module proxy refused the download: ${answer:-no answer}"
    return 1
  fi
  if ! (
    cd "$dir"
    export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED="${CGO_ENABLED:-0}"
    run_logged "$name" "$logf" go build -v -trimpath -ldflags="-s -w ${EXTRA_LDFLAGS:-}" -o "$out.tmp" "$pkg"
  ); then
    tail -20 "$logf" >&2
    answer="$(registry_answer "$logf")"
    install_failed "$name" "$module@$version" "${answer:+a dependency could not be downloaded: $answer; }build failed, see $logf"
    return 1
  fi
  mv -f "$out.tmp" "$out"
}
