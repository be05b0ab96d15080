#!/usr/bin/env bash
# Slipway's proxy against nginx, in one run:
#   1. throughput and latency: `slipway proxy` and nginx, each a reverse proxy to the same upstream
#      (a third nginx answering 12 bytes from memory), measured by wrk on loopback with 64
#      connections and 2 threads, ROUNDS rounds of DURATION each, alternating, medians reported.
#      Both proxies do the same work: keep-alive connections to the upstream (nginx: `keepalive 64`
#      and HTTP/1.1), Host passed through, X-Forwarded-For/-Proto and X-Request-Id set, no access
#      log, as many workers as cores. wrk straight to the upstream gives the ceiling.
#   2. switch time: the harness in src/main.rs (apply() under load, and whether any request sent
#      after it returned reached an older upstream).
# Needs nginx and wrk (apt-get install -y nginx wrk). Everything listens on 127.0.0.1 and stops at
# the end. The summary on stdout is kept in results.txt next to this script (RESULTS=FILE for
# elsewhere): the figures in bench/README.md come from it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
upstream_port=18081
nginx_port=18082
slipway_port=18080

command -v nginx >/dev/null && command -v wrk >/dev/null || apt-get install -y -qq nginx wrk >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/slipway/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p slipway
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
slipway=$CARGO_TARGET_DIR/release/slipway

work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-proxy.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# One nginx instance per role, each with its own prefix, pid file and logs.
nginx_conf() { # name, http block
  mkdir -p "$work/$1"
  cat > "$work/$1/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  $2
}
EOF
}
nginx_conf upstream "server { listen 127.0.0.1:$upstream_port backlog=4096; location / { return 200 \"hello world\n\"; } }"
nginx_conf proxy "
  upstream app { server 127.0.0.1:$upstream_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Request-Id \$request_id;
      add_header X-Request-Id \$request_id;
    }
  }"
nginx -p "$work/upstream" -c "$work/upstream/nginx.conf" & pids+=($!)
nginx -p "$work/proxy" -c "$work/proxy/nginx.conf" & pids+=($!)

cat > "$work/routes.json" <<EOF
{"backends": [{"id": "bench", "pools": [{"id": "v1", "upstreams": [{"id": "nginx", "addr": "127.0.0.1:$upstream_port"}]}]}],
 "routes": [{"backend": "bench"}]}
EOF
"$slipway" --quiet proxy --listen "127.0.0.1:$slipway_port" --routes "$work/routes.json" \
  --control "$work/control.sock" --state-file "$work/state.json" & pids+=($!)

for port in $upstream_port $nginx_port $slipway_port; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/" || { echo "nothing answers on port $port" >&2; exit 1; }
done

# Prints "requests/s p50 p99" (latencies in ms) for one wrk run against a port.
measure() {
  wrk -t2 -c64 -d"$1" --latency "http://127.0.0.1:$2/" | awk '
    function ms(text) {
      if (text ~ /us$/) return substr(text, 1, length(text) - 2) / 1000
      if (text ~ /ms$/) return substr(text, 1, length(text) - 2) + 0
      if (text ~ /s$/) return substr(text, 1, length(text) - 1) * 1000
      return text
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    $1 == "Non-2xx" || $1 == "Socket" { errors = errors " " $0 }
    END { printf "%.0f %.3f %.3f%s\n", rps, p50, p99, (errors == "" ? "" : " ERRORS:" errors) }'
}

# The middle value; with an even count, the mean of the two middle values.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

exec > >(tee "${RESULTS:-$here/results.txt}")
echo "$(date -u +%Y-%m-%d) on $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); ROUNDS=$rounds DURATION=$duration"
echo "warming up..." >&2
measure 2s $slipway_port >/dev/null
measure 2s $nginx_port >/dev/null
declare -A results
for round in $(seq "$rounds"); do
  for target in slipway:$slipway_port nginx:$nginx_port upstream:$upstream_port; do
    line=$(measure "$duration" "${target#*:}")
    echo "round $round ${target%%:*}: $line" >&2
    results[${target%%:*}]+="$line"$'\n'
  done
done

echo
echo "wrk -t2 -c64 -d$duration, median of $rounds rounds (requests/s, p50 ms, p99 ms):"
for name in slipway nginx upstream; do
  rows=${results[$name]}
  printf '  %-22s %8s req/s   p50 %6s ms   p99 %6s ms\n' \
    "$([ "$name" = upstream ] && echo "upstream (no proxy)" || echo "$name")" \
    "$(cut -d' ' -f1 <<<"$rows" | grep . | median)" \
    "$(cut -d' ' -f2 <<<"$rows" | grep . | median)" \
    "$(cut -d' ' -f3 <<<"$rows" | grep . | median)"
done
echo
echo "switch time:"
"$CARGO_TARGET_DIR/release/slipway-proxy-bench"
