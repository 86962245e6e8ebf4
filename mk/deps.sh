#!/bin/sh
# Installs what jauth needs to build and test, if it is missing, on Debian.
# Usage: mk/deps.sh [bench|fuzz|valgrind]  (extra packages for those targets)
set -eu

need=""
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
want() { need="$need $1"; }

have_cmd pkg-config || want pkg-config
have_cmd cc || want gcc
have_cmd make || want make
have_pc libcurl || want libcurl4-openssl-dev
have_pc libcjson || want libcjson-dev
have_pc check || want check
[ -e /usr/include/subunit/child.h ] || want libsubunit-dev
have_cmd openssl || want openssl
[ -x /usr/bin/python3 ] || want python3
# The Python package's tests (make check-python): pytest, the two HTTP
# clients its adapters serve, setuptools and pip for the install test.
have_py() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" 2>/dev/null; }
have_py pytest || want python3-pytest
have_py requests || want python3-requests
have_py httpx || want python3-httpx
have_py setuptools || want python3-setuptools
have_py pip || want python3-pip
# Linux-PAM: the differential test of make check, and make bench.
[ -e /usr/include/security/pam_appl.h ] || want libpam0g-dev
have_pc libpq || want libpq-dev # the PostgreSQL store (store-pgsql.so)
[ -x /usr/lib/postgresql/15/bin/initdb ] || want postgresql-15 # its tests
case "${1:-}" in
valgrind) have_cmd valgrind || want valgrind ;;
fuzz) have_cmd clang || want clang
      ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a \
	      >/dev/null 2>&1 || want libclang-rt-14-dev ;;
esac

[ -z "$need" ] && exit 0
echo "jauth: installing build dependencies:$need"
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif have_cmd sudo; then
	sudo="sudo"
else
	echo "jauth: run as root: apt-get install$need" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
