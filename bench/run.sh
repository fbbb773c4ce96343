#!/usr/bin/env bash
# bench/run.sh: measures direct, nginx, HAProxy and toolgate on this machine, in one run, and writes
# bench/RESULTS.md. See bench/README.md. Loopback only. Needs root (apt-get) or nginx, haproxy and wrk installed.
#
#   bench/run.sh                     the full run (< 10 minutes on 2 cores)
#   REPS=1 DURATION=2s bench/run.sh  a quick look (results are not worth committing)
#
# Settings (environment): REPS (3), WARMUP (1s), DURATION (4s), CONNECTIONS (16), SAT_CONNECTIONS (32),
# H2_CONNECTIONS (4), H2_STREAMS (8), RATES ("1000 5000"), JFR (1: profile toolgate at saturation), SKIP_BUILD (0),
# TOOLGATE_JAVA_OPTS (extra JVM options for the sidecar, empty: as `./toolgate run` starts it),
# TUNED_JAVA_OPTS (a second sidecar, "toolgate-tuned", with a capped heap; empty string: skip it),
# NICE (-10 as root: every benchmark process gets more CPU weight than other work on a shared machine),
# STRACE (1: count each proxy's system calls per request with strace -c; 0: skip),
# OUT (bench/RESULTS.md), KEEP (0: delete the temp dir at the end; 1: keep configs, logs and raw results).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
overrides=""
for v in REPS WARMUP DURATION CONNECTIONS SAT_CONNECTIONS H2_CONNECTIONS H2_STREAMS RATES JFR TOOLGATE_JAVA_OPTS TUNED_JAVA_OPTS NICE; do
  if [ -n "${!v:-}" ]; then overrides+="$v='${!v}' "; fi
done
command_line="${overrides}bench/run.sh"
REPS="${REPS:-3}"
WARMUP="${WARMUP:-1s}"
DURATION="${DURATION:-4s}"
CONNECTIONS="${CONNECTIONS:-16}"
SAT_CONNECTIONS="${SAT_CONNECTIONS:-32}"
H2_CONNECTIONS="${H2_CONNECTIONS:-4}"
H2_STREAMS="${H2_STREAMS:-8}"
RATES="${RATES:-1000 5000}"
JFR="${JFR:-1}"
STRACE="${STRACE:-1}"
SKIP_BUILD="${SKIP_BUILD:-0}"
OUT="${OUT:-$here/RESULTS.md}"
KEEP="${KEEP:-0}"
TUNED_JAVA_OPTS="${TUNED_JAVA_OPTS--Xms16m -Xmx48m -XX:+UseSerialGC -XX:MaxDirectMemorySize=32m -XX:ReservedCodeCacheSize=48m -Xss512k}"
if [ "$(id -u)" = 0 ]; then NICE="${NICE:--10}"; else NICE="${NICE:-0}"; fi
CORE_PROXY=0   # every proxy, alone on this core
CORE_LOAD=1    # load generator and upstreams
P_UP=18080 P_GRPC=18081 P_NGINX=18443 P_HAPROXY=18444 P_TOOLGATE=18445 P_TUNED=18446 P_SLOWTAIL=18447
started_at=$(date +%s)

log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(nproc)" -ge 2 ] || die "needs at least 2 cores (proxy on core $CORE_PROXY, load on core $CORE_LOAD)"

# ---- tools ---------------------------------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
command -v pgrep >/dev/null || missing+=(procps)
command -v curl >/dev/null || missing+=(curl)
[ "$STRACE" = 0 ] || command -v strace >/dev/null || missing+=(strace)
command -v jcmd >/dev/null || [ "$JFR" = 0 ] || die "jcmd (from the JDK) is needed for JFR=1"
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: install them or run as root"
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

toolgate_jar="$root/proxy-grpc/target/toolgate.jar"
bench_jar="$here/target/toolgate-bench.jar"
if [ "$SKIP_BUILD" != 1 ] || [ ! -f "$toolgate_jar" ] || [ ! -f "$bench_jar" ]; then
  log "building the jars (mvn -DskipTests install)"
  (cd "$root" && mvn -B -q -DskipTests install) >&2
fi

# ---- workspace, identities, configs ----------------------------------------------------------------------------
work="$(mktemp -d /tmp/toolgate-bench.XXXXXX)"
results="$work/results"
mkdir -p "$results/runs" "$work/nginx/tmp" "$work/toolgate"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

for p in $P_UP $P_GRPC $P_NGINX $P_HAPROXY $P_TOOLGATE $P_TUNED $P_SLOWTAIL; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use"; fi
done

java -jar "$toolgate_jar" dev-ca issue spiffe://toolgate.dev/bench/agent --state-dir "$work/ca" --out "$work/agent" >&2
java -jar "$toolgate_jar" dev-ca issue spiffe://toolgate.dev/bench/proxy --state-dir "$work/ca" --out "$work/server" >&2
java -jar "$toolgate_jar" dev-ca issue spiffe://toolgate.dev/bench/auditor --state-dir "$work/ca" --out "$work/auditor" >&2
cat "$work/server/svid.pem" "$work/server/svid.key" > "$work/server/haproxy.pem"

cat > "$work/nginx/nginx.conf" <<EOF
# TLS with required client certificate (verified against the dev bundle), proxy_pass to the upstream, access log.
user root;
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream bench { server 127.0.0.1:$P_UP; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$P_NGINX ssl http2;
    ssl_certificate $work/server/svid.pem;
    ssl_certificate_key $work/server/svid.key;
    ssl_client_certificate $work/agent/bundle.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /bench/ {
      proxy_pass http://bench/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF

cat > "$work/haproxy.cfg" <<EOF
# TLS with required client certificate (verified against the dev bundle), forward to the upstream, access log.
global
  nbthread 1
  maxconn 4096
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  option http-keep-alive
  timeout connect 2s
  timeout client 120s
  timeout server 30s
  timeout http-keep-alive 120s
frontend bench
  bind 127.0.0.1:$P_HAPROXY ssl crt $work/server/haproxy.pem verify required ca-file $work/agent/bundle.pem alpn h2,http/1.1
  http-request replace-path ^/bench(/.*) \1
  default_backend upstream
backend upstream
  server up1 127.0.0.1:$P_UP
EOF

# How long the bench agent's task lives: longer than any run (REPS=3 takes < 10 minutes; a large REPS may take
# hours), so no call of a run is denied as DENY_TASK_EXPIRED. tasks.maxTtl below lets the sidecar grant it.
TASK_TTL=24h
cat > "$work/toolgate/toolgate.yaml" <<EOF
# mTLS (client certificate required) + routing + the task check (every call carries the toolgate-task token of a
# task started by the bench agent: token hash lookup, identity binding, grant match) + the policy (policies.yaml:
# allow-lists, a deny rule, a flow rule, a CEL condition on MCP arguments) + forwarding + the hash-chained audit
# trail (decision and outcome record per call): everything toolgate does as of this commit.
# Each toolgate has its own audit file, tasks (in memory, no journal), admin port (port 0: any free one) and
# control API (port 0; the slow-tail sidecar's is read from its log).
listener: {address: 127.0.0.1, port: $P_TOOLGATE}
identity: {source: dev, trustDomain: toolgate.dev, spiffeId: spiffe://toolgate.dev/toolgate/sidecar, stateDir: $work/ca}
admin: {address: 127.0.0.1, port: 0}
control: {address: 127.0.0.1, port: 0, tailBuffer: 1024}
access: {auditors: ["spiffe://toolgate.dev/bench/auditor"]}
audit: {file: audit-toolgate.jsonl}
tasks: {maxTtl: $TASK_TTL}
routes: [routes.yaml]
policies: [policies.yaml]
EOF
cat > "$work/toolgate/policies.yaml" <<EOF
kind: Policy
name: bench
mode: enforce
subjects: ["spiffe://toolgate.dev/bench/*"]
allow:
  - name: echo
    route: bench
    operations: ["* /**"]
    maxTtl: $TASK_TTL
  - name: mcp-search
    route: bench-mcp
    operations: ["mcp:tools/call:search_issues"]
    when: 'has(mcp.arguments.repo) && mcp.arguments.repo.startsWith("toolgate/")'
  - name: mcp-housekeeping
    route: bench-mcp
    operations: ["mcp:tools/list", "mcp:initialize", "mcp:ping", "mcp:tools/call:*"]
  - name: grpc
    route: bench-grpc
    operations: ["grpc:grpc.testing.SimpleService/*"]
deny:
  - name: no-admin
    route: bench
    operations: ["* /admin/**"]
flows:
  - name: no-pii-out
    after: [pii]
    deny: [external]
EOF
cat > "$work/toolgate/routes.yaml" <<EOF
routes:
  - name: bench
    prefix: /bench
    upstream: {url: "http://127.0.0.1:$P_UP"}
    labels: [external]
  - name: bench-crm
    prefix: /crm
    upstream: {url: "http://127.0.0.1:$P_UP"}
    labels: [pii]            # never called by the load: the flow rule is evaluated on every call, never fires
  - name: bench-mcp
    prefix: /mcp/bench
    protocol: mcp
    upstream: {url: "http://127.0.0.1:$P_UP"}
  - name: bench-grpc
    grpc: grpc.testing.SimpleService
    upstream: {url: "http://127.0.0.1:$P_GRPC"}
EOF

sed -e "s/port: $P_TOOLGATE}/port: $P_TUNED}/" -e "s/audit-toolgate.jsonl/audit-tuned.jsonl/" \
    "$work/toolgate/toolgate.yaml" > "$work/toolgate/toolgate-tuned.yaml"
# The same sidecar with a live-tail subscriber that stops reading (issue 6: a slow subscriber must not slow the
# data plane; it gets an overflow notice instead).
sed -e "s/port: $P_TOOLGATE}/port: $P_SLOWTAIL}/" -e "s/audit-toolgate.jsonl/audit-slowtail.jsonl/" \
    "$work/toolgate/toolgate.yaml" > "$work/toolgate/toolgate-slowtail.yaml"
# The task the load generator works under, on each toolgate: any operation on each of the routes above.
cat > "$work/toolgate/task.json" <<EOF
{"purpose":"bench/run.sh load","ttl":"$TASK_TTL","grants":[{"route":"bench","operations":["* /**"]},
 {"route":"bench-mcp","operations":["mcp:tools/call:*","mcp:tools/list","mcp:initialize","mcp:ping"]},
 {"route":"bench-grpc","operations":["grpc:grpc.testing.SimpleService/*"]}]}
EOF

# ---- processes -------------------------------------------------------------------------------------------------
wait_port() {
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "nothing listens on port $1 (logs in $work)"
}

on_load=(nice -n "$NICE" taskset -c $CORE_LOAD)
on_proxy=(nice -n "$NICE" taskset -c $CORE_PROXY)
gen_java=(java -Xms512m -Xmx512m -XX:+UseSerialGC)
"${on_load[@]}" java -Xms256m -Xmx256m -XX:+UseSerialGC -jar "$bench_jar" upstream --port $P_UP --threads 1 \
  > "$work/upstream.log" 2>&1 &
pids+=($!)
"${on_load[@]}" java -Xms256m -Xmx256m -XX:+UseSerialGC -jar "$bench_jar" grpc-upstream --port $P_GRPC \
  > "$work/grpc-upstream.log" 2>&1 &
pids+=($!)
"${on_proxy[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" > "$work/nginx/stdout.log" 2>&1 &
nginx_master=$!
pids+=($nginx_master)
"${on_proxy[@]}" haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy-access.log" 2>&1 &
haproxy_pid=$!
pids+=($haproxy_pid)
# shellcheck disable=SC2086 # TOOLGATE_JAVA_OPTS is a list of options
"${on_proxy[@]}" java ${TOOLGATE_JAVA_OPTS:-} -jar "$toolgate_jar" run --config "$work/toolgate/toolgate.yaml" \
  --workers 1 > "$work/toolgate.log" 2>&1 &
toolgate_pid=$!
pids+=($toolgate_pid)
tuned_pid=""
if [ -n "$TUNED_JAVA_OPTS" ]; then
  # shellcheck disable=SC2086 # a list of options
  "${on_proxy[@]}" java $TUNED_JAVA_OPTS -jar "$toolgate_jar" run --config "$work/toolgate/toolgate-tuned.yaml" \
    --workers 1 > "$work/toolgate-tuned.log" 2>&1 &
  tuned_pid=$!
  pids+=($tuned_pid)
  wait_port $P_TUNED
fi
"${on_proxy[@]}" java ${TOOLGATE_JAVA_OPTS:-} -jar "$toolgate_jar" run --config "$work/toolgate/toolgate-slowtail.yaml" \
  --workers 1 > "$work/toolgate-slowtail.log" 2>&1 &
slowtail_pid=$!
pids+=($slowtail_pid)
for p in $P_UP $P_GRPC $P_NGINX $P_HAPROXY $P_TOOLGATE $P_SLOWTAIL; do wait_port "$p"; done
# The slow subscriber: `toolgate tail` as an auditor, stopped (SIGSTOP) once it is subscribed, so its TCP window
# fills and the sidecar's per-subscriber buffer overflows while the load runs.
control_slowtail=""
for _ in $(seq 1 100); do
  control_slowtail=$(grep -o 'control API on /[0-9.]*:[0-9]*' "$work/toolgate-slowtail.log" | grep -o '[0-9.]*:[0-9]*$' | head -1 || true)
  [ -n "$control_slowtail" ] && break
  sleep 0.1
done
[ -n "$control_slowtail" ] || die "the slow-tail sidecar's control API did not come up (see $work/toolgate-slowtail.log)"
"${on_load[@]}" java -Xmx64m -jar "$toolgate_jar" tail --control "$control_slowtail" --svid-dir "$work/auditor" --json \
  > "$work/slowtail-subscriber.log" 2> "$work/slowtail-subscriber.err" &
tail_pid=$!
pids+=($tail_pid)
sleep 3
kill -STOP "$tail_pid"
nginx_worker=""
for _ in $(seq 1 50); do
  nginx_worker=$(pgrep -P "$nginx_master" | head -1 || true)
  [ -n "$nginx_worker" ] && break
  sleep 0.1
done
[ -n "$nginx_worker" ] || die "no nginx worker process (see $work/nginx/error.log)"
nginx_pids="$nginx_master,$nginx_worker"

# Every call through toolgate must carry the token of a task the calling agent started (else 403 DENY_NO_TASK):
# start one per sidecar over the data plane, as the bench agent (same mTLS identity as the load generator).
task_token() { # $1: a toolgate's port; prints the token of a task allowed everything on the bench routes
  local answer="$work/toolgate/task-$1.json" code token
  code=$(curl -sS --max-time 10 -o "$answer" -w '%{http_code}' \
      --cert "$work/agent/svid.pem" --key "$work/agent/svid.key" --cacert "$work/agent/bundle.pem" \
      -H 'content-type: application/json' --data-binary @"$work/toolgate/task.json" \
      "https://127.0.0.1:$1/_toolgate/v1/tasks") || die "starting a task on port $1: curl failed"
  [ "$code" = 201 ] || die "starting a task on port $1: HTTP $code $(cat "$answer")"
  # the answer is compact JSON; a token is tg1. and 43 base64url characters (no quote or escape to trip on)
  token=$(grep -o '"token":"[^"]*"' "$answer" | cut -d'"' -f4)
  [[ "$token" =~ ^tg1\.[A-Za-z0-9_-]{43}$ ]] || die "starting a task on port $1: no token in $(cat "$answer")"
  rm -f "$answer" # from here on the token is only in this shell and the plan files of the temp dir (mode 700)
  echo "$token"
}
token_toolgate=$(task_token $P_TOOLGATE)
task_toolgate=(--header "toolgate-task:$token_toolgate")
task_tuned=()
if [ -n "$tuned_pid" ]; then
  token_tuned=$(task_token $P_TUNED)
  task_tuned=(--header "toolgate-task:$token_tuned")
fi
token_slowtail=$(task_token $P_SLOWTAIL)
task_slowtail=(--header "toolgate-task:$token_slowtail")
log "running: nginx $nginx_pids, haproxy $haproxy_pid, toolgate $toolgate_pid, toolgate with a stopped tail subscriber $slowtail_pid (core $CORE_PROXY); upstreams and load on core $CORE_LOAD; work dir $work"

tls=(--cert "$work/agent/svid.pem" --key "$work/agent/svid.key" --trust "$work/agent/bundle.pem")
url_direct="http://127.0.0.1:$P_UP/bench/echo"
url_nginx="https://127.0.0.1:$P_NGINX/bench/echo"
url_haproxy="https://127.0.0.1:$P_HAPROXY/bench/echo"
url_toolgate="https://127.0.0.1:$P_TOOLGATE/bench/echo"
timing=(--warmup "$WARMUP" --duration "$DURATION")

# one plan line: NAME load-options...; the batch runs them in one warm generator JVM
plan_line() { local name=$1; shift; echo "$name $* --out $results/runs/$name.properties"; }
target_args() { # target -> url, TLS, the task token (toolgate targets only; direct, nginx and HAProxy get no
  # toolgate-task header, so they forward no extra bytes) and CPU accounting
  case $1 in
    direct) echo "--target $url_direct" ;;
    nginx) echo "--target $url_nginx ${tls[*]} --cpu-pids $nginx_pids" ;;
    haproxy) echo "--target $url_haproxy ${tls[*]} --cpu-pids $haproxy_pid" ;;
    toolgate) echo "--target $url_toolgate ${tls[*]} ${task_toolgate[*]} --cpu-pids $toolgate_pid" ;;
    toolgate-tuned) echo "--target https://127.0.0.1:$P_TUNED/bench/echo ${tls[*]} ${task_tuned[*]} --cpu-pids $tuned_pid" ;;
    toolgate-slowtail) echo "--target https://127.0.0.1:$P_SLOWTAIL/bench/echo ${tls[*]} ${task_slowtail[*]} --cpu-pids $slowtail_pid" ;;
  esac
}

# ---- the plan: one generator JVM runs it all, warmup first (JIT of the sidecar, the upstream and the generator;
# with one core per side a cold JVM's compiler threads steal the event loop's core for seconds), then the
# measured runs with repetitions outermost, so slow drift of a shared machine hits every target alike ------------
plan="$work/measure.plan"
{
  echo "warmup-direct $(target_args direct) --rate 3000 --connections $CONNECTIONS --warmup 0s --duration 4s"
  echo "warmup-nginx $(target_args nginx) --rate 3000 --connections $CONNECTIONS --warmup 0s --duration 2s"
  echo "warmup-haproxy $(target_args haproxy) --rate 3000 --connections $CONNECTIONS --warmup 0s --duration 2s"
  echo "warmup-toolgate $(target_args toolgate) --rate 3000 --connections $CONNECTIONS --warmup 0s --duration ${TOOLGATE_WARMUP:-10s}"
  echo "warmup-nginx-h2 $(target_args nginx) --h2 --connections $H2_CONNECTIONS --streams $H2_STREAMS --rate 2000 --warmup 0s --duration 2s"
  echo "warmup-toolgate-h2 $(target_args toolgate) --h2 --connections $H2_CONNECTIONS --streams $H2_STREAMS --rate 2000 --warmup 0s --duration 4s"
  echo "warmup-toolgate-mcp $(target_args toolgate | sed "s#/bench/echo#/mcp/bench#") --payload mcp --rate 2000 --warmup 0s --duration 2s"
  echo "warmup-direct-grpc --target http://127.0.0.1:$P_GRPC/ --h2 --payload grpc --connections $H2_CONNECTIONS --streams $H2_STREAMS --rate 2000 --warmup 0s --duration 3s"
  echo "warmup-toolgate-grpc --target https://127.0.0.1:$P_TOOLGATE/ ${tls[*]} ${task_toolgate[*]} --h2 --payload grpc --connections $H2_CONNECTIONS --streams $H2_STREAMS --rate 2000 --warmup 0s --duration 4s"
  echo "warmup-saturation-toolgate $(target_args toolgate) --rate 0 --connections $SAT_CONNECTIONS --warmup 0s --duration 2s"
  echo "warmup-toolgate-slowtail $(target_args toolgate-slowtail) --rate 3000 --connections $CONNECTIONS --warmup 0s --duration ${TOOLGATE_WARMUP:-10s}"
  if [ -n "$tuned_pid" ]; then
    echo "warmup-toolgate-tuned $(target_args toolgate-tuned) --rate 3000 --connections $CONNECTIONS --warmup 0s --duration 6s"
  fi
} > "$plan"
proxies=(direct nginx haproxy toolgate)
[ -n "$tuned_pid" ] && proxies+=(toolgate-tuned)
for rep in $(seq 1 "$REPS"); do
  for rate in $RATES; do
    for t in "${proxies[@]}"; do
      plan_line "rate${rate}__${t}__$rep" "$(target_args "$t") --rate $rate --connections $CONNECTIONS ${timing[*]}" >> "$plan"
    done
  done
  for t in "${proxies[@]}"; do
    plan_line "saturation__${t}__$rep" "$(target_args "$t") --rate 0 --connections $SAT_CONNECTIONS ${timing[*]}" >> "$plan"
  done
  h2=(--h2 --connections "$H2_CONNECTIONS" --streams "$H2_STREAMS" --rate 1000 "${timing[@]}")
  plan_line "h2rate1000__direct__$rep" "$(target_args direct) --rate 1000 --connections $CONNECTIONS ${timing[*]}" >> "$plan"
  plan_line "h2rate1000__nginx-h2__$rep" "$(target_args nginx) ${h2[*]}" >> "$plan"
  plan_line "h2rate1000__toolgate-h2__$rep" "$(target_args toolgate) ${h2[*]}" >> "$plan"
  plan_line "mcprate1000__direct__$rep" "--target http://127.0.0.1:$P_UP/mcp --payload mcp --rate 1000 --connections $CONNECTIONS ${timing[*]}" >> "$plan"
  plan_line "mcprate1000__toolgate__$rep" "$(target_args toolgate | sed "s#/bench/echo#/mcp/bench#") --payload mcp --rate 1000 --connections $CONNECTIONS ${timing[*]}" >> "$plan"
  grpc=(--h2 --payload grpc --connections "$H2_CONNECTIONS" --streams "$H2_STREAMS" --rate 1000 "${timing[@]}")
  plan_line "grpcrate1000__direct__$rep" "--target http://127.0.0.1:$P_GRPC/ ${grpc[*]}" >> "$plan"
  plan_line "grpcrate1000__toolgate__$rep" "--target https://127.0.0.1:$P_TOOLGATE/ ${tls[*]} ${task_toolgate[*]} --cpu-pids $toolgate_pid ${grpc[*]}" >> "$plan"
  for rate in $RATES; do
    plan_line "slowtail${rate}__toolgate__$rep" "$(target_args toolgate) --rate $rate --connections $CONNECTIONS ${timing[*]}" >> "$plan"
    plan_line "slowtail${rate}__toolgate-slowtail__$rep" "$(target_args toolgate-slowtail) --rate $rate --connections $CONNECTIONS ${timing[*]}" >> "$plan"
  done
done
# the generator's side of the wrk cross-check, while it is warm
echo "wrkcheck $(target_args direct) --rate 0 --connections $SAT_CONNECTIONS --warmup 0s --duration 5s --out $work/wrkcheck.properties" >> "$plan"
# CPU of the whole machine vs ours during the batch: how much other work ran beside the benchmark
busy_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }
our_ticks() { local t=0 p; for p in "${pids[@]}" ${nginx_worker:-}; do
  t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
busy0=$(busy_ticks) steal0=$(steal_ticks) ours0=$(our_ticks) t0=$(date +%s)
log "warming up, then measuring $(grep -c '__' "$plan") runs of $WARMUP + $DURATION"
"${on_load[@]}" "${gen_java[@]}" -jar "$bench_jar" batch "$plan" | tee "$work/measure.log" >&2
busy1=$(busy_ticks) steal1=$(steal_ticks) ours1=$(our_ticks) t1=$(date +%s)
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
gen_ticks=$(awk -F= '/^generator-cpu-seconds=/ {printf "%d", $2 * 100}' "$work/measure.log")
others=$(( (busy1 - busy0) - (ours1 - ours0) - ${gen_ticks:-0} ))
noise="during the $((t1 - t0)) s of warmup + measured runs the machine's 2 cores were busy $(( (busy1 - busy0) / 100 )) CPU s, of which $(( (ours1 - ours0 + ${gen_ticks:-0}) / 100 )) s were the benchmark's processes and $(( others / 100 )) s other work; hypervisor steal $(( (steal1 - steal0) / 100 )) s"
log "$noise"

# peak RSS now, before JFR adds its own buffers to the sidecar
rss_kib() { local total=0 v; for p in ${1//,/ }; do v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status"); total=$((total + v)); done; echo $total; }
{
  echo "nginx=$(rss_kib "$nginx_pids")"
  echo "haproxy=$(rss_kib "$haproxy_pid")"
  echo "toolgate=$(rss_kib "$toolgate_pid")"
  [ -n "$tuned_pid" ] && echo "toolgate-tuned=$(rss_kib "$tuned_pid")"
} > "$results/rss.properties"

# ---- generator cross-check against wrk (plain HTTP, closed loop, same connections and body) --------------------
cat > "$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("a", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF
wrk_cmd="wrk -t1 -c$SAT_CONNECTIONS -d5s --latency -s post.lua $url_direct"
log "cross-check: $wrk_cmd"
(cd "$work" && "${on_load[@]}" $wrk_cmd) > "$work/wrk.txt"
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000000} else print v}'; }
{
  echo "wrk.command=taskset -c $CORE_LOAD $wrk_cmd"
  echo "wrk.rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.txt")"
  echo "wrk.p50us=$(awk '$1=="50%" {print $2}' "$work/wrk.txt" | to_us)"
  echo "wrk.p99us=$(awk '$1=="99%" {print $2}' "$work/wrk.txt" | to_us)"
  echo "toolgate-bench.command=taskset -c $CORE_LOAD java -jar toolgate-bench.jar load --target $url_direct --rate 0 --connections $SAT_CONNECTIONS --warmup 0s --duration 5s"
  echo "toolgate-bench.rps=$(awk -F= '$1=="achievedRps" {printf "%.0f", $2}' "$work/wrkcheck.properties")"
  echo "toolgate-bench.p50us=$(awk -F= '$1=="p50us" {print $2}' "$work/wrkcheck.properties")"
  echo "toolgate-bench.p99us=$(awk -F= '$1=="p99us" {print $2}' "$work/wrkcheck.properties")"
} > "$results/wrk.properties"

# ---- profile: JFR execution samples of the sidecar at saturation -----------------------------------------------
jfr_cmd=""
if [ "$JFR" = 1 ]; then
  log "profiling toolgate at saturation (JFR, 8 s)"
  # the first 4 s warm the new generator JVM; the recording covers the 8 s after them
  jcmd "$toolgate_pid" JFR.start name=bench settings=profile delay=4s duration=8s filename="$work/toolgate.jfr" >/dev/null
  {
    echo "jfr-warmup $(target_args toolgate) --rate 0 --connections $SAT_CONNECTIONS --warmup 0s --duration 3s"
    echo "jfr $(target_args toolgate) --rate 0 --connections $SAT_CONNECTIONS --warmup 0s --duration 9s"
  } > "$work/jfr.plan"
  "${on_load[@]}" "${gen_java[@]}" -jar "$bench_jar" batch "$work/jfr.plan" >&2
  for _ in $(seq 1 50); do [ -s "$work/toolgate.jfr" ] && break; sleep 0.2; done
  java -jar "$bench_jar" jfr-top "$work/toolgate.jfr" --top 30 > "$results/jfr-top.txt"
  jfr_cmd="jcmd PID JFR.start settings=profile during an 8 s closed-loop run ($SAT_CONNECTIONS connections, HTTP/1.1), then \`java -jar bench/target/toolgate-bench.jar jfr-top toolgate.jfr\` (the data of \`jfr print --events jdk.ExecutionSample\` and \`jdk.NativeMethodSample\`, counted)"
  if [ "$KEEP" = 1 ]; then log "JFR recording: $work/toolgate.jfr"; fi
fi

# ---- system calls per request of each proxy (strace -c; slows the traced process, counts stay exact) -----------
if [ "$STRACE" = 1 ]; then
  log "counting system calls per request (strace -c, 1,500 requests at 500 rps per proxy)"
  : > "$results/strace.txt"
  for t in nginx haproxy toolgate; do
    case $t in nginx) tp=$nginx_worker ;; haproxy) tp=$haproxy_pid ;; toolgate) tp=$toolgate_pid ;; esac
    strace -c -f -p "$tp" -o "$work/strace-$t.txt" 2>/dev/null &
    sp=$!
    sleep 1
    echo "strace-$t $(target_args "$t") --rate 500 --connections $CONNECTIONS --warmup 0s --duration 3s" > "$work/strace.plan"
    "${on_load[@]}" "${gen_java[@]}" -jar "$bench_jar" batch "$work/strace.plan" > "$work/strace-$t.log"
    sleep 1
    kill -INT "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    n=$(grep -o 'completed=[0-9]*' "$work/strace-$t.log" | head -1 | cut -d= -f2)
    awk -v t="$t" -v n="${n:-1500}" '$NF ~ /^(read|write|writev|readv|sendto|recvfrom|sendmsg|recvmsg|epoll_wait|epoll_pwait|epoll_pwait2|epoll_ctl|futex)$/ {
        printf "%s %s %.2f\n", t, $NF, $4 / n }' "$work/strace-$t.txt" >> "$results/strace.txt"
  done
fi

# ---- results -----------------------------------------------------------------------------------------------------
cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$command_line"
  echo "commit=$(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD -- proxy-core proxy-grpc bench || echo ' (uncommitted changes)')"
  echo "machine=nproc $(nproc), $cpu_model, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
  echo "load=loadavg before the measured runs $load_before, after $load_after; $noise (the machine is shared)"
  echo "java=$(java -version 2>&1 | head -1); toolgate JVM options: ${TOOLGATE_JAVA_OPTS:-(none: as ./toolgate run starts it)}; toolgate-tuned: ${TUNED_JAVA_OPTS:-(not run)}"
  echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //'), 1 worker, TLS + ssl_verify_client on + proxy_pass (keepalive 64) + access_log (unbuffered)"
  echo "haproxy=$(haproxy -v 2>&1 | head -1 | awk '{print $3}'), nbthread 1, TLS + verify required + replace-path + httplog to stdout (a file)"
  echo "durations=$REPS repetitions x (warmup $WARMUP + measured $DURATION) per target and scenario, interleaved; $CONNECTIONS HTTP/1.1 connections at fixed rates, $SAT_CONNECTIONS closed-loop at saturation, HTTP/2 $H2_CONNECTIONS connections x $H2_STREAMS streams"
  echo "pinning=taskset: each proxy on core $CORE_PROXY, load generator and upstreams on core $CORE_LOAD, all at nice $NICE; toolgate --workers 1"
  echo "resultsDir=$work/results (deleted at the end unless KEEP=1)"
  echo "note=**What toolgate does in these runs**: mTLS (SVID client certificate verified), path normalization, routing, the **task check** (every call carries the \`toolgate-task\` token of a task the bench agent started with \`POST /_toolgate/v1/tasks\`, granted every operation of each bench route: \`* /**\`, \`mcp:tools/call:*\`, \`grpc:grpc.testing.SimpleService/*\`; token hash lookup, identity binding, grant match), the MCP body read and parsed as JSON-RPC and judged per message, pooled keep-alive forwarding and the hash-chained **audit trail** (a decision and an outcome record per call, written by a writer thread to a file: toolgate's counterpart of the access log). The policy (policies.yaml: 4 allow rules, a deny rule, a flow rule over route labels, a CEL condition on the MCP arguments) is evaluated on every call. toolgate-slowtail is the same sidecar with a \`toolgate tail\` subscriber that was stopped with SIGSTOP (its buffer overflows while the load runs)."
  echo "scenarios=rate1000,rate5000,saturation,h2rate1000,mcprate1000,grpcrate1000,slowtail1000,slowtail5000"
  echo "scenario.rate1000.title=Fixed rate 1,000 rps, HTTP/1.1 over mTLS (direct: plain HTTP to the upstream)"
  echo "scenario.rate1000.command=load --target URL --rate 1000 --connections $CONNECTIONS ${timing[*]} --cert agent/svid.pem --key agent/svid.key --trust agent/bundle.pem"
  echo "scenario.rate5000.title=Fixed rate 5,000 rps, HTTP/1.1 over mTLS"
  echo "scenario.rate5000.command=load --target URL --rate 5000 --connections $CONNECTIONS ${timing[*]} (+ client certificate)"
  echo "scenario.saturation.title=Saturation: closed loop, $SAT_CONNECTIONS HTTP/1.1 connections"
  echo "scenario.saturation.command=load --target URL --rate 0 --connections $SAT_CONNECTIONS ${timing[*]} (+ client certificate). Proxy CPU cores busy near 1.0 means the proxy was the bottleneck; well below 1.0 means the load core was"
  echo "scenario.h2rate1000.title=HTTP/2 from the agent at 1,000 rps ($H2_CONNECTIONS connections x $H2_STREAMS streams); the proxies talk HTTP/1.1 to the upstream; direct is HTTP/1.1"
  echo "scenario.h2rate1000.command=load --target URL --h2 --connections $H2_CONNECTIONS --streams $H2_STREAMS --rate 1000 ${timing[*]} (+ client certificate)"
  echo "scenario.mcprate1000.title=MCP tools/call (1 KiB JSON-RPC POST) at 1,000 rps through an mcp route: parsed (bounded), judged by tool and arguments (a CEL condition), forwarded as the same bytes"
  echo "scenario.mcprate1000.command=load --target URL --payload mcp --rate 1000 --connections $CONNECTIONS ${timing[*]}"
  echo "scenario.grpcrate1000.title=gRPC unary (grpc.testing.SimpleService/UnaryRpc, 1 KiB each way) at 1,000 rps; direct is h2c to the grpc-java upstream"
  echo "scenario.grpcrate1000.command=load --target URL --h2 --payload grpc --connections $H2_CONNECTIONS --streams $H2_STREAMS --rate 1000 ${timing[*]}"
  for r in $RATES; do
    echo "scenario.slowtail$r.title=A stopped live-tail subscriber (toolgate tail, SIGSTOP) on toolgate-slowtail vs the same sidecar without one, $r rps HTTP/1.1"
    echo "scenario.slowtail$r.command=load --target URL --rate $r --connections $CONNECTIONS ${timing[*]} (+ client certificate); toolgate tail --json as an auditor, then kill -STOP"
  done
  [ -n "$jfr_cmd" ] && echo "jfr.command=$jfr_cmd"
} > "$results/meta.properties"
java -jar "$bench_jar" report --results "$results" --out "$OUT"
if grep -q FAILED "$work/measure.log"; then log "some runs FAILED: see above; their rows are missing"; fi
log "wrote $OUT in $(( $(date +%s) - started_at )) s"
