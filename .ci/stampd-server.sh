# Sourced by the CI scripts that need a live stampd: builds target/debug/stampd, starts it
# on a free port with a fresh database and config (rate limits off), and sets BASE (its
# URL), TOKEN (the token it prints on first start), WORK (a temp dir, removed on exit)
# and SERVER_PID (stopped on exit).

cargo build --quiet --bin stampd
BIN=target/debug/stampd

WORK="$(mktemp -d "${TMPDIR:-/tmp}/stampd-ci.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/config.toml" <<'EOF'
# Fresh configuration for a CI run against a live server.
bind = "127.0.0.1:0"
database = "stampd.db"
log_level = "info"
backup_interval_hours = 0
EOF

# No STAMPD_* settings from the caller; rate limits off so the fuzzer is never throttled.
for v in $(env | sed -n 's/^\(STAMPD_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
STAMPD_RATE_LIMIT_PER_MINUTE=0 RUST_LOG= "$BIN" --config "$WORK/config.toml" \
    --db "$WORK/stampd.db" serve --bind 127.0.0.1:0 \
    >"$WORK/stdout.log" 2>"$WORK/server.log" &
SERVER_PID=$!

# The first start prints: curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:PORT/api/v1/accounts
TOKEN="" BASE=""
for _ in $(seq 1 300); do
    line="$(grep -m1 'Authorization: Bearer' "$WORK/stdout.log" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then
        TOKEN="$(sed -E 's/.*Bearer ([^"]+)".*/\1/' <<<"$line")"
        BASE="$(sed -E 's#.*(http://[^/ ]+)/api/v1/accounts.*#\1#' <<<"$line")"
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "stampd exited at start:" >&2
        cat "$WORK/stdout.log" "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ -z "$TOKEN" || -z "$BASE" ]]; then
    echo "stampd did not print its first token within 30 s" >&2
    cat "$WORK/stdout.log" "$WORK/server.log" >&2
    exit 1
fi
echo "stampd serving at $BASE"

