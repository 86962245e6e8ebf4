"""Every result of libjauth becomes its exception, with jauth_error's text;
no secret ever reaches an exception, a repr, a traceback or the log."""

import logging
import os
import pickle
import subprocess
import sys
import traceback

import pytest

import jauth
from conftest import PKG

CANARY = "canary-7f3e9a-SECRET"


def _unavailable(tree):
    tree.oauth()
    return tree.open().acquire


def _denied(tree):
    tree.apitoken(token="@env:JIRA_API_TOKEN", extra="expires=2020-01-31")
    return tree.open().acquire


def _transient(tree):
    tree.oauth()
    tree.consent()
    tree.standin.ctl("fault", {"path": "/oauth/token", "status": 503,
                               "count": -1})
    return tree.open().refresh


def _config(tree):
    tree.stack("jira", "sometimes apitoken.so email=a token=@env:X\n")
    return lambda: tree.open()


def _no_stack(tree):
    return lambda: tree.open("nosuch")


def _closed(tree):
    tree.apitoken()
    h = tree.open()
    h.close()
    return h.acquire


# what sets it up, the exception, words its message must hold
TABLE = [
    (_unavailable, jauth.Unavailable, "jauth authorize"),
    (_denied, jauth.Denied, "expired on 2020-01-31"),
    (_transient, jauth.Transient, "503"),
    (_config, jauth.ConfigError, "jira:1:"),
    (_no_stack, jauth.ConfigError, 'no stack for service "nosuch"'),
    (_closed, jauth.Error, "closed"),
]


@pytest.mark.parametrize("make,exc,words", TABLE,
                         ids=[row[1].__name__ + "-" + row[0].__name__
                              for row in TABLE])
def test_results_map_to_exceptions(tree, monkeypatch, make, exc, words):
    monkeypatch.setenv("JIRA_API_TOKEN", CANARY)
    call = make(tree)
    with pytest.raises(exc) as err:
        call()
    assert isinstance(err.value, jauth.JauthError)
    assert words in str(err.value)
    assert err.value.result == exc.result
    assert CANARY not in str(err.value)


def test_exception_classes_form_one_hierarchy():
    for cls in (jauth.Unavailable, jauth.Denied, jauth.Transient,
                jauth.Error, jauth.ConfigError, jauth.LibraryNotFound):
        assert issubclass(cls, jauth.JauthError)
    assert issubclass(jauth.LibraryNotFound, OSError)
    names = {c.result_name for c in (jauth.Unavailable, jauth.Denied,
                                     jauth.Transient, jauth.Error,
                                     jauth.ConfigError)}
    assert names == {"unavailable", "denied", "transient", "error", "config"}


def test_report_needs_a_credential(tree):
    tree.apitoken()
    with tree.open() as h:
        with pytest.raises(TypeError):
            h.report("Basic abc", 401)


def test_close_is_idempotent_and_a_closed_handle_refuses(tree, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", "unscoped-token")
    tree.apitoken()
    with tree.open() as h:
        assert h.acquire().scheme == "Basic"
    h.close()
    h.close()
    assert h.closed
    for call in (h.acquire, h.refresh, h.status, h.revoke):
        with pytest.raises(jauth.Error, match="closed"):
            call()


def _failure_with_locals(cred, handle):
    """The traceback of HANDLE's failing acquire with every frame's locals
    (CRED among them), as pytest -l or a crash reporter prints it."""
    try:
        handle.acquire()
    except jauth.Denied:
        tb = traceback.TracebackException(*sys.exc_info(),
                                          capture_locals=True)
        return "".join(tb.format())
    raise AssertionError("the acquire did not fail")


def test_no_secret_in_repr_str_traceback_or_log(tree, standin, monkeypatch,
                                                caplog):
    """The canary is the API token: it must show only in
    cred.authorization (base64, as Jira wants it)."""
    import base64
    monkeypatch.setenv("JIRA_API_TOKEN", CANARY)
    tree.apitoken()
    encoded = base64.b64encode(b"svc@acme.com:" + CANARY.encode()).decode()
    lines = []
    with tree.open(log=lambda lvl, line: lines.append(line),
                   log_level=5) as h:
        cred = h.acquire()
        assert cred.authorization == "Basic " + encoded
        h.report(cred, 401)
        with pytest.raises(jauth.Denied) as err:
            h.acquire()
        text = _failure_with_locals(cred, h)
    shown = [repr(cred), str(cred), "%s" % cred, "%r" % [cred], str(err.value),
             repr(err.value), text, "\n".join(lines), repr(h)]
    assert lines, "the debug log said nothing"
    for s in shown:
        assert CANARY not in s and encoded not in s, s
    assert "***" in repr(cred)
    assert not hasattr(cred, "__dict__")
    with pytest.raises(TypeError):
        pickle.dumps(cred)


def test_default_log_goes_to_the_jauth_logger(tree, monkeypatch, caplog):
    monkeypatch.setenv("JIRA_API_TOKEN", CANARY)
    tree.apitoken()
    caplog.set_level(logging.DEBUG, logger="jauth")
    with tree.open() as h:
        h.report(h.acquire(), 401)
        with pytest.raises(jauth.Denied):
            h.acquire()
    assert any(r.name == "jauth" and "HTTP 401" in r.getMessage()
               for r in caplog.records)
    assert CANARY not in caplog.text


def test_import_works_without_the_library_and_the_error_says_what_to_do():
    env = dict(os.environ, JAUTH_LIBRARY="/nonexistent/libjauth.so.1",
               PYTHONPATH=os.path.join(PKG, "src"))
    code = ("import jauth\n"
            "try:\n"
            "    jauth.version()\n"
            "except jauth.LibraryNotFound as e:\n"
            "    assert isinstance(e, OSError)\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert "JAUTH_LIBRARY" in out and "/nonexistent/libjauth.so.1" in out


def test_lint_modules_services_version(tree):
    assert jauth.version() == jauth.__version__
    mods = {m["file"]: m for m in jauth.modules(**tree.opts)}
    assert mods["oauth3lo.so"]["abi"].startswith("1.")
    assert "apitoken.so" in mods
    tree.apitoken("good")
    tree.stack("bad", "required nosuch.so\nsometimes apitoken.so\n")
    assert {s["service"] for s in jauth.services(**tree.opts)} == \
        {"good", "bad"}
    assert jauth.lint("good", **tree.opts) == []
    problems = jauth.lint("bad", **tree.opts)
    assert len(problems) >= 2
    assert all(p.startswith(os.path.join(tree.conf, "bad") + ":")
               for p in problems)
    assert jauth.lint(**tree.opts) == problems


def test_lint_of_every_stack_passes_an_included_fragment(tree):
    """As jauth lint does: a stack without module lines that another stack
    includes is a fragment, not a problem; named alone it is one."""
    tree.stack("common", "store files\n")
    tree.stack("jira", "include common\nrequired apitoken.so "
               "site=https://acme.atlassian.net email=svc@acme.com "
               "token=@env:JIRA_API_TOKEN\n")
    assert jauth.lint(**tree.opts) == []
    assert ["no module lines" in p for p in
            jauth.lint("common", **tree.opts)] == [True]
    tree.stack("lonely", "store files\n")  # included by nobody
    assert ["no module lines" in p for p in jauth.lint(**tree.opts)] == \
        [True]


def test_a_forked_child_must_open_its_own_handle(tree, monkeypatch):
    """After fork() the parent's handle refuses in the child (its locks
    and TLS connections are the parent's) and keeps working in the
    parent."""
    monkeypatch.setenv("JIRA_API_TOKEN", "unscoped-token")
    tree.apitoken()
    with tree.open() as h:
        h.acquire()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: answers through the pipe, always exits
            msg = b"?"
            try:
                h.acquire()
                msg = b"used"
            except jauth.Error as err:
                msg = b"refused" if "forked" in str(err) else b"other"
                with tree.open() as mine:
                    msg += b" own " + mine.acquire().scheme.encode()
            finally:
                os.write(w, msg)
                os._exit(0)
        os.close(w)
        got = os.read(r, 100)
        os.waitpid(pid, 0)
        assert got == b"refused own Basic"
        assert h.acquire().scheme == "Basic"
