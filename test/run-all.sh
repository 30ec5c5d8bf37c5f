#!/usr/bin/env bash
# The test command (npm test): installs what the tests need when it is missing, then runs lint, the
# build and every test against the real components (sshd, Ansible, OpenTofu, libvirt, kube-apiserver). Safe to
# run again: each install step is skipped when its result is already there.
#
# It always ends with one plain line, "N passed, N failed", that agrees with its exit code: a step that fails
# before the tests (an install, lint, the build) ends the run at once with "0 passed, 1 failed" and its name.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

elapsed() { # seconds -> 3m12s
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

run_start=$SECONDS
current_step=""
step_start=$SECONDS
timings=()
end_step() {
  [[ -n $current_step ]] && timings+=("$(printf '%-70s %s' "$current_step" "$(elapsed $((SECONDS - step_start)))")")
  current_step=""
}
step() {
  end_step
  current_step=$*
  step_start=$SECONDS
  printf '\n==> %s\n' "$*"
}
print_timings() {
  end_step
  printf '\n==> durations\n'
  printf '  %s\n' "${timings[@]}"
  printf '  %-70s %s\n' "total" "$(elapsed $((SECONDS - run_start)))"
}
# A step that fails before the summary: say which, and close with the plain line.
on_exit() {
  local code=$?
  stop_background
  if [[ $code -ne 0 && -z ${summarized:-} ]]; then
    local failed_step=$current_step
    print_timings
    printf '\nstep failed: %s (exit code %d)\n' "${failed_step:-setup}" "$code"
    echo "0 passed, 1 failed"
  fi
}
trap on_exit EXIT

# Steps run in the background beside the next ones: the guest images are network and disk work (debootstrap), the Go
# tools compiler work. Each writes its output to a log, shown when the run waits for it; a failure ends the run there.
bg_dir=$(mktemp -d)
background_step() {
  local id=$1 name=$2
  shift 2
  printf '\n==> %s (started in the background)\n' "$name"
  printf '%s' "$name" >"$bg_dir/$id.name"
  (
    started=$SECONDS
    rc=0
    "$@" >"$bg_dir/$id.log" 2>&1 || rc=$?
    echo "$rc $((SECONDS - started))" >"$bg_dir/$id.done"
  ) &
  echo $! >"$bg_dir/$id.pid"
}
await_background() {
  local id=$1 name rc took
  name=$(cat "$bg_dir/$id.name")
  step "$name (waiting for its background build)"
  wait "$(cat "$bg_dir/$id.pid")" || true
  rm -f "$bg_dir/$id.pid"
  cat "$bg_dir/$id.log"
  read -r rc took <"$bg_dir/$id.done"
  printf 'built in %s, beside the steps above\n' "$(elapsed "$took")"
  if [[ $rc -ne 0 ]]; then
    echo "$name: failed (exit code $rc)"
    return "$rc"
  fi
}
stop_background() {
  local pidfile
  for pidfile in "$bg_dir"/*.pid; do
    [[ -e $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null
  done
  return 0
}

# Debian packages: sshd, Ansible, ansible-lint, promtool, sudo, libvirt, QEMU ... (see bin/install-system-deps.sh).
step "system packages"
bash bin/install-system-deps.sh test

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

background_step guest "bootable Debian guest for the Lab end-to-end test (debootstrap into .tools/guest/, cached)" \
  bash test/harness/guest/build-image.sh
background_step desktop "desktop guest for the Desktop end-to-end test (XFCE, xrdp, AD client packages; debootstrap into .tools/guest-desktop/, cached)" \
  bash test/harness/guest/build-desktop-image.sh

step "OpenTofu and providers (built from Go modules into .tools/, cached)"
bash test/harness/tools/install.sh all

step "kube-apiserver, etcd and helm (built from Go modules into .tools/, cached)"
bash test/harness/kube-tools/install.sh all

step "kstatus, Flux's status library, for the GitOps health tests (built from test/harness/kstatus into .tools/, cached)"
bash test/harness/kstatus/install.sh

step "Dex for the OpenID Connect login test (built from its Go module into .tools/, cached)"
bash test/harness/dex/install.sh

step "lint"
npm run --silent lint

step "build"
npm run --silent build

await_background guest
await_background desktop

step "tests"
results=$(mktemp)
vitest_status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || vitest_status=$?
print_timings
summarized=1
# The plain closing line CI reads, "N passed, N failed", and the exit code that agrees with it.
status=0
npx tsx test/harness/summary.ts "$results" "$vitest_status" || status=$?
rm -f "$results"
exit "$status"
