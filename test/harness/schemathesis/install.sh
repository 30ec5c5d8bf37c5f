#!/usr/bin/env bash
# Installs schemathesis (PyPI) into a venv under the tools dir, once: $ORION_TOOLS_DIR/venv-schemathesis
# (default .tools/). The portal's contract test runs it against /api/v1/openapi.json of a running Orion.
set -euo pipefail
VERSION=4.32.5
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
tools=${ORION_TOOLS_DIR:-$root/.tools}
venv=$tools/venv-schemathesis
stamp=$tools/stamps/schemathesis-$VERSION
[ -f "$stamp" ] && [ -x "$venv/bin/st" ] && exit 0
mkdir -p "$tools/stamps"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  bash "$root/bin/install-system-deps.sh" test
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
"$venv/bin/st" --version
touch "$stamp"
