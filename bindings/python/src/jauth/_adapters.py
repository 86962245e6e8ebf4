"""Adapters for requests and httpx. Neither is a dependency of the package:
each is imported only when its adapter is made."""

REJECTED = (401, 403)


def _rebase(url, old, new):
    """URL with the base OLD replaced by NEW (a stack may fall through to a
    line with another base URL)."""
    if old != new and url.startswith(old + "/"):
        return new + url[len(old):]
    return url


def _is_stream(body):
    """Whether a prepared requests body is a stream (a file, a generator,
    any iterable requests sends as it reads): it cannot be sent twice.
    requests makes every other body str or bytes."""
    return body is not None and not isinstance(body, (str, bytes, bytearray))


def _is_relative(url):
    return "://" not in url


class _Retry:
    """What both adapters share: the credential for a request, and after a
    rejection the report and the credential to retry with (None: do not
    retry, jauth has nothing newer)."""

    def __init__(self, handle, statuses):
        self.handle = handle
        self.statuses = tuple(statuses)

    def fresh_after(self, cred, status):
        self.handle.report(cred, status)
        fresh = self.handle.acquire()
        return None if fresh.authorization == cred.authorization else fresh


def _requests_base():
    try:
        import requests.auth
    except ImportError:
        raise ImportError("jauth.RequestsAuth needs requests "
                          "(apt-get install python3-requests)") from None
    return requests.auth.AuthBase


class RequestsAuth:
    """``session.auth = jauth.RequestsAuth(h)``: every request gets the
    Authorization header of h.acquire(); a 401/403 is reported and the
    request is sent once more with the fresh credential.

    requests refuses relative URLs before an auth class sees them: use
    jauth.Session(h), which joins "/rest/api/3/…" to the credential's
    base URL, or build URLs with ``h.acquire().url(path)``.
    """

    def __new__(cls, handle, statuses=REJECTED):
        # A requests.auth.AuthBase subclass, made on first use so that
        # importing jauth never imports requests.
        impl = _requests_impl()
        return impl(handle, statuses)


_REQUESTS_IMPL = None


def _requests_impl():
    global _REQUESTS_IMPL
    if _REQUESTS_IMPL is not None:
        return _REQUESTS_IMPL
    base = _requests_base()

    class _RequestsAuth(base, RequestsAuth):
        def __new__(cls, *args, **kwargs):
            return object.__new__(cls)

        def __init__(self, handle, statuses=REJECTED):
            self._retry = _Retry(handle, statuses)

        def __call__(self, r):
            cred = self._retry.handle.acquire()
            r.headers["Authorization"] = cred.authorization
            r.register_hook("response", self._make_hook(cred))
            return r

        def _make_hook(self, cred):
            def hook(resp, **kwargs):
                return self._on_response(cred, resp, kwargs)
            return hook

        def _on_response(self, cred, resp, kwargs):
            req = resp.request
            if resp.status_code not in self._retry.statuses or \
                    getattr(req, "_jauth_retried", False) or \
                    _is_stream(req.body):
                return resp
            fresh = self._retry.fresh_after(cred, resp.status_code)
            if fresh is None:
                return resp
            resp.content  # read the body so the connection can be reused
            resp.close()
            again = req.copy()
            again._jauth_retried = True
            again.url = _rebase(req.url, cred.base_url, fresh.base_url)
            again.headers["Authorization"] = fresh.authorization
            again.hooks = {"response": []}
            kwargs = {k: v for k, v in kwargs.items()
                      if k in ("stream", "timeout", "verify", "cert",
                               "proxies")}
            retried = resp.connection.send(again, **kwargs)
            retried.history.append(resp)
            retried.request = again
            return retried

        def __repr__(self):
            return "<jauth.RequestsAuth %r>" % (self._retry.handle,)

    _REQUESTS_IMPL = _RequestsAuth
    return _REQUESTS_IMPL


class Session:
    """A requests.Session whose auth is RequestsAuth(handle) and which
    joins relative URLs ("/rest/api/3/myself") to the credential's base
    URL: ``jauth.Session(h).get("/rest/api/3/myself")``."""

    def __new__(cls, handle, statuses=REJECTED):
        return _session_impl()(handle, statuses)


_SESSION_IMPL = None


def _session_impl():
    global _SESSION_IMPL
    if _SESSION_IMPL is not None:
        return _SESSION_IMPL
    _requests_base()
    import requests

    class _Session(requests.Session, Session):
        def __new__(cls, *args, **kwargs):
            return object.__new__(cls)

        def __init__(self, handle, statuses=REJECTED):
            super().__init__()
            self.jauth_handle = handle
            self.auth = RequestsAuth(handle, statuses)

        def request(self, method, url, *args, **kwargs):
            if isinstance(url, str) and _is_relative(url):
                url = self.jauth_handle.acquire().url(url)
            return super().request(method, url, *args, **kwargs)

    _SESSION_IMPL = _Session
    return _SESSION_IMPL


class HttpxAuth:
    """``httpx.Client(auth=jauth.HttpxAuth(h))``: sets the Authorization
    header, joins relative URLs ("/rest/api/3/myself") to the credential's
    base URL, reports a 401/403 and retries once with the fresh credential.
    Works with httpx.AsyncClient too (acquire may then block the loop for
    the time of a refresh)."""

    def __new__(cls, handle, statuses=REJECTED):
        return _httpx_impl()(handle, statuses)


_HTTPX_IMPL = None


def _httpx_impl():
    global _HTTPX_IMPL
    if _HTTPX_IMPL is not None:
        return _HTTPX_IMPL
    try:
        import httpx
    except ImportError:
        raise ImportError("jauth.HttpxAuth needs httpx "
                          "(apt-get install python3-httpx)") from None

    class _HttpxAuth(httpx.Auth, HttpxAuth):
        requires_request_body = True  # a retry sends the body again

        def __new__(cls, *args, **kwargs):
            return object.__new__(cls)

        def __init__(self, handle, statuses=REJECTED):
            self._retry = _Retry(handle, statuses)

        @staticmethod
        def _apply(request, cred, old=None):
            url = str(request.url)
            if _is_relative(url):
                url = cred.url(url)
            elif old is not None:
                url = _rebase(url, old.base_url, cred.base_url)
            if url != str(request.url):
                request.url = httpx.URL(url)
                request.headers["Host"] = request.url.netloc.decode("ascii")
            request.headers["Authorization"] = cred.authorization

        def auth_flow(self, request):
            cred = self._retry.handle.acquire()
            self._apply(request, cred)
            response = yield request
            if response.status_code not in self._retry.statuses:
                return
            fresh = self._retry.fresh_after(cred, response.status_code)
            if fresh is not None:
                self._apply(request, fresh, cred)
                yield request

        def __repr__(self):
            return "<jauth.HttpxAuth %r>" % (self._retry.handle,)

    _HTTPX_IMPL = _HttpxAuth
    return _HTTPX_IMPL
