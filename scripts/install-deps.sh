#!/usr/bin/env bash
# Debian packages the test suite uses beyond Node, npm, python3, make, g++ and
# iproute2: promtool/prometheus (metric lint, dashboard and alert proofs),
# clang + libFuzzer (parser fuzzing), clang-format (C++ style), valgrind (leak
# check of the addon), lintian, dpkg-dev (dpkg-shlibdeps) and systemd
# (systemd-analyze) for the Debian package's test and the unit check,
# nftables (SNAT in the incident tests), openssl (the TLS tests'
# certificates). Installs only what is missing.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v clang++ >/dev/null 2>&1 || need+=(clang)
compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null || need+=(libfuzzer-14-dev libclang-rt-14-dev)
command -v clang-format >/dev/null 2>&1 || need+=(clang-format)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v nstat >/dev/null 2>&1 || need+=(iproute2)
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
{ command -v nft || [ -x /usr/sbin/nft ]; } >/dev/null 2>&1 || need+=(nftables)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages (${need[*]}) and not root: install them, or tests will skip" >&2
    exit 0
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian's prometheus package starts a server on :9090; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
