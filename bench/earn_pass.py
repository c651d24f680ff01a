#!/usr/bin/env python3
"""Earns a bawwab pass the way a browser's silent proof does (challenge, work, answer) and prints
the pass cookie's value, for benchmarks that must send what a reader with a pass sends.

    bench/earn_pass.py BASE_URL USER_AGENT [VERIFY_PATH]

The pass is bound to the client's address prefix, User-Agent and TLS stack: use it from the same
address, with the same User-Agent, over plain HTTP. Standard library only.
"""
import hashlib
import json
import sys
import urllib.request


def main():
    base, ua = sys.argv[1].rstrip("/"), sys.argv[2]
    verify = base + (sys.argv[3] if len(sys.argv) > 3 else "/.well-known/bawwab/verify")
    req = urllib.request.Request(verify + "?proof=challenge", headers={"User-Agent": ua})
    with urllib.request.urlopen(req, timeout=10) as r:
        c = json.loads(r.read())
    bits, n = int(c["d"]), 0
    while int.from_bytes(hashlib.sha256(("%s:%d" % (c["c"], n)).encode()).digest(),
                         "big") >> (256 - bits):
        n += 1
    req = urllib.request.Request("%s?proof=answer&c=%s&a=%d" % (verify, c["c"], n), data=b"",
                                 method="POST", headers={"User-Agent": ua})
    with urllib.request.urlopen(req, timeout=10) as r:
        cookie = r.headers.get("Set-Cookie", "")
    name, _, rest = cookie.partition("=")
    if r.status != 204 or not rest:
        sys.exit("earn_pass: no pass (status %d)" % r.status)
    print("%s=%s" % (name, rest.split(";")[0]))


if __name__ == "__main__":
    main()
