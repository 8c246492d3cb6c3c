#!/usr/bin/env bash
# The floor: how fast can this kernel hand over the socket table of NAME?
#
#   bench/floor.sh NAME [RUNS]      (RUNS defaults to 5)
#
# Times, interleaved round by round so that drift hits all three alike:
#   nldump ext=0x00   bare inet_diag rows
#   nldump ext=0x02   rows + struct tcp_info (INET_DIAG_INFO)
#   ss -tan | wc -l   what an operator would type (date +%s%N around it)
# after one untimed nldump run (the first dump assigns socket cookies), and
# prints min, median and sockets/s (rows / median). nldump times itself
# (socket() to close(), both families); ss is timed as a whole process.
# Needs root; build the table first with bench/table.sh up NAME ...
set -euo pipefail

readonly BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly NLDUMP="$BENCH_DIR/bin/nldump"

die() {
  echo "floor.sh: $*" >&2
  exit 1
}

(($# >= 1 && $# <= 2)) || die "usage: bench/floor.sh NAME [RUNS]"
readonly NAME="$1" RUNS="${2:-5}"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"

# Everything below runs inside the namespace, so ss is timed without the
# cost of `ip netns exec` (which remounts /sys) in every sample.
if [[ "${SOCKDIAG_FLOOR_IN_NETNS:-}" != "$NAME" ]]; then
  [[ $EUID -eq 0 ]] || die "needs root (ip netns exec)"
  [[ -e "/run/netns/$NAME" ]] || die "no namespace $NAME (bench/table.sh up $NAME PAIRS)"
  if [[ ! -x "$NLDUMP" || "$BENCH_DIR/nldump.c" -nt "$NLDUMP" ]]; then
    mkdir -p "$BENCH_DIR/bin"
    gcc -O2 -Wall -Wextra -o "$NLDUMP" "$BENCH_DIR/nldump.c"
  fi
  exec ip netns exec "$NAME" env SOCKDIAG_FLOOR_IN_NETNS="$NAME" \
    bash "${BASH_SOURCE[0]}" "$@"
fi

# field KEY LINE: the value of KEY=value in nldump's output line.
field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

declare -a t_ext0 t_info t_ss
rows_ext0="" rows_info="" rows_ss="" recv_ext0="" recv_info=""

nldump_once() {
  local out
  out="$("$NLDUMP" -e "$1" -r 1 | grep '^run ')" || die "nldump -e $1 failed"
  echo "$out"
}

echo "# warm-up (untimed): rows by state"
"$NLDUMP" -v -e 0 | grep '^  [A-Z]'

for ((r = 1; r <= RUNS; r++)); do
  line="$(nldump_once 0)"
  t_ext0+=("$(field time_s "$line")")
  rows_ext0="$(field rows "$line")" recv_ext0="$(field recvmsg "$line")"

  line="$(nldump_once 2)"
  t_info+=("$(field time_s "$line")")
  rows_info="$(field rows "$line")" recv_info="$(field recvmsg "$line")"

  start=$(date +%s%N)
  lines=$(ss -tan | wc -l)
  end=$(date +%s%N)
  t_ss+=("$(awk -v ns=$((end - start)) 'BEGIN { printf "%.6f", ns / 1e9 }')")
  rows_ss=$((lines - 1)) # header line
done

# row LABEL ROWS RECVMSG TIMES...: one table line with min, median, rate.
row() {
  local label="$1" rows="$2" recv="$3"
  shift 3
  printf '%s\n' "$@" | sort -g | awk -v label="$label" -v rows="$rows" -v recv="$recv" '
    { t[NR] = $1 }
    END {
      med = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
      printf "%-20s %9d %8s %9.4f %9.4f %12.0f\n", label, rows, recv, t[1], med, rows / med
    }'
}

echo "# netns $NAME, $(nproc) CPUs, kernel $(uname -r), $RUNS interleaved runs;" \
  "host TCP sockets allocated (all netns): $(awk '/^TCP:/ { print $9 }' /proc/net/sockstat)"
printf '%-20s %9s %8s %9s %9s %12s\n' method rows recvmsg min_s median_s sockets/s
row "nldump ext=0x00" "$rows_ext0" "$recv_ext0" "${t_ext0[@]}"
row "nldump ext=0x02" "$rows_info" "$recv_info" "${t_info[@]}"
row "ss -tan | wc -l" "$rows_ss" "-" "${t_ss[@]}"
