"""examples/connector.py, written from the docs alone, run as a connector
is run: it gets tokens, survives a 401 and expiries, prints no secret."""

import os
import re
import subprocess
import sys

from conftest import REPO

CONNECTOR = os.path.join(REPO, "examples", "connector.py")
SITE = "11111111-2222-3333-4444-555555555555"
CANARY = "canary-client-secret-5b1f"
# what the stand-in's tokens and refresh tokens, or the secret, look like
SECRET = re.compile(r"\b(at|rt)-[A-Za-z0-9_-]{16,}|" + CANARY)


def run(tree, *args):
    return subprocess.run([sys.executable, CONNECTOR] + list(args),
                          env=tree.env(), capture_output=True, text=True,
                          timeout=120)


def test_connector_survives_a_401_and_expiries(tree, standin, monkeypatch):
    # Tokens live 60 s and jauth renews them 58 s early, but hands a
    # credential out for at least 10 s: 12 requests 1 s
    # apart outlive one. The first call to Jira answers 401.
    standin.ctl("config", {"expires_in": 60, "clients": {
        "cid": {"secret": CANARY, "redirect_uris": []}}})
    monkeypatch.setenv("CLIENT_SECRET", CANARY)
    tree.oauth(extra="refresh_leeway=58")
    tree.consent()
    standin.ctl("fault", {"path": "/ex/jira/%s/rest/api/3/myself" % SITE,
                          "status": 401})
    p = run(tree, "-v", "--count", "12", "--interval", "1", "jira")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 12
    assert all(" HTTP 200 as Sync Service, Bearer credential " in line
               for line in lines), p.stdout
    assert lines[0].endswith("(retried after HTTP 401)")
    assert standin.counter("refresh_grants") >= 2  # the 401's, an expiry's
    assert "refreshing the OAuth grant" in p.stderr  # -v shows jauth's log
    assert not SECRET.search(p.stdout + p.stderr), p.stdout + p.stderr


def test_connector_says_what_to_do_before_consent(tree):
    tree.oauth()
    p = run(tree, "jira")
    assert p.returncode == 3
    assert "jauth authorize" in p.stderr
    assert not SECRET.search(p.stdout + p.stderr)
