"""One process of the process storm (test_oauth.py): opens SERVICE with its
clock at NOW, says "ready", waits for the gate (stdin closed), then THREADS
threads acquire at once and call Jira. Prints "served N"; exits 0 when
every thread was served."""

import ssl
import sys
import threading
import urllib.request

import jauth


def main(service, now, threads):
    ctx = ssl.create_default_context()  # the test CA via SSL_CERT_FILE
    with jauth.open(service, clock=lambda: now) as h:
        print("ready", flush=True)
        sys.stdin.read()
        gate = threading.Barrier(threads)
        served = []

        def call():
            gate.wait()
            cred = h.acquire()
            req = urllib.request.Request(cred.url("/rest/api/3/myself"),
                                         headers=cred.headers)
            with urllib.request.urlopen(req, context=ctx) as resp:
                served.append(resp.status == 200)

        ts = [threading.Thread(target=call) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    print("served %d" % sum(served))
    return 0 if sum(served) == threads else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
