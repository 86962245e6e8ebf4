"""The exceptions of the package: one per result of libjauth."""

from . import _lib


class JauthError(Exception):
    """Base of every jauth failure. str() is libjauth's one-line message,
    which says what to do and never holds a secret; ``result`` is the C
    result code (jauth_result) and ``result_name`` its name."""

    result = _lib.ERROR
    result_name = "error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Unavailable(JauthError):
    """Not set up yet: no grant stored (run ``jauth authorize``), no token
    given."""

    result, result_name = _lib.UNAVAILABLE, "unavailable"


class Denied(JauthError):
    """The server or the clock says the credential is bad: replace the token
    or consent again."""

    result, result_name = _lib.DENIED, "denied"


class Transient(JauthError):
    """Network trouble, 5xx, 429 after retries: try again later."""

    result, result_name = _lib.TRANSIENT, "transient"


class Error(JauthError):
    """Bad arguments, I/O, out of memory, a closed handle."""

    result, result_name = _lib.ERROR, "error"


class ConfigError(JauthError):
    """The stack, a module or a file it names is refused (FILE:LINE: …)."""

    result, result_name = _lib.CONFIG, "config"


class LibraryNotFound(Error, OSError):
    """libjauth.so.1 could not be loaded: the message says what to do."""

    def __init__(self, message):
        Error.__init__(self, message)


BY_RESULT = {
    _lib.UNAVAILABLE: Unavailable,
    _lib.DENIED: Denied,
    _lib.TRANSIENT: Transient,
    _lib.ERROR: Error,
    _lib.CONFIG: ConfigError,
}


def for_result(result, message):
    """The exception for a C result other than success."""
    return BY_RESULT.get(result, Error)(message or "libjauth failed (%d)"
                                        % result)
