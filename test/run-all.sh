#!/usr/bin/env bash
# The test command (npm test): installs what the tests need when it is missing, then runs lint, the
# build and every test against the real components (sshd, Ansible, OpenTofu). Safe to run again: each
# install step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages: sshd, Ansible, ansible-lint, promtool, sudo, nsenter (see bin/install-system-deps.sh).
step "system packages"
bash bin/install-system-deps.sh test

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "OpenTofu and providers (built from Go modules into .tools/, cached)"
bash test/harness/tools/install.sh all

step "bootable Debian guest for the Lab end-to-end test (debootstrap into .tools/guest/, cached)"
bash test/harness/guest/build-image.sh

step "kube-apiserver, etcd and helm (built from Go modules into .tools/, cached)"
bash test/harness/kube-tools/install.sh all

step "lint"
npm run --silent lint

step "build"
npm run --silent build

step "tests"
results=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# The plain closing line CI reads: "N passed, N failed".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$results" || true
rm -f "$results"
exit "$status"
