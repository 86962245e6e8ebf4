#!/bin/sh
# mk/readme-walk.sh — README's "The connector's user" and both quick
# starts, pasted as written, on a machine where jauth is installed. Run as
# root inside a scratch root only (mk/bare-test.sh does): it creates the
# user jira-sync, /etc/jauth/secret and /etc/jauth.d/jira.
#
# The steps that need Atlassian or a browser (`check`, the interactive
# `authorize`) are left out; the walk runs `authorize --url-only` as the
# connector's user instead, and checks that forgetting the state directory
# is a config error, not a grant stored where the connector never looks.
set -eu

readme=$(cd "$(dirname "$0")/.." && pwd)/README.md
[ -f /.jauth-scratch-root ] || { echo "readme-walk: only in a scratch root (mk/bare-test.sh)" >&2; exit 2; }
command -v sudo >/dev/null || apt-get install -y -qq sudo >/dev/null

# The ```sh blocks of a README section, in order; with N, only the Nth.
blocks() {
	awk -v want="$1" -v only="${2:-0}" '/^## /{sec=$0} /^```/{if(inb){inb=0;next} if(sec==want && $0=="```sh"){n++; inb=(!only || n==only);next}} inb' "$readme"
}
walk=$(mktemp)
{ blocks "## The connector's user"; blocks "## Quick start: API token" | grep -v ' check jira$'; } >"$walk"
echo "---- the README's steps:"; cat "$walk"; echo "----"
echo "dummy-api-token" | sh -ex "$walk"

echo "---- as the connector's user, with its state directory"
sudo -u jira-sync jauth -s /var/lib/jira-sync status jira

# The OAuth quick start, with the console's IDs filled in; its authorize
# (which waits for a browser) becomes --url-only, and check is left out.
{ blocks "## Quick start: OAuth 2.0 (3LO), recommended" 1 |
	grep -v -e ' authorize jira ' -e ' check jira$' |
	sed -e 's/YOUR-CLIENT-ID/abcDEF123/' \
	    -e 's/YOUR-CLOUD-ID/11111111-2222-3333-4444-555555555555/'; } >"$walk"
echo "---- the OAuth quick start's steps:"; cat "$walk"; echo "----"
echo "dummy-client-secret" | sh -ex "$walk"
echo "---- authorize as the connector's user, with its state directory"
sudo -u jira-sync jauth -s /var/lib/jira-sync authorize jira --url-only >"$walk"
cut -c1-60 "$walk"
grep -q '^https://auth.atlassian.com/authorize?' "$walk"
echo "---- and without it: a config error naming JAUTH_STATE_DIR (exit 2)"
st=0
sudo -u jira-sync jauth authorize jira --url-only 2>"$walk" >/dev/null || st=$?
cat "$walk"
[ "$st" = 2 ] && grep -q JAUTH_STATE_DIR "$walk"
rm -f "$walk"
echo "readme-walk: ok"
