#!/usr/bin/env bash
# Installs cfn-lint and checkov, the linters of the CloudFormation template
# (deploy/cloudformation/levelforge.yaml), into their own virtualenv under .iac/: checkov
# brings many pinned dependencies that must not reach the project's .venv (the same reason
# ministack lives in .emu/). Idempotent: does nothing when the pinned versions are there.
set -euo pipefail

CFN_LINT_VERSION="1.58.0"
CHECKOV_VERSION="3.3.30"
cd "$(dirname "$0")/.."
VENV=".iac"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

version() {
    "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null
}

installed() {
    [ -x "$VENV/bin/cfn-lint" ] && [ -x "$VENV/bin/checkov" ] &&
        [ "$(version cfn-lint)" = "$CFN_LINT_VERSION" ] && [ "$(version checkov)" = "$CHECKOV_VERSION" ]
}

if installed; then
    echo "cfn-lint $CFN_LINT_VERSION and checkov $CHECKOV_VERSION already installed in $VENV/"
    exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION"
installed || { echo "install-iac-linters: cfn-lint or checkov is missing from $VENV/ after the install" >&2; exit 1; }
echo "cfn-lint $CFN_LINT_VERSION and checkov $CHECKOV_VERSION installed in $VENV/"
