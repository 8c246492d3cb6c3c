#!/usr/bin/env bash
# The benchmark: for each size, a namespace full of TCP sockets, and in it,
# side by side in interleaved rounds, the C floor (nldump), the addon's dump
# into columns, a full exporter scrape, node_exporter's tcpstat, `ss -tan`,
# the cheap collectors, memory and /healthz latency under scrapes.
#
#   bench/run.sh [--rounds N] [--profile] [--no-append] [SIZES...]
#
# SIZES are sockets (ESTABLISHED; table.sh makes PAIRS = SIZE/2 pairs),
# default 100000 200000; 1000000 works too (51 generators, a few GB of
# kernel memory). --profile also records a V8 CPU profile of the exporter
# over 5 scrapes per size; --no-append leaves bench/RESULTS.md alone (smoke
# tests). TIMEWAIT=N in the environment adds N TIME_WAIT
# sockets per table (they expire after 60 s, so the table drifts during a
# run; the default is 0). PORT_RANGE="32768 60999" sets the namespace's
# ip_local_port_range once the table is up (table.sh uses 1024-65535, so its
# listener ports count as ephemeral too: the worst case for the exporter's
# per-tuple port accounting). Results: a table on stdout, appended to
# bench/RESULTS.md, and raw JSON, logs and profiles in bench/out/STAMP/.
# Needs root. Nothing is rebuilt if dist/ and the addon exist. Others
# rebuild dist/ while they work (npm test does), so the run measures a
# snapshot of dist/src and the addon taken at the start, in a temporary
# directory, and records which code that was.
set -euo pipefail

readonly BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT="$(dirname "$BENCH_DIR")"
readonly TIMEWAIT="${TIMEWAIT:-0}"
readonly PORT_RANGE="${PORT_RANGE:-}"
export NODE_EXPORTER="${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}"

die() {
  echo "run.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

rounds=5
profile=0
append=1
sizes=()
while (($# > 0)); do
  case "$1" in
    --rounds) rounds="${2:-}"; shift 2 ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --profile) profile=1; shift ;;
    --no-append) append=0; shift ;;
    -h | --help) usage ;;
    -*) die "unknown option $1" ;;
    *) sizes+=("$1"); shift ;;
  esac
done
((${#sizes[@]} > 0)) || sizes=(100000 200000)
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds expects a positive integer"
[[ "$TIMEWAIT" =~ ^[0-9]+$ ]] || die "TIMEWAIT must be a number"
[[ -z "$PORT_RANGE" || "$PORT_RANGE" =~ ^[0-9]+\ [0-9]+$ ]] || die "PORT_RANGE must be 'LOW HIGH'"
for size in "${sizes[@]}"; do
  [[ "$size" =~ ^[1-9][0-9]*$ ]] && ((size % 2 == 0)) || die "size '$size' must be an even number of sockets"
done
[[ $EUID -eq 0 ]] || die "needs root (network namespaces)"

# Builds only what is missing: others use dist/ and build/ concurrently.
prerequisites() {
  cd "$ROOT"
  command -v node >/dev/null || die "node is not installed"
  if [[ ! -f dist/src/cli/main.js || ! -f dist/src/diag/index.js ]]; then
    echo "# building dist/ (npx tsc -p tsconfig.build.json)"
    npx tsc -p tsconfig.build.json
  fi
  if [[ ! -f build/Release/sockdiag.node ]]; then
    echo "# building the addon (npx node-gyp rebuild)"
    npx node-gyp rebuild
  fi
  if [[ ! -x "$NODE_EXPORTER" ]]; then
    echo "# installing prometheus-node-exporter"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus-node-exporter
    [[ -x "$NODE_EXPORTER" ]] || die "no $NODE_EXPORTER after apt-get install"
    # Debian starts the service on the host; the benchmark runs its own.
    systemctl disable --now prometheus-node-exporter 2>/dev/null || true
  fi
  command -v ss >/dev/null || die "ss (iproute2) is not installed"
}

newest_build_file() {
  find "$ROOT/dist/src" "$ROOT/build/Release/sockdiag.node" -type f -printf '%T@\n' | sort -n | tail -1
}

# Copies dist/src, the addon, package.json and binding.gyp (the addon loader
# looks for it) to $code; node_modules is a link to ours. Retries until the
# build files are 2 s old and did not change during the copy.
snapshot_code() {
  local tries before after
  for ((tries = 0; tries < 30; tries++)); do
    before="$(newest_build_file)"
    if awk -v t="$before" -v now="$(date +%s.%N)" 'BEGIN { exit !(now - t >= 2) }'; then
      rm -rf "$code"
      mkdir -p "$code/dist" "$code/build/Release"
      cp -a "$ROOT/dist/src" "$code/dist/"
      cp -a "$ROOT/build/Release/sockdiag.node" "$code/build/Release/"
      cp -a "$ROOT/package.json" "$ROOT/binding.gyp" "$code/"
      ln -s "$ROOT/node_modules" "$code/node_modules"
      after="$(newest_build_file)"
      [[ "$before" == "$after" ]] && return 0
    fi
    sleep 2
  done
  die "dist/ or the addon kept changing for a minute; try again later"
}

current_ns=""
code=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$current_ns" ]]; then
    echo "# cleaning up namespace $current_ns" >&2
    "$BENCH_DIR/table.sh" down "$current_ns" >&2 || true
  fi
  [[ -n "$code" && -d "$code" ]] && rm -rf "$code"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

prerequisites
code="$(mktemp -d /tmp/sockdiag-bench-code.XXXXXX)"
snapshot_code
export SOCKDIAG_BENCH_CODE="$code"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$BENCH_DIR/out/$stamp"
mkdir -p "$out"
results=()
for size in "${sizes[@]}"; do
  ns="sdbench-$size"
  echo "# $size sockets: table $ns ($((size / 2)) pairs, $TIMEWAIT TIME_WAIT)"
  current_ns="$ns"
  "$BENCH_DIR/table.sh" up "$ns" $((size / 2)) "$TIMEWAIT"
  if [[ -n "$PORT_RANGE" ]]; then
    ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="$PORT_RANGE"
  fi
  args=(--out "$out/size-$size.json" --logs "$out/logs-$size" --rounds "$rounds")
  ((profile)) && args+=(--profile "$out/prof-$size")
  ip netns exec "$ns" node "$BENCH_DIR/measure.js" "${args[@]}"
  "$BENCH_DIR/table.sh" down "$ns"
  current_ns=""
  results+=("$out/size-$size.json")
done

echo
if ((append)); then
  [[ -f "$BENCH_DIR/RESULTS.md" ]] || printf '# Benchmark results\n\nAppended by `bench/run.sh`; see bench/README.md.\n' >"$BENCH_DIR/RESULTS.md"
  node "$BENCH_DIR/report.js" --append "$BENCH_DIR/RESULTS.md" "${results[@]}"
  echo
  echo "# appended to bench/RESULTS.md; raw results in ${out#"$ROOT"/}"
else
  node "$BENCH_DIR/report.js" "${results[@]}"
  echo
  echo "# raw results in ${out#"$ROOT"/}"
fi
