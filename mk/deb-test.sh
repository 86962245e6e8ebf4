#!/bin/sh
# mk/deb-test.sh — the Debian packages, built and installed on a bare
# Debian 12, by hand (not CI; needs root, dpkg-dev, debhelper, mmdebstrap
# and the Debian mirror).
#
#   sudo sh mk/deb-test.sh [WORKDIR]
#
# Copies the checkout (tracked and new files, not build/) to WORKDIR,
# runs `dpkg-buildpackage -us -uc -b` and lintian there, makes a bare
# bookworm root with mmdebstrap, installs the .debs in it with
# `apt-get install ./*.deb` and runs `jauth modules` (which must list
# apitoken.so and oauth3lo.so from the library's own module directory),
# then README's service-user path (mk/readme-walk.sh) on that install.
# WORKDIR (a temp dir by default) is removed unless KEEP=1.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "deb-test: run as root (mmdebstrap, chroot)" >&2; exit 2; }
work=${1:-$(mktemp -d /var/tmp/jauth-deb-XXXXXX)}
root="$work/root"
mounted=""
cleanup() {
	for m in $mounted; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "deb-test: kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT INT TERM
step() { printf '\n==== deb-test: %s\n' "$*"; }

step "dpkg-buildpackage -us -uc -b in $work/jauth"
mkdir -p "$work/jauth"
(cd "$top" && git ls-files -co --exclude-standard) | grep -v '^build/' |
	(cd "$top" && tar cf - -T -) | tar xf - -C "$work/jauth"
(cd "$work/jauth" && dpkg-buildpackage -us -uc -b -j2 >"$work/build.log" 2>&1) ||
	{ tail -40 "$work/build.log"; exit 1; }
ls "$work"/*.deb
for d in "$work"/*.deb; do
	case $d in *-dbgsym_*) continue ;; esac
	printf '%s: Depends: %s\n' "$(dpkg-deb -f "$d" Package)" "$(dpkg-deb -f "$d" Depends)"
done

step "lintian"
lintian --tag-display-limit 0 "$work"/jauth_*.changes || true

step "mmdebstrap --variant=apt bookworm $root"
mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
	bookworm "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/debs"
cp "$work"/libjauth1_*.deb "$work"/libjauth-dev_*.deb "$work"/jauth_*.deb "$root/debs/"
ls "$work"/libjauth1-pgsql_*.deb >/dev/null 2>&1 && cp "$work"/libjauth1-pgsql_*.deb "$root/debs/"
mount -t proc proc "$root/proc" && mounted="$root/proc"

step "apt-get install ./debs/*.deb"
chroot "$root" sh -euc 'apt-get update -qq && cd /debs &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./*.deb 2>&1 | tail -5'
step "jauth modules (as installed: no -m, no LD_LIBRARY_PATH)"
chroot "$root" sh -euc 'dpkg-query -W "*jauth*"; dpkg -L libjauth1-pgsql | grep "\.s[oq]"
	jauth --version; jauth modules' |
	tee "$work/modules.out"
grep -q apitoken.so "$work/modules.out" && grep -q oauth3lo.so "$work/modules.out"
step "README's connector's user, pasted, on the packages (mk/readme-walk.sh)"
mkdir -p "$root/jauth/mk"
cp "$top/README.md" "$root/jauth/"
cp "$top/mk/readme-walk.sh" "$root/jauth/mk/"
touch "$root/.jauth-scratch-root"
chroot "$root" sh /jauth/mk/readme-walk.sh
step "ok: the packages install on a bare bookworm and jauth lists both modules"
