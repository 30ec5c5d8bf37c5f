#!/usr/bin/env bash
# The test command (npm test): installs what the tests need when it is missing, then runs lint, the
# build and every test against the real components (sshd, Ansible, OpenTofu). Safe to run again: each
# install step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages: sshd and ssh-keygen for the workers, Ansible (+ ansible-lint), promtool for metrics,
# util-linux/iproute2 for the workers' namespaces, sudo (visudo) for tenant sudoers drop-ins.
need_packages=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need_packages+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_packages+=(openssh-client)
command -v ansible-playbook >/dev/null 2>&1 || need_packages+=(ansible)
command -v ansible-lint >/dev/null 2>&1 || need_packages+=(ansible-lint)
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
command -v nsenter >/dev/null 2>&1 || need_packages+=(util-linux)
command -v visudo >/dev/null 2>&1 || [ -x /usr/sbin/visudo ] || need_packages+=(sudo)
if [ ${#need_packages[@]} -gt 0 ]; then
  step "installing Debian packages: ${need_packages[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "root is needed to install ${need_packages[*]} (and to run the SSH workers)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "OpenTofu and providers (built from Go modules into .tools/, cached)"
bash test/harness/tools/install.sh core

step "lint"
npm run --silent lint

step "build"
npm run --silent build

step "tests"
npx vitest run "$@"
