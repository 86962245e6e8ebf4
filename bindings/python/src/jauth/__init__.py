"""jauth — Jira Cloud credentials for Python connectors, from libjauth.

    import jauth

    with jauth.open("jira") as h:
        s = jauth.Session(h)             # or httpx: auth=jauth.HttpxAuth(h)
        me = s.get("/rest/api/3/myself").json()

Every behaviour (the stack, modules, refresh, single flight, redaction) is
libjauth's: this package is its C API through ctypes. libjauth.so.1 is found
through $JAUTH_LIBRARY (a full path) or the system's loader path.
"""

from ._errors import (ConfigError, Denied, Error, JauthError,
                      LibraryNotFound, Transient, Unavailable)
from ._handle import (Credential, Handle, lint, modules, open, services,
                      version)
from ._adapters import HttpxAuth, RequestsAuth, Session

__version__ = "0.1.0"

__all__ = [
    "open", "Handle", "Credential", "lint", "modules", "services", "version",
    "JauthError", "Unavailable", "Denied", "Transient", "Error", "ConfigError",
    "LibraryNotFound", "RequestsAuth", "Session", "HttpxAuth",
]
