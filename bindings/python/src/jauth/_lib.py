"""Loading libjauth.so.1 and declaring its C API (core/include/jauth/jauth.h).

The library is loaded on first use, not at import: ``import jauth`` works on a
machine without libjauth, and the first call says what to do.
"""

import ctypes
import os
import threading

SONAME = "libjauth.so.1"

# enum jauth_result
SUCCESS, UNAVAILABLE, DENIED, TRANSIENT, ERROR, CONFIG = range(6)

# struct jauth_options' flags
OPEN_NO_RELOAD, LINT_FRAGMENTS = 0x1, 0x2

time_t = ctypes.c_long  # glibc's time_t on every 64-bit Linux target

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int,
                          ctypes.c_char_p)
CLOCK_FN = ctypes.CFUNCTYPE(time_t, ctypes.c_void_p)


class Options(ctypes.Structure):
    """struct jauth_options; size is set by the constructor."""

    _fields_ = [
        ("size", ctypes.c_size_t),
        ("conf_path", ctypes.c_char_p),
        ("module_path", ctypes.c_char_p),
        ("state_dir", ctypes.c_char_p),
        ("log", LOG_FN),
        ("log_ctx", ctypes.c_void_p),
        ("log_level", ctypes.c_int),
        ("clock", CLOCK_FN),
        ("clock_ctx", ctypes.c_void_p),
        ("flags", ctypes.c_uint),
    ]

    def __init__(self, **kw):
        super().__init__(size=ctypes.sizeof(Options), **kw)


_lock = threading.Lock()
_lib = None

P = ctypes.c_void_p
S = ctypes.c_char_p
PS = ctypes.POINTER(ctypes.c_void_p)  # char ** and const jauth_cred **
R = ctypes.c_int

# name: (restype, argtypes)
_PROTOS = {
    "jauth_version": (S, []),
    "jauth_result_name": (S, [R]),
    "jauth_open": (R, [S, ctypes.POINTER(Options), ctypes.POINTER(P)]),
    "jauth_close": (None, [P]),
    "jauth_error": (S, [P]),
    "jauth_acquire": (R, [P, PS]),
    "jauth_refresh": (R, [P, PS]),
    "jauth_report": (R, [P, P, ctypes.c_int]),
    "jauth_revoke": (R, [P, PS]),
    "jauth_authorize_begin": (R, [P, PS]),
    "jauth_authorize_finish": (R, [P, S, PS]),
    "jauth_status": (R, [P, PS]),
    "jauth_lint": (R, [S, ctypes.POINTER(Options), PS]),
    "jauth_services": (R, [ctypes.POINTER(Options), PS]),
    "jauth_modules": (R, [ctypes.POINTER(Options), PS]),
    "jauth_free": (None, [P]),
    "jauth_cred_authorization": (S, [P]),
    "jauth_cred_scheme": (S, [P]),
    "jauth_cred_base_url": (S, [P]),
    "jauth_cred_expires_at": (time_t, [P]),
    "jauth_cred_source": (S, [P]),
    "jauth_cred_module": (S, [P]),
}


def _declare(lib):
    for name, (restype, argtypes) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def where():
    """What load() tries, in order: $JAUTH_LIBRARY alone when set; else
    the loader's SONAME, then the library directory make install-python
    recorded (_paths.py), for a PREFIX the loader does not search until
    ldconfig has run."""
    explicit = os.environ.get("JAUTH_LIBRARY")
    if explicit:
        return [explicit]
    tries = [SONAME]
    try:
        from . import _paths
        tries.append(os.path.join(_paths.LIBDIR, SONAME))
    except ImportError:
        pass
    return tries


def load(not_found):
    """The declared library, loaded once. NOT_FOUND(message) makes the
    exception raised when it cannot be loaded."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            errors = []
            for path in where():
                try:
                    _lib = _declare(ctypes.CDLL(path))
                    break
                except (OSError, AttributeError) as err:
                    errors.append("%s (%s)" % (path, err))
            else:
                raise not_found(
                    "cannot load %s: install libjauth (make install; then "
                    "ldconfig for a PREFIX such as /usr/local), or set "
                    "JAUTH_LIBRARY to the full path of libjauth.so.1"
                    % "; ".join(errors)) from None
    return _lib


def take_string(lib, ptr):
    """The text of a char * the API handed out, which is then freed (and
    wiped) with jauth_free. None for NULL."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.jauth_free(ptr)
