"""Handles, credentials and the module-level calls, on libjauth's C API."""

import ctypes
import datetime
import hmac
import json
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional

from . import _lib
from ._errors import Error, LibraryNotFound, for_result

_logger = logging.getLogger("jauth")

# enum jauth_log_level <-> logging's levels.
_TO_LOGGING = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO,
               4: logging.INFO, 5: logging.DEBUG}


def _from_logging(level):
    """The jauth_log_level that lets LEVEL (a logging level) through."""
    if level <= logging.DEBUG:
        return 5
    if level <= logging.INFO:
        return 4
    if level <= logging.WARNING:
        return 2
    return 1


# Handles of this process. A child of fork() must not use them (their locks
# and connections are the parent's) nor close them (that would shut the
# parent's TLS connections): it forgets them.
_open_handles = weakref.WeakSet()


def _forget_after_fork():
    for h in list(_open_handles):
        h._forked = True
        h._closed = True
        h._ptr = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _c():
    return _lib.load(LibraryNotFound)


def _b(text):
    return None if text is None else str(text).encode()


def _s(ptr_text):
    return None if ptr_text is None else ptr_text.decode("utf-8", "replace")


def _options(conf_path, module_path, state_dir):
    return _lib.Options(conf_path=_b(conf_path), module_path=_b(module_path),
                        state_dir=_b(state_dir))


class Credential:
    """A credential copied out of libjauth: it stays usable after the next
    acquire and after the handle is closed.

    ``authorization`` is the value of the Authorization header ("Bearer …"
    or "Basic …") and the only attribute that holds the secret; ``repr`` and
    ``str`` mask it. ``expires_at`` is an aware UTC datetime, or None when
    nobody knows.
    """

    __slots__ = ("authorization", "scheme", "base_url", "expires_at",
                 "source", "module")

    authorization: str
    scheme: str
    base_url: str
    expires_at: Optional[datetime.datetime]
    source: str
    module: str

    def __init__(self, authorization, scheme, base_url, expires_at, source,
                 module):
        self.authorization = authorization
        self.scheme = scheme
        self.base_url = base_url
        self.expires_at = expires_at
        self.source = source
        self.module = module

    @classmethod
    def _copy(cls, lib, c):
        exp = lib.jauth_cred_expires_at(c)
        return cls(
            _s(lib.jauth_cred_authorization(c)),
            _s(lib.jauth_cred_scheme(c)),
            _s(lib.jauth_cred_base_url(c)),
            datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
            if exp else None,
            _s(lib.jauth_cred_source(c)),
            _s(lib.jauth_cred_module(c)))

    @property
    def headers(self) -> Dict[str, str]:
        """{"Authorization": …}, to pass to an HTTP client."""
        return {"Authorization": self.authorization}

    def url(self, path: str) -> str:
        """The REST base URL joined with PATH ("/rest/api/3/myself")."""
        return self.base_url + "/" + path.lstrip("/")

    def __repr__(self):
        return ("Credential(authorization=%r, scheme=%r, base_url=%r, "
                "expires_at=%r, source=%r, module=%r)"
                % ("%s ***" % self.scheme, self.scheme, self.base_url,
                   self.expires_at, self.source, self.module))

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a jauth.Credential is a secret: it is not pickled")


class Handle:
    """An open stack of one service (jauth_open). Thread-safe: one handle
    serves every thread of the process. Close it (or use it as a context
    manager) when done; closing twice is harmless, any other call on a
    closed handle raises jauth.Error."""

    def __init__(self, service: str, conf_path: Optional[str] = None,
                 module_path: Optional[str] = None,
                 state_dir: Optional[str] = None,
                 log: Optional[Callable[[int, str], None]] = None,
                 log_level: Optional[int] = None,
                 clock: Optional[Callable[[], float]] = None,
                 reload: bool = True):
        self.service = service
        lib = _c()
        self._lib = lib
        self._ptr = None
        self._cv = threading.Condition()
        self._busy = 0
        self._closed = False
        self._forked = False
        opt = _options(conf_path, module_path, state_dir)
        self._log_cb = self._make_log(log)
        opt.log = self._log_cb
        if log_level is None and log is None and _logger.level:
            log_level = _from_logging(_logger.level)
        opt.log_level = log_level or 0
        self._clock_cb = self._make_clock(clock)
        opt.clock = self._clock_cb
        if not reload:
            opt.flags |= _lib.OPEN_NO_RELOAD
        ptr = ctypes.c_void_p()
        rc = lib.jauth_open(_b(service), ctypes.byref(opt), ctypes.byref(ptr))
        if rc != _lib.SUCCESS:
            msg = _s(lib.jauth_error(ptr)) if ptr else None
            lib.jauth_close(ptr)
            raise for_result(rc, msg or "cannot open the stack of %r (%s)"
                             % (service, _s(lib.jauth_result_name(rc))))
        self._ptr = ptr
        _open_handles.add(self)

    @staticmethod
    def _make_clock(clock):
        """The C clock callback for CLOCK(), or NULL for the system's."""
        if clock is None:
            return _lib.CLOCK_FN()

        def now(_ctx):
            try:
                return int(clock())
            except Exception:  # never let a callback unwind through C
                return int(time.time())
        return _lib.CLOCK_FN(now)

    @staticmethod
    def _make_log(log):
        """The C log callback: LOG(level, line) with logging's levels, or
        the "jauth" logger. Lines arrive redacted."""
        def emit(_ctx, level, line):
            try:
                lvl = _TO_LOGGING.get(level, logging.DEBUG)
                text = line.decode("utf-8", "replace")
                if log is None:
                    _logger.log(lvl, "%s", text)
                else:
                    log(lvl, text)
            except Exception:  # never let a callback unwind through C
                pass
        return _lib.LOG_FN(emit)

    # --- the life of the handle ------------------------------------------

    def _enter(self):
        with self._cv:
            if self._forked:
                raise Error("the jauth handle of %r was opened before this "
                            "process was forked: open a new one in this "
                            "process with jauth.open()" % self.service)
            if self._closed:
                raise Error("the jauth handle of %r is closed: open a new "
                            "one with jauth.open()" % self.service)
            self._busy += 1
        return self._ptr

    def _leave(self):
        with self._cv:
            self._busy -= 1
            if self._busy == 0:
                self._cv.notify_all()

    def _call(self, fn, *args):
        """FN(handle, *args) on the open handle; raises for a failure, with
        jauth_error's message read in the same thread."""
        h = self._enter()
        try:
            rc = fn(h, *args)
            if rc != _lib.SUCCESS:
                raise for_result(rc, _s(self._lib.jauth_error(h)) or
                                 _s(self._lib.jauth_result_name(rc)))
        finally:
            self._leave()

    def close(self) -> None:
        """Waits for the calls in progress, then closes the handle. Closing
        a closed handle does nothing."""
        with self._cv:
            if self._closed:
                return
            self._closed = True
            while self._busy:
                self._cv.wait()
            ptr, self._ptr = self._ptr, None
        if ptr:
            self._lib.jauth_close(ptr)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "<jauth.Handle %r%s>" % (self.service,
                                        " closed" if self._closed else "")

    # --- credentials -----------------------------------------------------

    def _cred_call(self, fn):
        """FN(h, &cred), with the credential copied out before this thread
        calls libjauth again (the C credential lives until then)."""
        h = self._enter()
        try:
            c = ctypes.c_void_p()
            rc = fn(h, ctypes.byref(c))
            if rc != _lib.SUCCESS:
                raise for_result(rc, _s(self._lib.jauth_error(h)) or
                                 _s(self._lib.jauth_result_name(rc)))
            return Credential._copy(self._lib, c)
        finally:
            self._leave()

    def acquire(self) -> Credential:
        """A credential for the next request. Cheap when cached; near
        expiry one caller refreshes while the others go on. Raises
        Unavailable, Denied, Transient, ConfigError or Error."""
        return self._cred_call(self._lib.jauth_acquire)

    def refresh(self) -> Credential:
        """Runs the stack with every module's refresh now; the new
        credential."""
        return self._cred_call(self._lib.jauth_refresh)

    def report(self, cred: Credential, status: int) -> None:
        """Tells jauth that Jira answered STATUS (401, 403, 404) to CRED:
        the next acquire refreshes or raises Denied. A credential already
        replaced (by another thread's report, a refresh) is not reported
        again, as with jauth_report."""
        if not isinstance(cred, Credential):
            raise TypeError("report() needs the jauth.Credential that Jira "
                            "rejected")
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError("report() needs the HTTP status as an int")
        h = self._enter()
        try:
            # jauth_report needs a C credential of this thread: the one in
            # force now. If it is no longer CRED, CRED was replaced already.
            c = ctypes.c_void_p()
            if self._lib.jauth_acquire(h, ctypes.byref(c)) != _lib.SUCCESS:
                return
            now = self._lib.jauth_cred_authorization(c) or b""
            if not hmac.compare_digest(now, cred.authorization.encode()):
                return
            rc = self._lib.jauth_report(h, c, int(status))
            if rc != _lib.SUCCESS:
                raise for_result(rc, _s(self._lib.jauth_error(h)))
        finally:
            self._leave()

    # --- admin calls -----------------------------------------------------

    def _text_call(self, fn, *args):
        out = ctypes.c_void_p()
        try:
            self._call(fn, *args, ctypes.byref(out))
        finally:
            text = _lib.take_string(self._lib, out.value)
        return text

    def revoke(self) -> str:
        """Forgets every line's grant or token; returns what the admin
        still has to do at Atlassian."""
        return self._text_call(self._lib.jauth_revoke) or ""

    def status(self) -> Dict[str, Any]:
        """The stack's state (jauth_status) as parsed JSON."""
        return json.loads(self._text_call(self._lib.jauth_status))

    def authorize_begin(self) -> str:
        """Starts OAuth consent: the URL the admin opens in a browser."""
        return self._text_call(self._lib.jauth_authorize_begin)

    def authorize_finish(self, callback: str) -> str:
        """Finishes consent from the URL the browser was sent back to (or
        its query string); returns what was granted, for people."""
        return self._text_call(self._lib.jauth_authorize_finish,
                               _b(callback)) or ""


def open(service: str, conf_path: Optional[str] = None,
         module_path: Optional[str] = None, state_dir: Optional[str] = None,
         log: Optional[Callable[[int, str], None]] = None,
         log_level: Optional[int] = None,
         clock: Optional[Callable[[], float]] = None,
         reload: bool = True) -> Handle:
    """Opens SERVICE's stack (jauth_open): a Handle, also a context manager.

    conf_path, module_path, state_dir: as jauth(1)'s -c/-m/-s (else
    $JAUTH_CONF_PATH, $JAUTH_MODULE_PATH, $JAUTH_STATE_DIR, the defaults).
    log: called as log(level, line) with logging's levels; by default lines
    go to the "jauth" logger. log_level: a jauth level 1 (error) … 5
    (debug). clock: a function returning the time in seconds since the
    epoch, for tests. reload=False: do not watch the stack files.
    Raises ConfigError (FILE:LINE: …) for a refused stack.
    """
    return Handle(service, conf_path=conf_path, module_path=module_path,
                  state_dir=state_dir, log=log, log_level=log_level,
                  clock=clock, reload=reload)


def _inventory(fn, conf_path, module_path, state_dir):
    lib = _c()
    opt = _options(conf_path, module_path, state_dir)
    out = ctypes.c_void_p()
    rc = fn(ctypes.byref(opt), ctypes.byref(out))
    text = _lib.take_string(lib, out.value)
    if rc != _lib.SUCCESS:
        raise for_result(rc, "%s failed: %s" % (fn.__name__,
                                                _s(lib.jauth_result_name(rc))))
    return json.loads(text or "[]")


def services(conf_path: Optional[str] = None,
             module_path: Optional[str] = None,
             state_dir: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every service of the conf path: [{"service", "file"}, …]."""
    return _inventory(_c().jauth_services, conf_path, module_path, state_dir)


def modules(conf_path: Optional[str] = None, module_path: Optional[str] = None,
            state_dir: Optional[str] = None) -> List[Dict[str, Any]]:
    """The modules of the module path:
    [{"name", "file", "path", "version", "abi", "error"}, …]."""
    return _inventory(_c().jauth_modules, conf_path, module_path, state_dir)


def lint(service: Optional[str] = None, conf_path: Optional[str] = None,
         module_path: Optional[str] = None,
         state_dir: Optional[str] = None) -> List[str]:
    """Every problem of SERVICE's stack (every service's when None, as
    jauth lint: a stack without module lines that another includes is a
    fragment, not a problem), one "FILE:LINE: …" string each; [] when
    clean. Never calls the network."""
    lib = _c()
    names = [service] if service is not None else \
        [s["service"] for s in services(conf_path, module_path, state_dir)]
    problems = []
    for name in names:
        opt = _options(conf_path, module_path, state_dir)
        if service is None:
            # as jauth lint: a stack that others include is a fragment
            opt.flags |= _lib.LINT_FRAGMENTS
        out = ctypes.c_void_p()
        rc = lib.jauth_lint(_b(name), ctypes.byref(opt), ctypes.byref(out))
        text = _lib.take_string(lib, out.value) or ""
        if rc not in (_lib.SUCCESS, _lib.CONFIG):
            raise for_result(rc, "cannot lint %r: %s"
                             % (name, _s(lib.jauth_result_name(rc))))
        problems += [line for line in text.splitlines() if line]
    return problems


def version() -> str:
    """The version of the loaded libjauth, e.g. "0.1.0"."""
    return _s(_c().jauth_version())
