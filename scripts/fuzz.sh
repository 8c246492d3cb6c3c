#!/usr/bin/env bash
# Fuzzes the pure parser (native/parser.cc) with libFuzzer under ASan and
# UBSan: builds native/fuzz/parser_fuzz.cc into native/fuzz/out/ and runs it
# for FUZZ_SECONDS (default 60) over a fresh copy of the committed seed corpus
# (native/fuzz/corpus/, slices of the recorded test/fixtures dumps). Exits
# non-zero on any finding; the reproducer is written to native/fuzz/out/
# (crash-*, leak-*, timeout-*): rerun it with
#   native/fuzz/out/parser_fuzz native/fuzz/out/crash-...
#
# Needs clang++ with libFuzzer (Debian: clang, libfuzzer-14-dev,
# libclang-rt-14-dev); installs them when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
cxx="${FUZZ_CXX:-clang++}"
out=native/fuzz/out
flags=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -g -O1 -std=c++17 -Wall -Wextra)

# The real test for "clang with libFuzzer is usable": link an empty target.
# A clang++ without the fuzzer runtime fails here, not halfway through.
can_link_fuzzer() {
  command -v "$cxx" >/dev/null 2>&1 || return 1
  local probe
  probe="$(mktemp -d)"
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' \
    >"$probe/probe.cc"
  local status=0
  "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" \
    >/dev/null 2>&1 || status=1
  rm -rf "$probe"
  return "$status"
}

if ! can_link_fuzzer; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "fuzz: $cxx with libFuzzer is missing and we are not root;" \
      "install clang libfuzzer-14-dev libclang-rt-14-dev" >&2
    exit 1
  fi
  echo "fuzz: installing clang and the libFuzzer runtime" >&2
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    clang libfuzzer-14-dev libclang-rt-14-dev
  can_link_fuzzer || {
    echo "fuzz: $cxx still cannot link -fsanitize=fuzzer after installing" >&2
    exit 1
  }
fi

mkdir -p "$out"
# The parser is pure: no Node headers, just parser.cc and columns.cc.
"$cxx" "${flags[@]}" -o "$out/parser_fuzz" \
  native/fuzz/parser_fuzz.cc native/parser.cc native/columns.cc

# libFuzzer adds what it finds to the first corpus directory: work on a copy
# so the committed seeds stay small and reviewed.
rm -rf "$out/corpus"
mkdir -p "$out/corpus"
cp native/fuzz/corpus/* "$out/corpus/"

# halt_on_error and abort_on_error make any sanitizer report a crash that
# libFuzzer saves and exits non-zero for.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
"$out/parser_fuzz" \
  -max_total_time="$seconds" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -print_final_stats=1 \
  -artifact_prefix="$out/" \
  "$out/corpus"
