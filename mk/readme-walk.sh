#!/bin/sh
# mk/readme-walk.sh — README's "The connector's user" and "Quick start: API
# token", pasted as written, on a machine where jauth is installed. Run as
# root inside a scratch root only (mk/bare-test.sh does): it creates the
# user jira-sync, /etc/jauth/secret and /etc/jauth.d/jira.
#
# The one step that needs Atlassian (`… check jira`) is left out; the
# walk then runs what the README says next as the connector's user and
# checks that forgetting the state directory is a config error.
set -eu

readme=$(cd "$(dirname "$0")/.." && pwd)/README.md
[ -f /.jauth-scratch-root ] || { echo "readme-walk: only in a scratch root (mk/bare-test.sh)" >&2; exit 2; }
command -v sudo >/dev/null || apt-get install -y -qq sudo >/dev/null

# The ```sh blocks of a README section, in order.
blocks() {
	awk -v want="$1" '/^## /{sec=$0} /^```/{if(inb){inb=0;next} if(sec==want && $0=="```sh"){inb=1;next}} inb' "$readme"
}
walk=$(mktemp)
{ blocks "## The connector's user"; blocks "## Quick start: API token" | grep -v ' check jira$'; } >"$walk"
echo "---- the README's steps:"; cat "$walk"; echo "----"
echo "dummy-api-token" | sh -ex "$walk"

echo "---- as the connector's user, with its state directory"
sudo -u jira-sync jauth -s /var/lib/jira-sync status jira
echo "---- as the connector's user, without it (a config error, exit 2)"
st=0
sudo -u jira-sync jauth status jira 2>"$walk" || st=$?
cat "$walk"
[ "$st" = 2 ] && grep -q JAUTH_STATE_DIR "$walk"
echo "readme-walk: ok"
