"""jauth.Session / RequestsAuth (requests) and HttpxAuth (httpx) against the
stand-in's /rest/api/3/myself: the header, the base URL join, and one retry
with a fresh credential after a 401."""

import io
import urllib.parse

import httpx
import pytest
import requests

import jauth


@pytest.fixture
def oauth_handle(tree):
    tree.oauth()
    tree.consent()
    with tree.open() as h:
        yield h


def test_requests_session_joins_the_base_url_and_sets_the_header(
        oauth_handle, standin):
    s = jauth.Session(oauth_handle)
    assert isinstance(s, requests.Session) and isinstance(s, jauth.Session)
    s.verify = standin.ca
    r = s.get("/rest/api/3/myself")
    assert r.status_code == 200
    assert r.json()["accountId"] == "acc-1"
    assert r.url == oauth_handle.acquire().url("/rest/api/3/myself")


def test_requests_401_is_reported_and_retried_once(oauth_handle, standin):
    s = jauth.Session(oauth_handle)
    s.verify = standin.ca
    assert s.get("/rest/api/3/myself").status_code == 200
    standin.ctl("expire_access_tokens")  # Jira now refuses the token
    r = s.get("/rest/api/3/myself")
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [401]
    assert standin.counter("refresh_grants") == 1


def test_requests_auth_on_a_plain_session_with_absolute_urls(oauth_handle,
                                                              standin):
    s = requests.Session()
    s.auth = jauth.RequestsAuth(oauth_handle)
    assert isinstance(s.auth, requests.auth.AuthBase)
    assert isinstance(s.auth, jauth.RequestsAuth)
    url = oauth_handle.acquire().url("/rest/api/3/myself")
    standin.ctl("expire_access_tokens")
    r = s.get(url, verify=standin.ca)
    assert r.status_code == 200 and len(r.history) == 1


def test_requests_gives_up_when_jauth_has_nothing_newer(tree, standin,
                                                        monkeypatch):
    """A rejected API token: the report makes acquire say Denied, with
    what to do."""
    monkeypatch.setenv("JIRA_API_TOKEN", "scoped-token")  # 401 at the site
    tree.apitoken()
    with tree.open() as h:
        s = jauth.Session(h)
        s.verify = standin.ca
        with pytest.raises(jauth.Denied, match="create a new one"):
            s.get("/rest/api/3/myself")


def test_requests_with_an_api_token(tree, standin, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", "unscoped-token")
    tree.apitoken()
    with tree.open() as h:
        s = jauth.Session(h)
        s.verify = standin.ca
        r = s.get("/rest/api/3/myself")
    assert r.status_code == 200 and r.json()["displayName"] == "Sync Service"


def test_httpx_joins_relative_urls_and_retries_after_401(oauth_handle,
                                                         standin):
    with httpx.Client(auth=jauth.HttpxAuth(oauth_handle),
                      verify=standin.ca) as c:
        assert c.get("/rest/api/3/myself").status_code == 200
        standin.ctl("expire_access_tokens")
        r = c.get("/rest/api/3/myself")
    assert r.status_code == 200
    assert r.json()["accountId"] == "acc-1"
    assert [h.status_code for h in r.history] == [401]
    assert standin.counter("refresh_grants") == 1
    assert isinstance(jauth.HttpxAuth(oauth_handle), httpx.Auth)


def test_httpx_with_a_base_url_client(oauth_handle, standin):
    base = oauth_handle.acquire().base_url
    with httpx.Client(base_url=base, auth=jauth.HttpxAuth(oauth_handle),
                      verify=standin.ca) as c:
        assert c.get("/rest/api/3/myself").status_code == 200


def test_adapters_do_not_import_http_clients_with_the_package():
    import subprocess
    import sys
    code = ("import sys, jauth\n"
            "assert 'requests' not in sys.modules, 'requests'\n"
            "assert 'httpx' not in sys.modules, 'httpx'\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(__import__("os").environ,
                            PYTHONPATH=jauth.__path__[0] + "/.."))


def test_httpx_async_client_retries_after_401(oauth_handle, standin):
    import asyncio

    async def calls():
        async with httpx.AsyncClient(auth=jauth.HttpxAuth(oauth_handle),
                                     verify=standin.ca) as c:
            first = await c.get("/rest/api/3/myself")
            standin.ctl("expire_access_tokens")
            return first, await c.get("/rest/api/3/myself")

    first, second = asyncio.run(calls())
    assert first.status_code == 200 and second.status_code == 200
    assert [h.status_code for h in second.history] == [401]
    assert standin.counter("refresh_grants") == 1


def _fault_on_myself(handle, standin, status):
    """The next GET /rest/api/3/myself of HANDLE's site answers STATUS."""
    path = urllib.parse.urlsplit(
        handle.acquire().url("/rest/api/3/myself")).path
    standin.ctl("fault", {"path": path, "status": status})


def test_requests_403_is_retried_too(oauth_handle, standin):
    s = jauth.Session(oauth_handle)
    s.verify = standin.ca
    _fault_on_myself(oauth_handle, standin, 403)
    r = s.get("/rest/api/3/myself")
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [403]


def test_statuses_narrows_what_is_retried(oauth_handle, standin):
    s = jauth.Session(oauth_handle, statuses=(401,))
    s.verify = standin.ca
    _fault_on_myself(oauth_handle, standin, 403)
    r = s.get("/rest/api/3/myself")
    assert r.status_code == 403 and r.history == []
    _fault_on_myself(oauth_handle, standin, 403)
    with httpx.Client(auth=jauth.HttpxAuth(oauth_handle, statuses=(401,)),
                      verify=standin.ca) as c:
        assert c.get("/rest/api/3/myself").status_code == 403


@pytest.mark.parametrize("body", [
    lambda: io.BytesIO(b'{"a": 1}'),
    lambda: (part for part in [b'{"a": ', b'1}']),  # sent chunked
], ids=["file", "generator"])
def test_requests_does_not_retry_a_streamed_body(oauth_handle, standin,
                                                  body):
    """A stream is read by the first send: a retry would send it empty.
    The 401 comes back instead, with nothing reported or retried."""
    s = jauth.Session(oauth_handle)
    s.verify = standin.ca
    _fault_on_myself(oauth_handle, standin, 401)
    r = s.post("/rest/api/3/myself", data=body())
    assert r.status_code == 401 and r.history == []
    assert standin.counter("refresh_grants") == 0
