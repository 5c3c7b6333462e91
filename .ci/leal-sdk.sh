#!/usr/bin/env bash
# Runs every read and write call of the official Leal Python SDK (leal-sdk on PyPI)
# against a live stampd and checks each answer against the SDK's own models
# (tests/sdk/leal_sdk_check.py): a key the SDK requires that stampd does not send, or a
# value of the wrong type, fails the run.
#
# Environment: LEAL_SDK_VERSION (default 0.0.16), installed into target/venv-leal-sdk.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${LEAL_SDK_VERSION:-0.0.16}"
VENV=target/venv-leal-sdk
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('leal-sdk') != '$VERSION')" 2>/dev/null; then
    echo "installing leal-sdk $VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "leal-sdk==$VERSION"
fi

source .ci/stampd-server.sh
"$VENV/bin/python" tests/sdk/leal_sdk_check.py "$BASE" "$TOKEN" 1
