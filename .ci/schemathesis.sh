#!/usr/bin/env bash
# Fuzzes the live API against its own OpenAPI document with schemathesis (PyPI).
#
# Starts target/debug/stampd (built here if needed) on a free port with a fresh database
# and config (rate limits off), takes the token it prints on first start, creates a card,
# rewards, customers, stamps and deliveries so that the ids 1..3 lead to data, and runs
# `schemathesis run` against /api/v1/openapi.json with the checks for server errors and
# response conformance. One worker: hypothesis' lambda descriptions call ast.parse, which
# is not thread-safe on some Python versions ("AST constructor recursion depth mismatch").
# Bounded: a small --max-examples and `timeout` around the run.
# The document is first checked with openapi-spec-validator. Exits non-zero on any
# failure, or when the server logged an internal error or panic.
#
# Environment:
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation (default 25)
#   SCHEMATHESIS_TIMEOUT       seconds for the whole run (default 600)
#   SCHEMATHESIS_VERSION       version installed into target/venv (default 4.32.5)
#   SCHEMATHESIS_SEED          a seed for a reproducible run (default: random)
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
RUN_TIMEOUT="${SCHEMATHESIS_TIMEOUT:-600}"
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
VALIDATOR_VERSION=0.9.0
VENV=target/venv
ST="$VENV/bin/schemathesis"

# ---- schemathesis (and openapi-spec-validator) in a venv under target/ -----------------
if ! "$ST" --version 2>/dev/null | grep -q "version $VERSION\$" ||
    ! [[ -x "$VENV/bin/openapi-spec-validator" ]]; then
    echo "installing schemathesis $VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi
"$ST" --version

# ---- the server ----------------------------------------------------------------------
source .ci/stampd-server.sh

# ---- the document is valid OpenAPI 3.0 ----------------------------------------------
curl -fsS "$BASE/api/v1/openapi.json" -o "$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"

# ---- data, so that paths with ids 1..3 lead somewhere ---------------------------------
api() { # METHOD PATH [JSON]
    curl -fsS -o /dev/null -X "$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$BASE/api/v1/accounts/1$2"
}
api POST /cards '{"card": {"name": "Coffee", "stamps_required": 10, "initial_stamps": 1}}'
api POST /cards '{"card": {"name": "Cake", "stamps_required": 5, "stamp_icon": "cake", "strip_type": "preset", "strip_preset": "pastry"}}'
api POST /cards '{"card": {"name": "Old", "archived": true}}'
api POST /rewards '{"reward": {"card_id": 1, "name": "Free coffee", "stamps_required": 3}}'
api POST /rewards '{"reward": {"card_id": 1, "name": "Big coffee", "stamps_required": 9, "active": false}}'
api POST /rewards '{"reward": {"card_id": 2, "name": "Cake", "stamps_required": 5}}'
api POST /customers '{"customer": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "phone": "+14155550132", "birthday": "1990-05-01", "metadata": {"tier": "gold"}, "external_references": [{"source": "pos", "external_id": "A-1"}]}, "card_id": 1, "send_card_links": true}'
api POST /customers '{"customer": {"first_name": "Bob", "phone": "+14155550133"}, "card_id": 2}'
api POST /customers '{"customer": {"first_name": "Cy", "email": "cy@example.com"}, "card_id": 1}'
for _ in 1 2 3 4; do api POST /customers/1/customer_cards/1/stamp '{"stamps": 2}'; done
api POST /customers/1/customer_cards/1/redeem '{"reward_id": 1}'
api POST /customers/2/customer_cards/2/stamp '{"stamps": 5}'
# Disposable: customers, rewards, locations and posters 4-5 are what DELETE gets.
api POST /customers '{"customer": {"first_name": "Dee", "email": "dee@example.com"}, "card_id": 1}'
api POST /customers '{"customer": {"first_name": "Eve", "phone": "+14155550135"}}'
api POST /rewards '{"reward": {"card_id": 2, "name": "Spare 1", "stamps_required": 2}}'
api POST /rewards '{"reward": {"card_id": 2, "name": "Spare 2", "stamps_required": 2}}'
for i in 1 2 3 4 5; do
    api POST /locations "{\"location\": {\"name\": \"Shop $i\", \"address\": \"$i Main St\", \"latitude\": 37.7, \"longitude\": -122.4}}"
    api POST /posters "{\"poster\": {\"card_id\": 1, \"title\": \"Poster $i\"}}"
done

# ---- the run -------------------------------------------------------------------------
cat >"$WORK/schemathesis.toml" <<'EOF'
# Path ids mostly from the data above (1..3); otherwise generated (404s).
[dictionaries.account]
values = [1]
[dictionaries.ids]
values = [1, 2, 3]

[parameters]
"path.account_id" = { dictionary = "account", probability = 0.9 }
"path.customer_id" = { dictionary = "ids", probability = 0.8 }
"path.id" = { dictionary = "ids", probability = 0.8 }
"query.search" = { dictionary = "search", probability = 0.3 }

# Searches reach the full-text index: mix in text known to be hard for it.
[dictionaries.search]
values = ["a\u0000bc", "'; DROP TABLE customers; --", "\"\"\"", "%_*", "NEAR(a b)", "555 0132", "ann", "A-1"]

# Deleting erases: keep the data above for the other operations.
[dictionaries.disposable]
values = [4, 5]

[[operations]]
include-operation-id = ["eraseCustomer", "deleteReward", "deleteLocation", "deletePoster"]
[operations.parameters]
"path.account_id" = { dictionary = "account", probability = 0.9 }
"path.id" = { dictionary = "disposable", probability = 0.8 }
EOF

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
# Run from target/schemathesis so that its example database (failures found before are
# tried again first) and caches stay out of the source tree.
mkdir -p target/schemathesis
ROOT="$PWD"
set +e
(cd target/schemathesis && timeout --signal=INT --kill-after=30 "$RUN_TIMEOUT" \
    "$ROOT/$ST" --config-file "$WORK/schemathesis.toml" run "$BASE/api/v1/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 20 \
    --workers 1 \
    --no-color \
    ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"})
status=$?
set -e
if [[ $status -eq 124 ]]; then
    echo "schemathesis did not finish within ${RUN_TIMEOUT}s" >&2
fi

# The server must have stayed up and logged no internal error.
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "stampd died during the run" >&2
    tail -n 50 "$WORK/server.log" >&2
    status=1
fi
if grep -E "internal error|panicked" "$WORK/server.log" >&2; then
    echo "stampd logged internal errors during the run (above)" >&2
    status=1
fi
kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

if [[ $status -ne 0 ]]; then
    echo "schemathesis: FAILED (exit $status)" >&2
    exit "$status"
fi
echo "schemathesis: passed"
