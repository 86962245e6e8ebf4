#!/bin/sh
# Installs what jauth needs to build and test, if it is missing, on Debian.
# Usage: mk/deps.sh [bench|fuzz|valgrind]  (extra packages for those targets)
#
# Every check looks for the file the build or a test uses (a header, a
# program, a Python module), not only for a command, so a half-installed
# system (gcc without libc6-dev, say) is completed on the next run. apt's
# output is kept and shown when an install fails.
set -eu

need=""
want() { need="$need $1"; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
# A header under /usr/include or its multiarch directory.
have_hdr() {
	for d in /usr/include /usr/include/*-linux-*; do
		[ -e "$d/$1" ] && return 0
	done
	return 1
}
have_py() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" 2>/dev/null; }
# The first existing file of the arguments (globs allowed).
have_file() {
	for f in "$@"; do [ -e "$f" ] && return 0; done
	return 1
}

missing() {
	need=""
	have_cmd make || want make
	have_cmd cc || want gcc
	have_hdr stdlib.h || want libc6-dev
	have_cmd pkg-config || want pkg-config
	have_hdr curl/curl.h || want libcurl4-openssl-dev
	have_hdr cjson/cJSON.h || want libcjson-dev
	have_hdr check.h || want check
	have_hdr subunit/child.h || want libsubunit-dev
	have_hdr security/pam_appl.h || want libpam0g-dev # PAM differential test
	have_hdr postgresql/libpq-fe.h || want libpq-dev # PostgreSQL store
	have_hdr openssl/evp.h || want libssl-dev # sealed records (seal.so)
	have_file /usr/lib/postgresql/15/bin/initdb || want postgresql-15
	have_file /usr/bin/openssl || want openssl # the tests' CA
	have_file /usr/bin/python3 || want python3 # the stand-in
	# The Python package's tests: pytest, the HTTP clients its adapters
	# serve, setuptools, pip and venv (ensurepip) for the install tests.
	have_py pytest || want python3-pytest
	have_py requests || want python3-requests
	have_py httpx || want python3-httpx
	have_py setuptools || want python3-setuptools
	have_py pip || want python3-pip
	have_py ensurepip || want python3-venv
	have_file /usr/sbin/mkfs.xfs /sbin/mkfs.xfs || want xfsprogs # power cut
	have_file /usr/bin/mount /bin/mount || want mount # its loop mount
	have_file /usr/bin/systemd-analyze || want systemd # verifies the units
	have_file /usr/share/bash-completion/bash_completion ||
		want bash-completion # the completion's test
	case "${1:-}" in
	bench) ;; # libpam0g-dev is in the base set
	valgrind) have_cmd valgrind || want valgrind ;;
	fuzz)
		have_cmd clang || want clang
		have_file /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a ||
			want libclang-rt-14-dev
		;;
	esac
}

missing "${1:-}"
[ -z "$need" ] && exit 0
echo "jauth: installing build dependencies:$need"
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif have_cmd sudo; then
	sudo="sudo"
else
	echo "jauth: missing:$need; run as root: apt-get update && apt-get install$need" >&2
	exit 1
fi
if ! have_cmd apt-get; then
	echo "jauth: no apt-get here: install the equivalents of$need, then run make again" >&2
	exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/jauth-deps-XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! { $sudo apt-get update &&
	$sudo apt-get install -y --no-install-recommends $need; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "jauth: installing$need failed (apt's output above): fix it, then run make again" >&2
	exit 1
fi
missing "${1:-}"
if [ -n "$need" ]; then
	tail -n 20 "$log" >&2
	echo "jauth: still missing after apt-get install:$need; install them by hand, then run make again" >&2
	exit 1
fi
