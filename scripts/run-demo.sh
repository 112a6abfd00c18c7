#!/bin/sh
# run-demo.sh - what `make run` runs: chatgwd in the foreground with the
# embedded Redis and the demo store, and, once Redis answers, the demo agents
# (alice: pre-sales, bob: after-sales) and supervisor (sam) with fresh tokens.
# Ctrl-C stops chatgwd, which stops its Redis; this script exits with it.
set -u
cd "$(dirname "$0")/.."
mkdir -p -m 700 var   # transcripts: chatgwd would close it to others, with a warning
echo "chatgw: buyers connect to ws://127.0.0.1:8080/v1/buyer and say {\"t\":\"hello\",\"store\":\"demo\"};"
echo "chatgw: agents to ws://127.0.0.1:8080/v1/agent with {\"t\":\"login\",\"token\":...};"
echo "chatgw: health at http://127.0.0.1:8080/healthz, metrics at /metrics; data in ./var; Ctrl-C stops."
echo "chatgw: in a browser: the demo store (buyer widget) at http://127.0.0.1:8080/demo/"
echo "chatgw:               the agent desk at http://127.0.0.1:8080/desk/ (log in with alice's token below)"
echo "chatgw:               the supervisor floor at http://127.0.0.1:8080/floor/ (log in with sam's token below)"
build/chatgwd -c conf/demo.conf &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
# demo identities, once the embedded Redis is up (at most ~10 s)
i=0
while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
    if build/chatgwctl -c conf/demo.conf agent list >/dev/null 2>&1; then
        build/chatgwctl -c conf/demo.conf demo || echo "chatgw: could not create the demo agents" >&2
        break
    fi
    i=$((i + 1))
    sleep 0.1
done
wait "$pid"
rc=$?
# a signal interrupted wait: wait again for chatgwd's own exit status
while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    rc=$?
done
exit $rc
