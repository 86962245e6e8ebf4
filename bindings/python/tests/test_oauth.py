"""The package against the stand-in with oauth3lo.so: consent, acquire,
report, refresh, and storms of threads and processes at expiry."""

import datetime
import os
import subprocess
import sys
import threading

import pytest

import jauth
from conftest import HERE, Clock


def test_unavailable_before_consent_then_acquire_after(tree, standin):
    tree.oauth()
    with tree.open() as h:
        with pytest.raises(jauth.Unavailable) as err:
            h.acquire()
        assert "jauth authorize" in str(err.value)
        report = h.authorize_finish(standin.consent(h.authorize_begin()))
        assert "acme" in report
        cred = h.acquire()
    assert cred.scheme == "Bearer"
    assert cred.authorization.startswith("Bearer ")
    assert cred.base_url == standin.url + "/ex/jira/" + \
        "11111111-2222-3333-4444-555555555555"
    assert cred.module == "oauth3lo.so"
    assert cred.source == os.path.join(tree.conf, "jira") + ":1"
    assert cred.expires_at.tzinfo is datetime.timezone.utc
    left = cred.expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=50) < left <= \
        datetime.timedelta(hours=1)
    # the handle is closed: the copy still works at Jira
    assert standin.myself(cred) == 200


def test_report_401_makes_the_next_acquire_refresh(tree, standin):
    tree.oauth()
    tree.consent()
    with tree.open() as h:
        first = h.acquire()
        assert h.acquire().authorization == first.authorization
        standin.ctl("expire_access_tokens")
        assert standin.myself(first) == 401
        h.report(first, 401)
        second = h.acquire()
        assert second.authorization != first.authorization
        assert standin.myself(second) == 200
        assert standin.counter("refresh_grants") == 1
        # a report about a credential already replaced changes nothing
        h.report(first, 401)
        assert h.acquire().authorization == second.authorization
        assert standin.counter("refresh_grants") == 1


def test_refresh_gives_a_new_credential_and_old_copies_stay_intact(tree,
                                                                   standin):
    tree.oauth()
    tree.consent()
    with tree.open() as h:
        old = h.acquire()
        saved = (old.authorization, old.base_url, old.expires_at)
        new = h.refresh()
        assert new.authorization != old.authorization
        assert (old.authorization, old.base_url, old.expires_at) == saved
        assert standin.myself(new) == 200
    assert standin.counter("refresh_grants") == 1


def test_status_revoke(tree, standin):
    tree.oauth()
    tree.consent()
    with tree.open() as h:
        status = h.status()
        assert status["service"] == "jira"
        assert status["lines"][0]["module"] == "oauth3lo.so"
        steps = h.revoke()
        assert "user-connected-apps" in steps
        with pytest.raises(jauth.Unavailable):
            h.acquire()


@pytest.mark.parametrize("late", [3400, 3700], ids=["due", "expired"])
def test_thread_storm_at_expiry_refreshes_once(tree, standin, late):
    tree.oauth()
    tree.consent()
    clock = Clock()
    with tree.open(clock=clock) as h:
        h.acquire()
        clock.t += late
        n = 16
        gate = threading.Barrier(n)
        results = [None] * n

        def caller(i):
            gate.wait()
            try:
                results[i] = standin.myself(h.acquire())
            except jauth.JauthError as err:
                results[i] = err

        threads = [threading.Thread(target=caller, args=(i,))
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * n
    assert standin.counter("refresh_grants") == 1
    assert standin.counter("replays") == 0


@pytest.mark.parametrize("late", [3400, 3700], ids=["due", "expired"])
def test_process_storm_at_expiry_refreshes_once(tree, standin, late):
    tree.oauth()
    tree.consent()
    clock = Clock()
    procs = 8
    child = os.path.join(HERE, "storm_child.py")
    # Every child opens its handle, then waits for the gate (its stdin) so
    # that all of them acquire at once, 4 threads each.
    kids = [subprocess.Popen([sys.executable, child, "jira",
                              str(clock.t + late), "4"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=tree.env())
            for _ in range(procs)]
    for k in kids:
        assert k.stdout.readline() == b"ready\n"
    for k in kids:
        k.stdin.close()
    for k in kids:
        out, err = k.stdout.read(), k.stderr.read()
        assert k.wait(120) == 0, err.decode()
        assert out == b"served 4\n"
    assert standin.counter("refresh_grants") == 1
    assert standin.counter("token_requests") == 2  # the consent's + one
    assert standin.counter("replays") == 0


def test_threads_reporting_the_same_401_make_one_refresh(tree, standin):
    """Jira refused the token for every thread at once: each reports it,
    and the token is refreshed once, not once per thread."""
    tree.oauth()
    tree.consent()
    with tree.open() as h:
        old = h.acquire()
        standin.ctl("expire_access_tokens")
        n = 16
        gate = threading.Barrier(n)
        got = [None] * n

        def caller(i):
            cred = h.acquire()
            gate.wait()
            h.report(cred, 401)
            got[i] = h.acquire().authorization

        threads = [threading.Thread(target=caller, args=(i,))
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(set(got)) == 1 and got[0] != old.authorization
    assert standin.counter("refresh_grants") == 1
