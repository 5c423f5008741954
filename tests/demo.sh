#!/bin/sh
# make demo: one chat reply.  From the real gateway when WISP_API_KEY is set,
# otherwise from the bundled local server over TLS (a CA made for this run).
set -u
CHAT=${WISP_CHAT:-build/wisp-chat}
PROMPT=${WISP_DEMO_PROMPT:-"Say hello to a firmware engineer in one short sentence."}

if [ -n "${WISP_API_KEY:-}" ]; then
    url=${WISP_BASE_URL:-https://api.evolink.ai/v1}
    echo "wisp demo: asking $url (model ${WISP_MODEL:-gemini-2.5-flash}) with your WISP_API_KEY" >&2
    exec "$CHAT" -v "$PROMPT"
fi

tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
python3 tests/server.py --port-file "$tmp/ports.json" --tls-dir "$tmp/tls" --max-seconds 120 \
    </dev/null >"$tmp/server.log" 2>&1 &
server=$!
i=0
while [ ! -s "$tmp/ports.json" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $server 2>/dev/null; then
        echo "wisp demo: the local test server did not start:" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"tls-good\"])" "$tmp/ports.json")
ca=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"tls_dir\"])" "$tmp/ports.json")/ca.pem
echo "wisp demo: no WISP_API_KEY set, so talking TLS to the bundled local server" >&2
echo "wisp demo: https://127.0.0.1:$port/s/demo/v1 (set WISP_API_KEY to ask the real gateway)" >&2
env -u WISP_BASE_URL -u OPENAI_BASE_URL -u OPENAI_API_KEY \
    "$CHAT" -v --cacert "$ca" -u "https://127.0.0.1:$port/s/demo/v1" "$PROMPT"
