#!/bin/sh
# make demo — the main job of jauth, step by step, with the real CLI against
# the local Atlassian stand-in (tests/standin). Nothing outside a temp dir is
# touched; everything is cleaned up at the end. Exits non-zero if a step fails.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${B:-$top/build}
jauth_bin="$build/bin/jauth"
export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The stand-in is on loopback: never through a proxy of the environment.
export no_proxy="127.0.0.1,localhost,::1${no_proxy:+,$no_proxy}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jauth-demo-XXXXXX")
standin_pid=""
cleanup() {
	[ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null && wait "$standin_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step=0
# Bold headings on a terminal only: a log file gets no escape codes.
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold='' plain=''; fi
say() {
	step=$((step + 1))
	printf '\n%s== %d. %s%s\n' "$bold" "$step" "$1" "$plain"
}
show() { # prints the command, then runs it
	printf '$ %s\n' "$*" | sed "s#$tmp#\$DEMO#g; s#$jauth_bin#jauth#" >&2
	"$@"
}
fingerprint() { # a short fingerprint of the stored refresh token, never the token
	python3 - "$1" <<'EOF'
import hashlib, json, sys
rec = json.load(open(sys.argv[1]))
print(hashlib.sha256(rec["refresh_token"].encode()).hexdigest()[:12])
EOF
}

mkdir -p "$tmp/conf" "$tmp/modules" "$tmp/standin"
chmod 700 "$tmp"
chmod 755 "$tmp/conf" "$tmp/modules"
install -m 0644 "$build"/modules/*.so "$tmp/modules/"
sh "$top/tests/standin/mkcerts.sh" "$tmp/standin"

# The stand-in issues access tokens that live 70 s and the stacks refresh
# them 64 s early, so that rotation can be watched without waiting an hour.
cat >"$tmp/standin/config.json" <<EOF
{"expires_in": 70}
EOF
python3 "$top/tests/standin/standin.py" --dir "$tmp/standin" \
	--config "$tmp/standin/config.json" 2>"$tmp/standin/log" &
standin_pid=$!
i=0
while [ ! -s "$tmp/standin/port" ]; do
	i=$((i + 1))
	[ $i -gt 150 ] && { echo "demo: the stand-in did not start" >&2; cat "$tmp/standin/log" >&2; exit 1; }
	sleep 0.1
done
site="https://127.0.0.1:$(cat "$tmp/standin/port")"
ca="$tmp/standin/ca.pem"

printf 'csecret\n' >"$tmp/client-secret"
printf 'unscoped-token\n' >"$tmp/api-token"
chmod 600 "$tmp/client-secret" "$tmp/api-token"

# Two stacks: OAuth 3LO alone, and the setup guide's pair (OAuth, with the
# API token in use until the consent is given).
common="auth_url=$site api_url=$site ca_file=$ca redirect_uri=https://app.example/oauth/callback refresh_leeway=64"
cat >"$tmp/conf/jira" <<EOF
# OAuth 2.0 (3LO), the recommended method.
required oauth3lo.so client_id=cid client_secret=@file:$tmp/client-secret \\
	$common
EOF
cat >"$tmp/conf/jira-fallback" <<EOF
# OAuth once consented; the API token until then, never after.
[success=done unavailable=ignore default=die] oauth3lo.so client_id=cid2 \\
	client_secret=@file:$tmp/client-secret $common
required apitoken.so site=$site ca_file=$ca email=svc@acme.com \\
	token=@file:$tmp/api-token expires=$(date -u -d '+200 days' +%Y-%m-%d)
EOF
chmod 644 "$tmp/conf/jira" "$tmp/conf/jira-fallback"
j() { show "$jauth_bin" -c "$tmp/conf" -m "$tmp/modules" -s "$tmp/state" "$@"; }

echo "jauth demo: a local Atlassian stand-in runs at $site"
echo "(conf dir \$DEMO/conf, modules \$DEMO/modules, state \$DEMO/state)"

say "lint: every stack is checked before anything runs"
j lint

say "the stack before consent: unavailable (exit status 3) with what to do"
set +e
j token jira
rc=$?
set -e
[ $rc -eq 3 ] || { echo "demo: expected exit status 3, got $rc" >&2; exit 1; }

say "authorize: the consent URL, the admin accepts (here: the stand-in), jauth finishes"
url=$("$jauth_bin" -c "$tmp/conf" -m "$tmp/modules" -s "$tmp/state" authorize jira --url-only)
echo "$url" | sed 's/state=[0-9a-f]*/state=…/' | cut -c1-160
callback=$(python3 - "$url" "$ca" <<'EOF'
import http.client, ssl, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
c.request("GET", u.path + "?" + u.query)
r = c.getresponse()
print(r.getheader("Location"))
EOF
)
echo "(the browser is sent back to https://app.example/oauth/callback?code=…&state=…)"
echo "$callback" | j authorize jira --callback -

say "token: a credential for any language (json, or a ready header)"
j token jira | python3 -c 'import json,sys; t=json.load(sys.stdin); t["authorization"]=t["authorization"][:14]+"…"; print(json.dumps(t, indent=1))'
j token jira --format header | cut -c1-30 | sed 's/$/…/'

say "check: GET {base}/rest/api/3/myself with it"
j check jira

say "expiry: the access token is due for refresh after 6 s; jauth refreshes it before it runs out"
before=$(fingerprint "$tmp/state/jira.oauth3lo.cid.json")
echo "refresh token in the store: $before"
echo "(waiting 7 s)"
sleep 7
j token jira --format header | cut -c1-30 | sed 's/$/…/'
after=$(fingerprint "$tmp/state/jira.oauth3lo.cid.json")
echo "refresh token in the store: $after (rotated, saved before the new access token was handed out)"
[ "$before" != "$after" ] || { echo "demo: the refresh token did not rotate" >&2; exit 1; }

say "refresh: force one now (cron does this to keep an idle grant alive)"
j refresh jira
echo "refresh token in the store: $(fingerprint "$tmp/state/jira.oauth3lo.cid.json")"

say "status: the line in force, the grant's site, scopes, age, idle time"
j status jira

say "fallback: OAuth not consented yet for jira-fallback, so the API token serves"
j token jira-fallback | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["scheme"], "from", t["source"].replace(sys.argv[1], "$DEMO"), "("+t["module"]+")")' "$tmp"
j check jira-fallback

say "revoke: forget the grant, and the admin's remaining steps at Atlassian"
j revoke jira
set +e
j token jira >/dev/null
rc=$?
set -e
[ $rc -eq 3 ] || { echo "demo: expected exit status 3 after revoke, got $rc" >&2; exit 1; }
echo "(after revoke, jira needs consent again: exit status $rc)"

printf '\n%sdemo finished: every step worked.%s\n' "$bold" "$plain"
