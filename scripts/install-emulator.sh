#!/usr/bin/env bash
# Installs ministack, the local AWS emulator the AWS tests run against, into its own
# virtualenv under .emu/ (it pins an exact botocore, which must not reach the project's
# .venv). Idempotent: does nothing when the pinned version is already there.
# See ../shared/AWS-LOCAL.md for why ministack (not moto, not DynamoDB Local).
set -euo pipefail

MINISTACK_VERSION="1.5.33"
cd "$(dirname "$0")/.."
EMU=".emu"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

installed() {
    [ -x "$EMU/bin/ministack" ] &&
        [ "$("$EMU/bin/python" -c 'import importlib.metadata as m; print(m.version("ministack"))' 2>/dev/null)" = "$MINISTACK_VERSION" ]
}

if installed; then
    echo "ministack $MINISTACK_VERSION already installed in $EMU/"
    exit 0
fi
test -x "$EMU/bin/python" || "$PYTHON" -m venv "$EMU"
"$EMU/bin/python" -m pip install --quiet --disable-pip-version-check "ministack==$MINISTACK_VERSION"
installed || { echo "install-emulator: $EMU/bin/ministack is missing after the install" >&2; exit 1; }
echo "ministack $MINISTACK_VERSION installed in $EMU/"
