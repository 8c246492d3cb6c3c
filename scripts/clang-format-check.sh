#!/usr/bin/env bash
# Checks native/ against .clang-format (Google-based); with --fix, rewrites
# the files instead. Skips with a note when clang-format is absent; .ci/run
# installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "clang-format not installed: skipping the C++ format check (.ci/run installs it)" >&2
  exit 0
fi
mapfile -t files < <(git ls-files 'native/*.cc' 'native/*.h' 'native/**/*.cc' 'native/**/*.h' 2>/dev/null || find native -name '*.cc' -o -name '*.h')
[ "${#files[@]}" -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run -Werror "${files[@]}"
fi
