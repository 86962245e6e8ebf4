#!/usr/bin/env python3
"""connector.py — a Jira connector in Python on the jauth package.

    python3 connector.py [-v] [--count N] [--interval SECONDS] [SERVICE]

Calls GET /rest/api/3/myself COUNT times, INTERVAL seconds apart, with the
credential of SERVICE's stack (default "jira"). jauth.Session asks jauth
before every request (cheap: cached), joins the path to the credential's
base URL, and after a 401/403 tells jauth and retries once with a fresh
credential; expiry is handled by jauth before it happens. The exit status
is jauth(1)'s: 0 ok, 2 config, 3 set-up needed, 4 denied, 5 try later.
Nothing it prints holds a secret: a jauth.Credential masks its token in
repr() and str(), and jauth's log lines are redacted.
"""

import argparse
import logging
import sys
import time

import jauth

EXIT = {jauth.ConfigError: 2, jauth.Unavailable: 3, jauth.Denied: 4,
        jauth.Transient: 5}


def run(service, count, interval):
    with jauth.open(service) as h:
        jira = jauth.Session(h)
        for i in range(1, count + 1):
            r = jira.get("/rest/api/3/myself", timeout=30)
            r.raise_for_status()
            cred = h.acquire()
            retried = " (retried after HTTP %d)" % r.history[0].status_code \
                if r.history else ""
            print("%d: HTTP %d as %s, %s credential from %s%s"
                  % (i, r.status_code, r.json()["displayName"], cred.scheme,
                     cred.source, retried), flush=True)
            if i < count:
                time.sleep(interval)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("service", nargs="?", default="jira")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("-v", action="store_true", help="jauth's debug log")
    args = p.parse_args(argv)
    logging.basicConfig(format="%(name)s: %(message)s")
    if args.v:
        logging.getLogger("jauth").setLevel(logging.DEBUG)
    try:
        run(args.service, args.count, args.interval)
    except jauth.JauthError as err:
        # one line that says what to do, and never a secret
        print("connector: %s: %s" % (err.result_name, err), file=sys.stderr)
        return EXIT.get(type(err), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
