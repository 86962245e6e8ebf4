#!/bin/sh
# mk/bare-test.sh — the README's first commands on a bare Debian 12, by hand
# (not CI; it takes a while and needs root and the Debian mirror).
#
#   sudo sh mk/bare-test.sh [DIR]
#
# Builds a bare bookworm root with `mmdebstrap --variant=apt` in DIR (a
# fresh temp dir by default), installs only git and make in it, clones the
# committed HEAD of this checkout into /root/jauth and runs, inside a
# chroot, what the README says and what an admin does next:
#
#   make demo && make check                      (deps are installed by make)
#   make install PREFIX=/usr && jauth modules    (the live-system install)
#   make check                                   (still green after it)
#   mk/readme-walk.sh                            (README's service-user path)
#   make uninstall PREFIX=/usr
#
# /proc, /sys, /dev and a tmpfs /tmp are mounted for the run and unmounted
# at the end; DIR is removed unless KEEP=1. Daemons are not started in the
# root (a policy-rc.d, as in any build chroot), so postgresql-15's package
# scripts leave nothing running. Exits non-zero at the first failing step.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
suite=${SUITE:-bookworm}
# The mirror: $MIRROR, else this machine's own apt sources (mmdebstrap
# pastes a sources file it is given), else mmdebstrap's default.
if [ -n "${MIRROR:-}" ]; then
	mirror=$MIRROR
elif [ -f /etc/apt/sources.list.d/debian.sources ]; then
	mirror=/etc/apt/sources.list.d/debian.sources
elif [ -s /etc/apt/sources.list ]; then
	mirror=/etc/apt/sources.list
else
	mirror=""
fi
[ "$(id -u)" = 0 ] || { echo "bare-test: run as root (mmdebstrap, chroot, mount)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "bare-test: apt-get install mmdebstrap" >&2; exit 2; }
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
	echo "bare-test: note: uncommitted changes are not tested (HEAD is cloned)" >&2
fi
rev=$(git -C "$top" rev-parse HEAD)

root=${1:-$(mktemp -d /var/tmp/jauth-bare-XXXXXX)}
mounted=""
cleanup() {
	for m in $mounted; do umount -R "$m" 2>/dev/null || umount -l "$m" || true; done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bare-test: root kept in $root"
	else
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT INT TERM
step() { printf '\n==== bare-test: %s\n' "$*"; }

step "mmdebstrap --variant=apt $suite $root (+ git make)"
# The release file of a snapshot mirror may be past Valid-Until.
mmdebstrap --variant=apt --include=git,make \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	"$suite" "$root" ${mirror:+"$mirror"}
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
touch "$root/.jauth-scratch-root" # mk/readme-walk.sh runs only here
chmod 0755 "$root/usr/sbin/policy-rc.d"

step "clone $rev into /root/jauth"
git init -q "$root/root/jauth"
git -C "$root/root/jauth" -c safe.directory='*' fetch -q "$top" "$rev"
git -C "$root/root/jauth" checkout -q --detach FETCH_HEAD

mount -t proc proc "$root/proc" && mounted="$root/proc $mounted"
mount -t sysfs sysfs "$root/sys" && mounted="$root/sys $mounted"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" &&
	mounted="$root/dev $mounted"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" && mounted="$root/tmp $mounted"

# Runs a shell line in the root, as root, in the clone, with a clean env.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 /bin/sh -euc "cd /root/jauth && $1"
}

step "the root has: $(chroot "$root" dpkg-query -W -f='${Package} ' git make gcc libc6-dev 2>/dev/null)"
step "deps.sh with an unreachable mirror: fails with apt's own error"
# Every source the root has goes aside (sources.list or deb822 files).
mkdir "$root/etc/apt/sources.real"
for f in "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*; do
	[ -e "$f" ] && mv "$f" "$root/etc/apt/sources.real/"
done
echo "deb http://127.0.0.1:9/debian $suite main" >"$root/etc/apt/sources.list"
if in_root 'sh mk/deps.sh' 2>"$root/tmp/deps.err"; then
	echo "bare-test: deps.sh succeeded without a mirror" >&2; exit 1
fi
rm "$root/etc/apt/sources.list"
for f in "$root"/etc/apt/sources.real/*; do
	case $f in
	*/sources.list) mv "$f" "$root/etc/apt/" ;;
	*) mv "$f" "$root/etc/apt/sources.list.d/" ;;
	esac
done
rmdir "$root/etc/apt/sources.real"
tail -n 4 "$root/tmp/deps.err"
grep -q '^E: ' "$root/tmp/deps.err"
step "make demo"
in_root 'make -j2 demo'
step "make check"
in_root 'make -j2 check'
step "gcc without libc6-dev (the half-installed system): deps.sh completes it"
in_root 'dpkg -r --force-depends libc6-dev >/dev/null 2>&1; ! test -e /usr/include/stdlib.h;
	sh mk/deps.sh && test -e /usr/include/stdlib.h'
step "make install PREFIX=/usr, then jauth modules (no LD_LIBRARY_PATH, no -m)"
in_root 'make -j2 install PREFIX=/usr && test "$(stat -c %a /etc/jauth.d)" = 755 && jauth modules'
step "make check after the install"
in_root 'make -j2 check'
step "README's connector's user, pasted (mk/readme-walk.sh)"
in_root 'sh mk/readme-walk.sh'
step "make uninstall PREFIX=/usr"
in_root 'make uninstall PREFIX=/usr && ! test -e /usr/bin/jauth'
step "all passed on a bare $suite"
