#!/usr/bin/env bash
# Benchmark socket tables: a network namespace full of loopback TCP sockets.
#
#   bench/table.sh up NAME PAIRS [TIMEWAIT]   2*PAIRS ESTABLISHED sockets,
#                                             TIMEWAIT TIME_WAIT sockets
#   bench/table.sh down NAME                  stop the generators, delete NAME
#   bench/table.sh count NAME                 `ss -tan` rows by state in NAME
#   bench/table.sh build                      compile gen, nldump and churn only
#
# One gen process holds at most 9 900 pairs (RLIMIT_NOFILE is 20 000 here and
# cannot be raised), so `up` starts ceil(PAIRS/9900) of them, each with its
# own listener port and client address block. TIME_WAIT sockets last 60 s.
# `up` is idempotent: if NAME is already up with the same arguments it does
# nothing, otherwise it rebuilds NAME from scratch. Needs root.
#
# Environment: BASE_PORT (20000) main listener of generator i = BASE_PORT+i;
# EXTRA_LISTENERS (2) idle listeners per generator on BASE_PORT+1000+...;
# READY_TIMEOUT (300) seconds to wait for every generator's "ready".
set -euo pipefail

readonly BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly BIN_DIR="$BENCH_DIR/bin"
readonly PAIRS_PER_GEN=9900
readonly BASE_PORT="${BASE_PORT:-20000}"
readonly EXTRA_LISTENERS="${EXTRA_LISTENERS:-2}"
readonly READY_TIMEOUT="${READY_TIMEOUT:-300}"

usage() {
  sed -n '4,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "table.sh: $*" >&2
  exit 1
}

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

set_paths() {
  local name="$1"
  [[ "$name" =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "bad namespace name '$name'"
  NAME="$name"
  PIDS_FILE="/run/sockdiag-bench-$NAME.pids"
  ARGS_FILE="/run/sockdiag-bench-$NAME.args"
  LOG_DIR="/run/sockdiag-bench-$NAME.log"
  LOCK_FILE="/run/sockdiag-bench-$NAME.lock"
}

# Serialises table.sh invocations on the same NAME.
lock() {
  exec 9>"$LOCK_FILE"
  flock -w 60 9 || die "another table.sh holds $LOCK_FILE"
}

netns_exists() { [[ -e "/run/netns/$NAME" ]]; }

# Compiles into bench/bin/ when the binary is missing or older than its
# source; the rename keeps a concurrent reader from seeing half a binary.
build() {
  mkdir -p "$BIN_DIR"
  local prog
  for prog in gen nldump churn; do
    if [[ ! -x "$BIN_DIR/$prog" || "$BENCH_DIR/$prog.c" -nt "$BIN_DIR/$prog" ]]; then
      gcc -O2 -Wall -Wextra -o "$BIN_DIR/$prog.tmp.$$" "$BENCH_DIR/$prog.c"
      mv -f "$BIN_DIR/$prog.tmp.$$" "$BIN_DIR/$prog"
    fi
  done
}

# Our generator pids that are still alive (a recycled pid is not "ours"
# unless it runs gen).
live_gen_pids() {
  [[ -f "$PIDS_FILE" ]] || return 0
  local pid
  while read -r pid; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    # setsid and ip exec into gen; right after launch a pid may still be one.
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      gen | ip | setsid) echo "$pid" ;;
    esac
  done <"$PIDS_FILE"
  return 0
}

# Sends SIGTERM to the given pids, waits up to 10 s, then SIGKILLs the rest.
stop_pids() {
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  local pid tries
  for ((tries = 0; tries < 100; tries++)); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
}

do_down() {
  local pids
  mapfile -t pids < <(live_gen_pids)
  stop_pids "${pids[@]}"
  if netns_exists; then
    # Anything still inside the namespace was started in it by this script.
    mapfile -t pids < <(ip netns pids "$NAME" 2>/dev/null || true)
    stop_pids "${pids[@]}"
    ip netns delete "$NAME"
  fi
  rm -rf "$PIDS_FILE" "$ARGS_FILE" "$LOG_DIR"
}

# True when NAME runs with exactly these arguments and every generator lives.
already_up() {
  local want="$1"
  netns_exists && [[ -f "$ARGS_FILE" && -f "$PIDS_FILE" ]] || return 1
  [[ "$(cat "$ARGS_FILE")" == "$want" ]] || return 1
  [[ "$(live_gen_pids | wc -l)" == "$(grep -c . "$PIDS_FILE")" ]]
}

make_netns() {
  ip netns add "$NAME"
  ip -n "$NAME" link set lo up
  # tcp_tw_reuse=0: the generators' own connects must never take over (and
  # so destroy) a TIME_WAIT socket they made earlier.
  ip netns exec "$NAME" sysctl -q -w \
    net.ipv4.ip_local_port_range="1024 65535" \
    net.ipv4.tcp_max_tw_buckets=2000000 \
    net.core.somaxconn=65535 \
    net.ipv4.tcp_max_syn_backlog=65535 \
    net.ipv4.tcp_tw_reuse=0
}

# share TOTAL PARTS INDEX: INDEX's part of TOTAL split as evenly as possible.
share() { echo $(($1 / $2 + ($3 < $1 % $2 ? 1 : 0))); }

start_gens() {
  local pairs="$1" timewait="$2" gens="$3" i
  mkdir -p "$LOG_DIR"
  : >"$PIDS_FILE"
  for ((i = 0; i < gens; i++)); do
    # setsid: the generators outlive this shell and ignore its terminal.
    # It execs without forking here (a background job is no group leader),
    # and so does `ip netns exec`, so $! is gen's own pid.
    setsid ip netns exec "$NAME" "$BIN_DIR/gen" -D \
      -n "$(share "$pairs" "$gens" "$i")" -t "$(share "$timewait" "$gens" "$i")" \
      -p $((BASE_PORT + i)) -b "$i" \
      -l "$EXTRA_LISTENERS" -x $((BASE_PORT + 1000 + i * EXTRA_LISTENERS)) \
      </dev/null >"$LOG_DIR/gen-$i.out" 2>"$LOG_DIR/gen-$i.err" 9>&- &
    echo "$!" >>"$PIDS_FILE"
  done
}

wait_ready() {
  local gens="$1" deadline=$((SECONDS + READY_TIMEOUT)) i ready pid
  while :; do
    ready=0
    i=0
    while read -r pid; do
      if grep -q '^ready ' "$LOG_DIR/gen-$i.out" 2>/dev/null; then
        ready=$((ready + 1))
      elif ! kill -0 "$pid" 2>/dev/null; then
        cat "$LOG_DIR/gen-$i.err" >&2 || true
        die "generator $i (pid $pid) exited before ready"
      fi
      i=$((i + 1))
    done <"$PIDS_FILE"
    ((ready == gens)) && return 0
    ((SECONDS < deadline)) || die "generators not ready after ${READY_TIMEOUT}s"
    sleep 0.2
  done
}

cmd_up() {
  local pairs="$1" timewait="${2:-0}"
  is_uint "$pairs" && is_uint "$timewait" || usage
  is_uint "$EXTRA_LISTENERS" && is_uint "$BASE_PORT" || die "bad BASE_PORT/EXTRA_LISTENERS"
  local gens=$(((pairs + PAIRS_PER_GEN - 1) / PAIRS_PER_GEN))
  ((gens > 0)) || gens=1
  ((gens <= 256)) || die "at most $((256 * PAIRS_PER_GEN)) pairs"
  local args="pairs=$pairs timewait=$timewait gens=$gens base_port=$BASE_PORT extra_listeners=$EXTRA_LISTENERS"
  lock
  build
  if already_up "$args"; then
    echo "table $NAME already up: $args"
    return 0
  fi
  do_down

  # From here on, any failure or interrupt tears the half-built table down.
  local started=$SECONDS
  trap 'rc=$?; trap - EXIT; echo "table.sh: up $NAME failed, cleaning up" >&2; do_down; rm -f "$LOCK_FILE"; exit $rc' EXIT
  trap 'exit 130' INT TERM
  make_netns
  start_gens "$pairs" "$timewait" "$gens"
  wait_ready "$gens"
  echo "$args" >"$ARGS_FILE"
  trap - EXIT INT TERM

  echo "table $NAME up in $((SECONDS - started)) s: $gens generators," \
    "$((2 * pairs)) ESTABLISHED + $timewait TIME_WAIT" \
    "+ $((gens * (1 + EXTRA_LISTENERS))) LISTEN sockets; pids in $PIDS_FILE"
}

cmd_down() {
  lock
  do_down
  rm -f "$LOCK_FILE"
  echo "table $NAME down"
}

cmd_count() {
  netns_exists || die "no namespace $NAME"
  local rows
  rows="$(ip netns exec "$NAME" ss -tan | awk 'NR > 1 { print $1 }')"
  [[ -n "$rows" ]] && sort <<<"$rows" | uniq -c | awk '{ printf "%-12s %d\n", $2, $1 }'
  printf '%-12s %d\n' total "$(grep -c . <<<"$rows" || true)"
}

main() {
  if [[ "${1:-}" == build && $# -eq 1 ]]; then
    build
    return 0
  fi
  (($# >= 2)) || usage
  [[ $EUID -eq 0 ]] || die "needs root (ip netns)"
  local cmd="$1"
  set_paths "$2"
  shift 2
  case "$cmd" in
    up) (($# >= 1 && $# <= 2)) || usage; cmd_up "$@" ;;
    down) (($# == 0)) || usage; cmd_down ;;
    count) (($# == 0)) || usage; cmd_count ;;
    *) usage ;;
  esac
}

main "$@"
