"""Fixtures of the Python package's tests: libjauth of the build tree, the
project's Atlassian stand-in over TLS (tests/standin/), and a private tree of
stacks, modules and state per test.

Run from the repository: ``make check-python`` (or ``JAUTH_LIBRARY=build/lib/
libjauth.so.1 python3 -m pytest -q bindings/python/tests``).
"""

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(PKG))
BUILD = os.environ.get("JAUTH_BUILD_DIR", os.path.join(REPO, "build"))

sys.path.insert(0, os.path.join(PKG, "src"))
os.environ.setdefault("JAUTH_LIBRARY",
                      os.path.join(BUILD, "lib", "libjauth.so.1"))

import jauth  # noqa: E402  (after the path is set)


class Standin:
    """The stand-in process and its test controls (/_standin/…)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="jauth-py-standin-")
        subprocess.run(["bash", os.path.join(REPO, "tests", "standin",
                                             "mkcerts.sh"), self.dir],
                       check=True)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.log = open(os.path.join(self.dir, "standin.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(REPO, "tests", "standin",
                                          "standin.py"), "--dir", self.dir],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        port_file = os.path.join(self.dir, "port")
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stand-in did not start: see "
                                   + self.log.name)
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        self.url = "https://127.0.0.1:%d" % self.port
        self.tls = ssl.create_default_context(cafile=self.ca)

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON body or text) of one request, TLS verified
        with the test CA; PATH may be a full URL on the stand-in."""
        parts = urllib.parse.urlsplit(path)
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.tls, timeout=30)
        try:
            data = None if body is None else json.dumps(body)
            hdrs = dict(headers or {})
            if data is not None:
                hdrs["Content-Type"] = "application/json"
            conn.request(method, target, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read().decode()
            location = resp.getheader("Location")
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return resp.status, parsed, location

    def ctl(self, what, body=None):
        status, parsed, _ = self.request("POST", "/_standin/" + what,
                                         body if body is not None else {})
        assert status == 200, (what, parsed)
        return parsed

    def counter(self, name):
        return self.request("GET", "/_standin/counters")[1][name]

    def consent(self, authorize_url):
        """What the browser does: the callback URL the consent redirects
        to."""
        status, body, location = self.request("GET", authorize_url)
        assert status == 302 and location, (status, body)
        return location

    def myself(self, cred):
        """GET {base}/rest/api/3/myself with CRED, as Jira is called."""
        return self.request("GET", cred.url("/rest/api/3/myself"),
                            headers=cred.headers)[0]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def standin_proc():
    s = Standin()
    yield s
    s.stop()


@pytest.fixture
def standin(standin_proc):
    standin_proc.ctl("reset")
    return standin_proc


class Tree:
    """conf/, modules/ (copies of the built modules, 0644) and state/ of
    one test, and the options to open stacks from them."""

    def __init__(self, root, standin=None):
        self.root = str(root)
        os.chmod(self.root, 0o700)
        self.conf = os.path.join(self.root, "conf")
        self.mods = os.path.join(self.root, "modules")
        self.state = os.path.join(self.root, "state")
        os.mkdir(self.conf, 0o755)
        os.mkdir(self.mods, 0o755)
        for name in os.listdir(os.path.join(BUILD, "modules")):
            if name.endswith(".so"):
                dst = os.path.join(self.mods, name)
                shutil.copyfile(os.path.join(BUILD, "modules", name), dst)
                os.chmod(dst, 0o644)
        self.standin = standin
        self.opts = {"conf_path": self.conf, "module_path": self.mods,
                     "state_dir": self.state}

    def env(self):
        """The environment a connector process of this tree runs with."""
        env = dict(os.environ, JAUTH_CONF_PATH=self.conf,
                   JAUTH_MODULE_PATH=self.mods, JAUTH_STATE_DIR=self.state,
                   PYTHONPATH=os.path.join(PKG, "src"))
        if self.standin:
            env["REQUESTS_CA_BUNDLE"] = self.standin.ca
            env["SSL_CERT_FILE"] = self.standin.ca
        return env

    def stack(self, service, text):
        path = os.path.join(self.conf, service)
        with open(path + ".new", "w") as f:
            f.write(text)
        os.chmod(path + ".new", 0o644)
        os.replace(path + ".new", path)
        return path

    def oauth(self, service="jira", extra=""):
        s = self.standin
        return self.stack(service,
                          "required oauth3lo.so client_id=cid "
                          "client_secret=@env:CLIENT_SECRET auth_url=%s "
                          "api_url=%s ca_file=%s "
                          "redirect_uri=https://app.example/cb %s\n"
                          % (s.url, s.url, s.ca, extra))

    def apitoken(self, service="jira", token="@env:JIRA_API_TOKEN",
                 extra=""):
        s = self.standin
        return self.stack(service,
                          "required apitoken.so site=%s email=svc@acme.com "
                          "token=%s ca_file=%s %s\n"
                          % (s.url, token, s.ca, extra))

    def open(self, service="jira", **kw):
        return jauth.open(service, **dict(self.opts, **kw))

    def consent(self, service="jira"):
        """One OAuth consent, as an admin's `jauth authorize` makes it."""
        with self.open(service) as h:
            callback = self.standin.consent(h.authorize_begin())
            return h.authorize_finish(callback)


@pytest.fixture
def tree(tmp_path, standin, monkeypatch):
    monkeypatch.setenv("CLIENT_SECRET", "csecret")
    # requests and httpx take their CA from these (and requests prefers
    # them to Session.verify): the stand-in's CA, as a connector's test
    # setup would do.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca)
    monkeypatch.setenv("SSL_CERT_FILE", standin.ca)
    return Tree(tmp_path, standin)


class Clock:
    """A clock for jauth.open(clock=…) that tests move by hand."""

    def __init__(self, t=None):
        self.t = int(time.time()) if t is None else t

    def __call__(self):
        return self.t
