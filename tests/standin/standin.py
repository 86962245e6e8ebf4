#!/usr/bin/python3
"""Local stand-in for Atlassian's auth.atlassian.com, api.atlassian.com and a
Jira Cloud site, all served over TLS on one port of 127.0.0.1.

    python3 standin.py --dir DIR [--config FILE.json] [--port N] [--verbose]

DIR holds ca.pem, server.pem and server.key (see mkcerts.sh). Once the server
listens, its port number is written to DIR/port (atomically). SIGTERM or
SIGINT stops it cleanly.

The OAuth 2.0 (3LO) endpoints behave like Atlassian's: authorization codes,
rotating refresh tokens with a reuse interval, replay detection that revokes
the whole grant, accessible-resources and the API gateway. API tokens
(scoped and unscoped) are checked by the gateway and by the site's
/rest/api/3/myself. Everything under /_standin/ is test control (counters,
config, faults, clock, revocation, shutdown).

Only the Python standard library is used. Tokens are never logged.
"""

import argparse
import base64
import copy
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_SITE_ID = "11111111-2222-3333-4444-555555555555"
AVATAR_URL = ("https://site-admin-avatar-cdn.prod.public.atl-paas.net"
              "/avatars/240/rocket.png")
MAX_BODY = 1 << 20          # largest request body accepted
CONN_TIMEOUT = 30           # seconds an idle connection is kept
COUNTERS = ("authorize", "token_requests", "code_grants", "refresh_grants",
            "reuses", "replays", "revocations", "code_reuses", "myself",
            "faults_served", "connections")

VERBOSE = False
_clock_offset = 0.0


def now():
    """The stand-in's clock: real time plus the offset tests advance."""
    return time.time() + _clock_offset


def log(msg):
    """One line to stderr, only with --verbose."""
    if VERBOSE:
        sys.stderr.write("standin: %s\n" % msg)
        sys.stderr.flush()


def default_config():
    """The configuration the stand-in starts with before --config."""
    return {
        "clients": {"cid": {"secret": "csecret", "redirect_uris": []}},
        "sites": [{"id": DEFAULT_SITE_ID,
                   "url": "https://acme.atlassian.net", "name": "acme"}],
        "grant_sites": None,        # None: every site in "sites"
        "deny_scopes": [],
        "consent": "accept",
        "expires_in": 3600,
        "reuse_interval": 600,
        "code_ttl": 600,
        "accounts": [
            {"email": "svc@acme.com", "token": "unscoped-token",
             "scoped": False, "cloud_id": None, "account_id": "acc-1",
             "name": "Sync Service"},
            # cloud_id None on a scoped account means the first site.
            {"email": "svc@acme.com", "token": "scoped-token",
             "scoped": True, "cloud_id": None, "account_id": "acc-1",
             "name": "Sync Service"},
        ],
        "user": {"account_id": "acc-1", "name": "Sync Service",
                 "email": "svc@acme.com"},
        "expired_status": 401,
        # Jira Data Center personal access tokens the "site" accepts as
        # Bearer (for the third-party module example).
        "pats": [{"token": "dc-pat-token", "account_id": "dc-1",
                  "name": "DC Service", "email": "svc@acme.com"}],
    }


class ConfigError(ValueError):
    """A configuration object that cannot be merged."""


def _check_type(key, value, types):
    if isinstance(value, bool) or not isinstance(value, types):
        raise ConfigError("config key %r has the wrong type" % key)


def _check_clients(clients):
    for client_id, client in clients.items():
        if not isinstance(client, dict) or \
                not isinstance(client.get("secret"), str) or \
                not isinstance(client.get("redirect_uris", []), list):
            raise ConfigError("client %r needs a string \"secret\" and a "
                              "list \"redirect_uris\"" % client_id)


def _check_list_of_objects(key, items):
    if not all(isinstance(item, dict) for item in items):
        raise ConfigError("config key %r must be a list of objects" % key)


CONFIG_TYPES = {
    "clients": dict, "sites": list, "grant_sites": (list, type(None)),
    "deny_scopes": list, "consent": str, "expires_in": (int, float),
    "reuse_interval": (int, float), "code_ttl": (int, float),
    "accounts": list, "user": dict, "expired_status": int, "pats": list,
}


def merge_config(config, update):
    """Merge the top-level keys of update into config (in place)."""
    if not isinstance(update, dict):
        raise ConfigError("config must be a JSON object")
    for key, value in update.items():
        if key not in CONFIG_TYPES:
            raise ConfigError("unknown config key %r" % key)
        _check_type(key, value, CONFIG_TYPES[key])
    if "consent" in update and update["consent"] not in ("accept", "deny"):
        raise ConfigError("consent must be \"accept\" or \"deny\"")
    _check_clients(update.get("clients", {}))
    for key in ("sites", "accounts", "pats"):
        _check_list_of_objects(key, update.get(key, []))
    for key, value in update.items():
        config[key] = copy.deepcopy(value)


def new_counters():
    return {name: 0 for name in COUNTERS}


class State:
    """Everything the stand-in remembers; guarded by self.lock."""

    def __init__(self, startup_config):
        self.lock = threading.Lock()
        self.startup_config = copy.deepcopy(startup_config)
        self.stop = threading.Event()
        self.reset_locked()

    def reset_locked(self):
        """Forget grants, codes, counters, faults; restore startup config."""
        global _clock_offset
        _clock_offset = 0.0
        self.config = copy.deepcopy(self.startup_config)
        self.counters = new_counters()
        self.codes = {}          # code -> dict
        self.grants = {}         # grant id -> dict
        self.access = {}         # access token -> {"grant", "expires_at"}
        self.refresh = {}        # refresh token -> grant id
        self.faults = []
        self.next_grant = 1

    # --- sites and accounts -------------------------------------------

    def site_ids(self):
        return [site.get("id") for site in self.config["sites"]]

    def granted_site_ids(self):
        ids = self.site_ids()
        wanted = self.config["grant_sites"]
        if wanted is None:
            return ids
        return [i for i in wanted if i in ids]

    def site(self, cloud_id):
        for site in self.config["sites"]:
            if site.get("id") == cloud_id:
                return site
        return None

    def account_cloud_id(self, account):
        cloud_id = account.get("cloud_id")
        if cloud_id is None and account.get("scoped"):
            ids = self.site_ids()
            return ids[0] if ids else None
        return cloud_id

    def find_account(self, email, token):
        for account in self.config["accounts"]:
            if account.get("email") == email and \
                    account.get("token") == token:
                return account
        return None

    # --- tokens -------------------------------------------------------

    def live_grant_of_access(self, token):
        """(grant, problem): problem is None, "unknown" or "expired"."""
        entry = self.access.get(token)
        if entry is None:
            return None, "unknown"
        grant = self.grants[entry["grant"]]
        if grant["revoked"] or now() >= entry["expires_at"]:
            return grant, "expired"
        return grant, None

    def issue_tokens(self, grant, with_refresh):
        """A token response body for grant; rotates the refresh token."""
        access = "at-" + secrets.token_urlsafe(32)
        expires_in = self.config["expires_in"]
        self.access[access] = {"grant": grant["id"],
                               "expires_at": now() + expires_in}
        body = {"access_token": access, "expires_in": expires_in,
                "scope": " ".join(grant["scopes"]), "token_type": "Bearer"}
        if not with_refresh:
            return body
        old = grant["current_refresh"]
        if old is not None:
            grant["previous_refresh"][old] = now()
        fresh = "rt-" + secrets.token_urlsafe(32)
        grant["current_refresh"] = fresh
        grant["refresh_tokens_issued"] += 1
        self.refresh[fresh] = grant["id"]
        body["refresh_token"] = fresh
        return body

    def revoke(self, grant):
        if grant["revoked"]:
            return
        grant["revoked"] = True
        self.counters["revocations"] += 1

    # --- faults -------------------------------------------------------

    def take_fault(self, method, path):
        """The first fault matching (method, path), consumed; or None."""
        for fault in self.faults:
            if fault["path"] != path:
                continue
            if fault.get("method") and fault["method"].upper() != method:
                continue
            if fault["count"] > 0:
                fault["count"] -= 1
            if fault["count"] == 0:
                self.faults.remove(fault)
            self.counters["faults_served"] += 1
            return dict(fault)
        return None


def oauth_error(error, description=None):
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    return body


def validate_fault(fault):
    """Check a fault object from a test; raise ConfigError if wrong.

    Keys: path (required), method, count (1; -1 forever); then what the
    answer does: status, body, content_type, headers (extra header lines),
    retry_after, delay (seconds before answering), drop (close without an
    answer), oversize (a body of that many bytes), header_bytes (one header
    line of that many bytes), trickle (a body sent one byte every that many
    seconds), echo (fill {{field}} in body from the JSON request)."""
    if not isinstance(fault, dict):
        raise ConfigError("fault must be a JSON object")
    known = {"path", "method", "status", "retry_after", "delay", "drop",
             "body", "oversize", "count", "content_type", "echo",
             "headers", "header_bytes", "trickle"}
    for key in fault:
        if key not in known:
            raise ConfigError("unknown fault key %r" % key)
    if not isinstance(fault.get("path"), str) or \
            not fault["path"].startswith("/"):
        raise ConfigError("fault needs a \"path\" starting with /")
    if fault["path"].startswith("/_standin/"):
        raise ConfigError("faults cannot target /_standin/ paths")
    typed = {"method": str, "status": int, "retry_after": str,
             "delay": (int, float), "drop": bool, "body": str,
             "oversize": int, "count": int, "content_type": str,
             "echo": bool, "headers": dict, "header_bytes": int,
             "trickle": (int, float)}
    for key, types in typed.items():
        if key in fault and (not isinstance(fault[key], types) or
                             types is not bool and
                             isinstance(fault[key], bool)):
            raise ConfigError("fault key %r has the wrong type" % key)
    count = fault.get("count", 1)
    if count == 0 or count < -1:
        raise ConfigError("fault count must be positive or -1")
    if "status" in fault and not 100 <= fault["status"] <= 599:
        raise ConfigError("fault status must be 100..599")
    if fault.get("delay", 0) < 0 or fault.get("oversize", 0) < 0 or \
            fault.get("header_bytes", 0) < 0 or fault.get("trickle", 1) <= 0:
        raise ConfigError("fault delay, oversize, header_bytes and trickle "
                          "must not be negative")
    if not all(isinstance(k, str) and isinstance(v, str)
               for k, v in fault.get("headers", {}).items()):
        raise ConfigError("fault headers must map names to strings")
    effects = ("status", "drop", "body", "oversize", "delay", "headers",
               "header_bytes", "trickle")
    if not any(key in fault for key in effects):
        raise ConfigError("fault needs one of " + ", ".join(effects))
    result = dict(fault)
    result["count"] = count
    return result


class Reply(Exception):
    """Raised by request handling to answer at once."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


GATEWAY_MYSELF = re.compile(r"^/ex/jira/([^/]+)/rest/api/3/myself$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CONN_TIMEOUT

    def version_string(self):
        return "jauth-standin"

    # --- plumbing -----------------------------------------------------

    def setup(self):
        """Do the TLS handshake in this connection's own thread."""
        self.request.settimeout(CONN_TIMEOUT)
        # Headers and body go out in separate writes; without this, a
        # client's delayed ACK holds the body back (Nagle) for up to 40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = self.server.ssl_context.wrap_socket(
            self.request, server_side=True)
        with self.server.state.lock:
            self.server.state.counters["connections"] += 1
        super().setup()

    @property
    def state(self):
        return self.server.state

    def log_request(self, code="-", size="-"):
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "-"
        log("%s %s %s" % (getattr(self, "command", "-"), path,
                          getattr(code, "value", code)))

    def log_message(self, format, *args):
        log(format % args)

    def read_body(self):
        """The request body, Content-Length or chunked; Reply if too big."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        try:
            length = int(self.headers.get("Content-Length", "0") or 0)
        except ValueError:
            self.close_connection = True
            raise Reply(400, oauth_error("invalid_request",
                                         "bad Content-Length"))
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise Reply(413, {"code": 413, "message": "Payload too large"})
        return self.rfile.read(length) if length else b""

    def read_chunked(self):
        body = b""
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise Reply(400, oauth_error("invalid_request",
                                             "bad chunk"))
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                self.close_connection = True
                raise Reply(413, {"code": 413,
                                  "message": "Payload too large"})
            body += self.rfile.read(size)
            self.rfile.readline(1024)
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass
        return body

    def send(self, status, body, headers=None, content_type=None):
        """Answer with status; body is bytes, str or a JSON value."""
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode("utf-8")
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            data = json.dumps(body).encode("utf-8")
            content_type = content_type or "application/json"
        self.send_response(status)
        if content_type and data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    # --- dispatch -----------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def dispatch(self):
        """Read the request, apply faults, route, answer."""
        parts = urllib.parse.urlsplit(self.path)
        self.route_path = parts.path
        self.query = urllib.parse.parse_qs(parts.query,
                                           keep_blank_values=True)
        try:
            self.body = self.read_body()
            if not self.route_path.startswith("/_standin/"):
                self.count_endpoint()
                if self.apply_fault():
                    return
            self.route()
        except Reply as reply:
            self.send(reply.status, reply.body, reply.headers)
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self.send(500, {"code": 500, "message": "stand-in bug"})

    def count_endpoint(self):
        """Count every call of a counted endpoint, faulted or not."""
        counter = None
        if self.route_path == "/authorize":
            counter = "authorize"
        elif self.route_path == "/oauth/token":
            counter = "token_requests"
        elif self.route_path == "/rest/api/3/myself" or \
                GATEWAY_MYSELF.match(self.route_path):
            counter = "myself"
        if counter:
            with self.state.lock:
                self.state.counters[counter] += 1

    def apply_fault(self):
        """Serve a matching fault; True if the request is answered."""
        with self.state.lock:
            fault = self.state.take_fault(self.command, self.route_path)
        if fault is None:
            return False
        if fault.get("delay"):
            time.sleep(fault["delay"])
        if fault.get("drop"):
            self.drop()
            return True
        if "oversize" in fault:
            self.send_oversize(fault)
            return True
        if "header_bytes" in fault:
            self.send_big_header(fault)
            return True
        if "trickle" in fault:
            self.send_trickle(fault)
            return True
        if "status" not in fault and "body" not in fault and \
                "headers" not in fault:
            return False
        self.send_fault(fault)
        return True

    def fault_headers(self, fault):
        headers = dict(fault.get("headers", {}))
        if "retry_after" in fault:
            headers["Retry-After"] = fault["retry_after"]
        return headers

    def echoed(self, text):
        """text with {{FIELD}} replaced by FIELD of the JSON request body
        (JSON-escaped): a server quoting what it was sent (a refresh
        token, the client secret, the code) in its answer."""
        try:
            req = json.loads(self.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            req = {}
        if not isinstance(req, dict):
            req = {}

        def value(match):
            got = req.get(match.group(1))
            return json.dumps(got if isinstance(got, str) else "")[1:-1]
        return re.sub(r"\{\{([a-z_]+)\}\}", value, text)

    def send_big_header(self, fault):
        """Answer with one header line of fault["header_bytes"] bytes."""
        try:
            self.send_response(fault.get("status", 200))
            self.send_header("X-Padding", "a" * fault["header_bytes"])
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except (ConnectionError, ssl.SSLError, socket.timeout):
            pass
        self.close_connection = True

    def send_trickle(self, fault):
        """A 1000-byte body, one byte every fault["trickle"] seconds, until
        the client gives up (a slow-loris server)."""
        try:
            self.send_response(fault.get("status", 200))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            for _ in range(1000):
                time.sleep(fault["trickle"])
                self.wfile.write(b" ")
                self.wfile.flush()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass
        self.close_connection = True

    def send_fault(self, fault):
        status = fault.get("status", 200)
        if "body" in fault:
            ctype = fault.get("content_type", "text/plain; charset=utf-8")
            body = fault["body"]
            if fault.get("echo"):
                body = self.echoed(body)
            self.send(status, body.encode("utf-8"),
                      self.fault_headers(fault), ctype)
            return
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Fault"
        self.send(status, {"code": status, "message": phrase},
                  self.fault_headers(fault))

    def send_oversize(self, fault):
        """Answer with a body of exactly fault["oversize"] bytes."""
        size = fault["oversize"]
        head, tail = b'{"padding":"', b'"}'
        if size < len(head) + len(tail):
            head, tail = b"", b""
        self.send_response(fault.get("status", 200))
        self.send_header("Content-Type",
                         fault.get("content_type", "application/json"))
        self.send_header("Content-Length", str(size))
        for name, value in self.fault_headers(fault).items():
            self.send_header(name, value)
        self.end_headers()
        left = size - len(head) - len(tail)
        try:
            self.wfile.write(head)
            chunk = b"a" * 65536
            while left > 0:
                self.wfile.write(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
            self.wfile.write(tail)
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    def drop(self):
        """Close the connection without answering anything."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def route(self):
        path, method = self.route_path, self.command
        routes = {
            "/authorize": ("GET", self.authorize),
            "/oauth/token": ("POST", self.token),
            "/oauth/token/accessible-resources":
                ("GET", self.accessible_resources),
            "/rest/api/3/myself": ("GET", self.site_myself),
            "/_standin/counters": ("GET", self.ctl_counters),
            "/_standin/grants": ("GET", self.ctl_grants),
            "/_standin/reset": ("POST", self.ctl_reset),
            "/_standin/config": ("POST", self.ctl_config),
            "/_standin/fault": ("POST", self.ctl_fault),
            "/_standin/clear_faults": ("POST", self.ctl_clear_faults),
            "/_standin/revoke_all": ("POST", self.ctl_revoke_all),
            "/_standin/clock": ("POST", self.ctl_clock),
            "/_standin/expire_access_tokens":
                ("POST", self.ctl_expire_access_tokens),
            "/_standin/shutdown": ("POST", self.ctl_shutdown),
        }
        match = GATEWAY_MYSELF.match(path)
        if match:
            want, func = "GET", lambda: self.gateway_myself(match.group(1))
        elif path in routes:
            want, func = routes[path]
        else:
            raise Reply(404, {"code": 404, "message": "Not Found"})
        if method != want:
            raise Reply(405, {"code": 405, "message": "Method Not Allowed"},
                        {"Allow": want})
        func()

    # --- /authorize ---------------------------------------------------

    def param(self, name):
        values = self.query.get(name)
        return values[0] if values else None

    def authorize_problem(self, config):
        """Why the /authorize query is invalid, or None."""
        if self.param("audience") != "api.atlassian.com":
            return "audience must be api.atlassian.com"
        client_id = self.param("client_id")
        if not client_id:
            return "client_id is missing"
        client = config["clients"].get(client_id)
        if client is None:
            return "client_id is unknown"
        if not (self.param("scope") or "").split():
            return "scope is missing or empty"
        redirect_uri = self.param("redirect_uri")
        if not redirect_uri:
            return "redirect_uri is missing"
        allowed = client.get("redirect_uris") or []
        if allowed and redirect_uri not in allowed:
            return "redirect_uri is not registered for this client"
        if not self.param("state"):
            return "state is missing or empty"
        if self.param("response_type") != "code":
            return "response_type must be code"
        if self.param("prompt") != "consent":
            return "prompt must be consent"
        return None

    def authorize(self):
        with self.state.lock:
            location = self.authorize_locked()
        self.send(302, b"", {"Location": location})

    def authorize_locked(self):
        state = self.state
        problem = self.authorize_problem(state.config)
        if problem:
            raise Reply(400, oauth_error("invalid_request", problem))
        redirect_uri = self.param("redirect_uri")
        sep = "&" if "?" in redirect_uri else "?"
        quoted_state = urllib.parse.quote(self.param("state"), safe="")
        if state.config["consent"] == "deny":
            return (redirect_uri + sep + "error=access_denied"
                    "&error_description=User%20did%20not%20authorize"
                    "%20the%20request&state=" + quoted_state)
        requested = unique(self.param("scope").split())
        denied = state.config["deny_scopes"]
        code = secrets.token_urlsafe(24)
        state.codes[code] = {
            "client_id": self.param("client_id"),
            "redirect_uri": redirect_uri,
            "requested": requested,
            "scopes": [s for s in requested if s not in denied],
            "sites": state.granted_site_ids(),
            "user": copy.deepcopy(state.config["user"]),
            "created": now(),
            "used": False,
        }
        return redirect_uri + sep + "code=" + code + "&state=" + quoted_state

    # --- /oauth/token -------------------------------------------------

    def token(self):
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";", 1)[0].strip().lower() != "application/json":
            raise Reply(415, oauth_error(
                "invalid_request", "Content-Type must be application/json"))
        try:
            req = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Reply(400, oauth_error("invalid_request",
                                         "body is not valid JSON"))
        if not isinstance(req, dict):
            raise Reply(400, oauth_error("invalid_request",
                                         "body must be a JSON object"))
        grant_type = req.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise Reply(400, {"error": "unsupported_grant_type"})
        with self.state.lock:
            self.check_client(req)
            if grant_type == "authorization_code":
                body = self.code_grant(req)
            else:
                body = self.refresh_grant(req)
        self.send(200, body, {"Cache-Control": "no-store",
                              "Pragma": "no-cache"})

    def check_client(self, req):
        client = self.state.config["clients"].get(req.get("client_id"))
        secret = req.get("client_secret")
        if client is None or not isinstance(secret, str) or \
                not secrets.compare_digest(secret.encode(),
                                           client["secret"].encode()):
            raise Reply(401, oauth_error("access_denied", "Unauthorized"))

    def required(self, req, name):
        value = req.get(name)
        if not isinstance(value, str) or not value:
            raise Reply(400, oauth_error("invalid_request",
                                         "%s is missing" % name))
        return value

    def code_grant(self, req):
        state = self.state
        code = self.required(req, "code")
        redirect_uri = req.get("redirect_uri")
        entry = state.codes.get(code)
        bad = Reply(403, oauth_error("invalid_grant",
                                     "Invalid authorization code"))
        if entry is None:
            raise bad
        if entry["used"]:
            state.counters["code_reuses"] += 1
            raise bad
        if now() - entry["created"] >= state.config["code_ttl"] or \
                entry["client_id"] != req["client_id"] or \
                entry["redirect_uri"] != redirect_uri:
            raise bad
        entry["used"] = True
        grant = self.new_grant(entry, req["client_id"])
        state.counters["code_grants"] += 1
        return state.issue_tokens(grant, grant["offline"])

    def new_grant(self, entry, client_id):
        state = self.state
        grant = {
            "id": "grant-%d" % state.next_grant,
            "client_id": client_id,
            "scopes": list(entry["scopes"]),
            "sites": list(entry["sites"]),
            "user": entry["user"],
            "offline": "offline_access" in entry["scopes"],
            "revoked": False,
            "current_refresh": None,
            "previous_refresh": {},     # token -> rotated_at
            "refresh_tokens_issued": 0,
        }
        state.next_grant += 1
        state.grants[grant["id"]] = grant
        return grant

    def refresh_grant(self, req):
        state = self.state
        token = self.required(req, "refresh_token")
        bad = Reply(403, oauth_error("invalid_grant",
                                     "Unknown or invalid refresh token."))
        grant_id = state.refresh.get(token)
        grant = state.grants.get(grant_id) if grant_id else None
        if grant is None or grant["revoked"] or \
                grant["client_id"] != req["client_id"]:
            raise bad
        if token != grant["current_refresh"]:
            rotated_at = grant["previous_refresh"][token]
            if now() - rotated_at > state.config["reuse_interval"]:
                state.counters["replays"] += 1
                state.revoke(grant)
                raise bad
            state.counters["reuses"] += 1
        state.counters["refresh_grants"] += 1
        return state.issue_tokens(grant, True)

    # --- resources and myself -----------------------------------------

    def credentials(self):
        """("bearer", token), ("basic", (email, token)) or (None, None)."""
        value = self.headers.get("Authorization", "")
        scheme, _, rest = value.strip().partition(" ")
        rest = rest.strip()
        if scheme.lower() == "bearer" and rest:
            return "bearer", rest
        if scheme.lower() == "basic" and rest:
            try:
                raw = base64.b64decode(rest, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None, None
            email, sep, token = raw.partition(":")
            if sep:
                return "basic", (email, token)
        return None, None

    def accessible_resources(self):
        kind, token = self.credentials()
        with self.state.lock:
            grant, problem = (self.state.live_grant_of_access(token)
                              if kind == "bearer" else (None, "unknown"))
            if problem:
                raise Reply(401, {"code": 401, "message": "Unauthorized"})
            body = []
            for cloud_id in grant["sites"]:
                site = self.state.site(cloud_id) or {}
                body.append({"id": cloud_id, "url": site.get("url"),
                             "name": site.get("name"),
                             "scopes": list(grant["scopes"]),
                             "avatarUrl": AVATAR_URL})
        self.send(200, body)

    def gateway_myself(self, cloud_id):
        kind, cred = self.credentials()
        with self.state.lock:
            body = self.gateway_myself_locked(cloud_id, kind, cred)
        self.send(200, body)

    def gateway_myself_locked(self, cloud_id, kind, cred):
        state = self.state
        unauthorized = Reply(401, {"code": 401, "message":
                                   "Unauthorized; scope does not match"})
        if kind == "bearer":
            grant, problem = state.live_grant_of_access(cred)
            if problem == "expired":
                status = state.config["expired_status"]
                raise Reply(status, {"code": status,
                                     "message": "Unauthorized"})
            if problem or cloud_id not in grant["sites"]:
                raise unauthorized
            return myself_body(grant["user"])
        if kind == "basic":
            account = state.find_account(*cred)
            if account and account.get("scoped") and \
                    state.account_cloud_id(account) == cloud_id:
                return myself_body(account)
        raise unauthorized

    def site_myself(self):
        kind, cred = self.credentials()
        with self.state.lock:
            pat = next((p for p in self.state.config["pats"]
                        if kind == "bearer" and p.get("token") == cred), None)
            account = (self.state.find_account(*cred)
                       if kind == "basic" else None)
            if pat is None and (account is None or account.get("scoped")):
                raise Reply(401, {"code": 401, "message": "Client must be "
                                  "authenticated to access this resource."})
            body = myself_body(pat if pat is not None else account)
        self.send(200, body)

    # --- /_standin/ control -------------------------------------------

    def json_body(self):
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Reply(400, {"error": "body is not valid JSON"})

    def ctl_counters(self):
        with self.state.lock:
            body = dict(self.state.counters)
        self.send(200, body)

    def ctl_grants(self):
        with self.state.lock:
            body = [{"id": g["id"], "client_id": g["client_id"],
                     "scopes": list(g["scopes"]), "sites": list(g["sites"]),
                     "revoked": g["revoked"],
                     "refresh_tokens_issued": g["refresh_tokens_issued"]}
                    for g in self.state.grants.values()]
        self.send(200, body)

    def ctl_reset(self):
        with self.state.lock:
            self.state.reset_locked()
        self.send(200, {"ok": True})

    def ctl_config(self):
        update = self.json_body()
        with self.state.lock:
            try:
                merge_config(self.state.config, update)
            except ConfigError as err:
                raise Reply(400, {"error": str(err)})
        self.send(200, {"ok": True})

    def ctl_fault(self):
        try:
            fault = validate_fault(self.json_body())
        except ConfigError as err:
            raise Reply(400, {"error": str(err)})
        with self.state.lock:
            self.state.faults.append(fault)
        self.send(200, {"ok": True})

    def ctl_clear_faults(self):
        with self.state.lock:
            self.state.faults = []
        self.send(200, {"ok": True})

    def ctl_revoke_all(self):
        with self.state.lock:
            for grant in self.state.grants.values():
                self.state.revoke(grant)
        self.send(200, {"ok": True})

    def ctl_clock(self):
        global _clock_offset
        req = self.json_body()
        advance = req.get("advance") if isinstance(req, dict) else None
        if not isinstance(advance, (int, float)) or \
                isinstance(advance, bool):
            raise Reply(400, {"error": "advance must be a number"})
        with self.state.lock:
            _clock_offset += advance
            offset = _clock_offset
        self.send(200, {"ok": True, "offset": offset})

    def ctl_expire_access_tokens(self):
        with self.state.lock:
            t = now()
            for entry in self.state.access.values():
                entry["expires_at"] = min(entry["expires_at"], t)
        self.send(200, {"ok": True})

    def ctl_shutdown(self):
        self.close_connection = True
        self.send(200, {"ok": True}, {"Connection": "close"})
        self.wfile.flush()
        self.state.stop.set()


def unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def myself_body(who):
    return {"accountId": who.get("account_id"),
            "displayName": who.get("name"),
            "emailAddress": who.get("email"), "active": True}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port, ssl_context, state):
        self.ssl_context = ssl_context
        self.state = state
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        """Bind without HTTPServer's reverse DNS look-up."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        """Quiet for handshake failures and resets; loud for bugs."""
        err = sys.exc_info()[1]
        if isinstance(err, (ssl.SSLError, ConnectionError, socket.timeout,
                            OSError)):
            log("connection error: %s" % err.__class__.__name__)
            return
        traceback.print_exc(file=sys.stderr)


def write_port(directory, port):
    tmp = os.path.join(directory, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, os.path.join(directory, "port"))


def load_config(path):
    config = default_config()
    if path:
        with open(path) as f:
            merge_config(config, json.load(f))
    return config


def main(argv):
    global VERBOSE
    parser = argparse.ArgumentParser(
        description="Local TLS stand-in for Atlassian auth, gateway and site.")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--config")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    VERBOSE = args.verbose
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as err:
        sys.stderr.write("standin: bad config: %s\n" % err)
        return 2
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.pem"),
                        os.path.join(args.dir, "server.key"))
    state = State(config)
    server = Server(args.port, ctx, state)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: state.stop.set())
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    write_port(args.dir, server.server_address[1])
    log("listening on 127.0.0.1:%d" % server.server_address[1])
    while not state.stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
