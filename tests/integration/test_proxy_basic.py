"""Pages through bawwab in front of a real nginx and a scripted fake origin: framing, keep-alive
on both sides, RFC 9110 proxy duties (Via, X-Forwarded-*, hop-by-hop), host routing, refused
methods, HEAD/204/304, chunked and close-delimited responses, uploads and 100-continue."""

import json
import os
import subprocess
import time
import unittest

import requests

from harness import (FakeOrigin, NginxOrigin, Bawwab, ProxyTestCase, RawClient,
                     make_config, make_tempdir, pattern, scaled, simple_get, SOURCE_DIR)

HOST = "news.test"      # served by nginx
FAKE = "fake.test"      # served by the fake origin
WORKERS = 2


class ProxyBasics(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.nginx = NginxOrigin.start_for(cls)
        cls.fake = FakeOrigin.start(cls, name="fake")
        cls.proxy = Bawwab.start(cls, make_config(
            {"nginx": [cls.nginx.url], "fake": [cls.fake.url]},
            sites=[([HOST, "www." + HOST], "nginx"), ([FAKE], "fake")],
            workers=WORKERS, limits={"max_request_body": 64 * 1024 * 1024}))
        cls.port = cls.proxy.port

    # -- helpers --

    def get(self, path, host=HOST, headers=(), method="GET"):
        return simple_get(self.port, path, host, headers, method=method)

    def assert_nothing_reached_origins(self, nginx_mark, fake_bytes, what):
        time.sleep(0.2)
        self.assertEqual(self.nginx.entries_since(nginx_mark), [],
                         "%s reached nginx" % what)
        self.assertEqual(self.fake.total_bytes, fake_bytes,
                         "%s reached the fake origin: %r" % (what, self.fake.raw_received()[-300:]))

    def nginx_entry(self, mark, uri):
        entries = self.nginx.wait_entries(mark, 1, scaled(5))
        for e in entries:
            if e["uri"] == uri:
                return e
        self.fail("nginx did not log %s; it logged %r" % (uri, entries))

    # -- pages --

    def test_static_file_through_proxy(self):
        r = self.get("/gen/hello.txt")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hello from nginx\n")
        self.assertEqual(r.header("content-type"), "text/plain")
        self.assertTrue(r.header("etag"), "ETag from nginx not relayed: %r" % r)
        self.assertTrue(r.header("last-modified"), "Last-Modified not relayed: %r" % r)

    def test_demo_site_files_identical_through_proxy(self):
        site = os.path.join(SOURCE_DIR, "demo", "site")
        self.assertTrue(os.path.isdir(site), "demo site missing at %s" % site)
        names = []
        for root, _, files in os.walk(site):
            for f in files:
                names.append(os.path.relpath(os.path.join(root, f), site))
        self.assertTrue(names, "demo site is empty")
        with RawClient(self.port) as c:
            for name in sorted(names):
                with open(os.path.join(site, name), "rb") as f:
                    want = f.read()
                r = c.request("GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (name, HOST))
                self.assertEqual(r.status, 200, "%s: %r" % (name, r))
                self.assertEqual(r.body, want, "%s differs through the proxy" % name)

    def test_requests_library_page(self):
        r = requests.get(self.proxy.url("/gen/1k.bin"), headers={"Host": HOST}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, pattern(0, 1024))

    # -- keep-alive --

    def test_client_and_upstream_keepalive_reuse(self):
        mark = self.nginx.mark()
        with RawClient(self.port) as c:
            for i in range(6):
                r = c.request("GET /gen/hello.txt?n=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, HOST))
                self.assertEqual(r.status, 200, r)
                self.assertNotEqual((r.header("connection") or "").lower(), "close",
                                    "bawwab closes a keep-alive client connection: %r" % r)
        entries = self.nginx.wait_entries(mark, 6, scaled(5))
        conns = {e["conn"] for e in entries}
        self.assertLessEqual(len(conns), 2, "6 requests on one client connection used %d "
                             "upstream connections (no upstream keep-alive?): %r"
                             % (len(conns), [(e["uri"], e["conn"]) for e in entries]))
        for e in entries:
            self.assertNotEqual(e["connection"].lower(), "close",
                                "bawwab asks the origin to close: %r" % e)

    def test_upstream_pool_reused_across_client_connections(self):
        fake = FakeOrigin.start(self, name="pool")
        proxy = Bawwab.start(self, make_config({"pool": [fake.url]}, workers=WORKERS))
        for i in range(10):
            r = simple_get(proxy.port, "/x%d" % i, FAKE)
            self.assertEqual(r.status, 200, r)
        self.assertEqual(fake.request_count, 10)
        self.assertLessEqual(fake.connection_count, WORKERS,
                             "10 sequential requests opened %d origin connections "
                             "(pool is per worker; %d workers)"
                             % (fake.connection_count, WORKERS))

    def test_pipelined_requests_answered_in_order(self):
        with RawClient(self.port) as c:
            c.send("GET /gen/hello.txt HTTP/1.1\r\nHost: %s\r\n\r\n"
                   "GET /gen/1k.bin HTTP/1.1\r\nHost: %s\r\n\r\n" % (HOST, HOST))
            r1 = c.read_response()
            r2 = c.read_response()
        self.assertEqual((r1.status, r1.body), (200, b"hello from nginx\n"))
        self.assertEqual((r2.status, r2.body), (200, pattern(0, 1024)))

    # -- proxy duties --

    def test_via_and_forwarded_headers_at_origin(self):
        mark = self.nginx.mark()
        r = self.get("/headers")
        self.assertEqual(r.status, 200, r)
        e = self.nginx_entry(mark, "/headers")
        self.assertRegex(e["via"], r"^(HTTP/)?1\.1 bawwab\b", "Via at origin: %r" % e)
        self.assertEqual(e["xff"], "127.0.0.1", "X-Forwarded-For at origin: %r" % e)
        self.assertEqual(e["xfp"], "http", "X-Forwarded-Proto at origin: %r" % e)
        self.assertEqual(e["xfh"], HOST, "X-Forwarded-Host at origin: %r" % e)
        self.assertEqual(e["host"], HOST, "Host at origin: %r" % e)

    def test_untrusted_xff_replaced(self):
        mark = self.nginx.mark()
        r = self.get("/headers", headers=[("X-Forwarded-For", "6.6.6.6"),
                                          ("X-Forwarded-Proto", "https"),
                                          ("X-Forwarded-Host", "evil.test")])
        self.assertEqual(r.status, 200, r)
        e = self.nginx_entry(mark, "/headers")
        self.assertEqual(e["xff"], "127.0.0.1",
                         "client-supplied X-Forwarded-For from an untrusted peer kept: %r" % e)
        self.assertEqual(e["xfp"], "http", "client X-Forwarded-Proto kept: %r" % e)
        self.assertEqual(e["xfh"], HOST, "client X-Forwarded-Host kept: %r" % e)

    def test_hop_by_hop_request_headers_stripped(self):
        mark = self.nginx.mark()
        with RawClient(self.port) as c:
            r = c.request("GET /headers HTTP/1.1\r\nHost: %s\r\n"
                          "Connection: keep-alive, X-Foo\r\nX-Foo: secret\r\n"
                          "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: foo/1\r\n"
                          "Proxy-Connection: keep-alive\r\nX-Bar: visible\r\n\r\n" % HOST)
            self.assertEqual(r.status, 200, r)
        e = self.nginx_entry(mark, "/headers")
        self.assertEqual(e["x_foo"], "", "X-Foo named in Connection reached origin: %r" % e)
        self.assertEqual(e["keep_alive"], "", "Keep-Alive reached origin: %r" % e)
        self.assertEqual(e["te_hdr"], "", "TE reached origin: %r" % e)
        self.assertEqual(e["upgrade"], "", "Upgrade reached origin: %r" % e)
        self.assertEqual(e["proxy_connection"], "", "Proxy-Connection reached origin: %r" % e)
        self.assertNotIn("x-foo", e["connection"].lower(), "client Connection forwarded: %r" % e)
        self.assertEqual(e["x_bar"], "visible", "end-to-end header lost: %r" % e)

    def test_connection_close_with_token(self):
        mark = self.nginx.mark()
        with RawClient(self.port) as c:
            r = c.request("GET /headers HTTP/1.1\r\nHost: %s\r\nConnection: close, X-Foo\r\n"
                          "X-Foo: secret\r\n\r\n" % HOST)
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.header("connection") or "").lower(), "close", r)
            self.assert_closed(c, "Connection: close")
        e = self.nginx_entry(mark, "/headers")
        self.assertEqual(e["x_foo"], "", "X-Foo named in Connection reached origin: %r" % e)

    def test_hop_by_hop_response_headers_stripped(self):
        r = self.get("/hop", FAKE)
        self.assertEqual(r.status, 200, r)
        for name in ("x-secret", "keep-alive", "proxy-connection", "upgrade"):
            self.assertFalse(r.has_header(name), "%s from origin reached client: %r" % (name, r))
        self.assertNotIn("x-secret", (r.header("connection") or "").lower(), r)
        self.assertEqual(r.header("x-kept"), "yes", r)

    def test_absolute_form_becomes_origin_form(self):
        mark = self.nginx.mark()
        with RawClient(self.port) as c:
            r = c.request("GET http://%s/gen/hello.txt HTTP/1.1\r\nHost: %s\r\n\r\n"
                          % (HOST, HOST))
            self.assertEqual((r.status, r.body), (200, b"hello from nginx\n"), r)
            # RFC 9112 3.2.2: the authority replaces a different Host.
            r = c.request("GET http://www.%s/gen/hello.txt?b HTTP/1.1\r\nHost: other.test\r\n\r\n"
                          % HOST)
            self.assertEqual(r.status, 200, r)
        entries = self.nginx.wait_entries(mark, 2, scaled(5))
        self.assertEqual(entries[0]["request"], "GET /gen/hello.txt HTTP/1.1", entries[0])
        self.assertEqual(entries[0]["http_host"], HOST, entries[0])
        self.assertEqual(entries[1]["request"], "GET /gen/hello.txt?b HTTP/1.1", entries[1])
        self.assertEqual(entries[1]["http_host"], "www." + HOST, entries[1])

    def test_unknown_host_refused(self):
        mark, fb = self.nginx.mark(), self.fake.total_bytes
        r = self.get("/gen/hello.txt", "evil.test")
        self.assertIn(r.status, (421, 404), r)
        self.assertIn("no-store", (r.header("cache-control") or ""), r)
        with RawClient(self.port) as c:  # never an open proxy
            r = c.request("GET http://evil.test/ HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertIn(r.status, (421, 404), r)
        self.assert_nothing_reached_origins(mark, fb, "a request for an unknown host")
        self.assert_serves(self.port, HOST, "/gen/hello.txt")

    def test_connect_and_trace_refused(self):
        mark, fb = self.nginx.mark(), self.fake.total_bytes
        with RawClient(self.port) as c:
            r = c.request("CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n" % (HOST, HOST))
            self.assertEqual(r.status, 405, "CONNECT: %r" % r)
        with RawClient(self.port) as c:
            r = c.request("TRACE / HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertEqual(r.status, 405, "TRACE: %r" % r)
            self.assertNotIn(b"Host: " + HOST.encode(), r.body, "TRACE echoed: %r" % r)
        self.assert_nothing_reached_origins(mark, fb, "CONNECT/TRACE")
        self.assert_serves(self.port, HOST, "/gen/hello.txt")

    # -- bodiless responses --

    def test_head(self):
        with RawClient(self.port) as c:
            t0 = time.monotonic()
            r = c.request("HEAD /gen/big.html HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertLess(time.monotonic() - t0, scaled(2), "HEAD did not return at once")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("content-length"), str(len(self.nginx.files["big.html"])))
            # A stray body would be read as the next response's head.
            r = c.request("GET /gen/hello.txt HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertEqual((r.status, r.body), (200, b"hello from nginx\n"), r)

    def test_204(self):
        with RawClient(self.port) as c:
            r = c.request("GET /204 HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertEqual(r.status, 204, r)
            self.assertFalse(r.has_header("transfer-encoding"), "204 with TE: %r" % r)
            r = c.request("GET /gen/hello.txt HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertEqual((r.status, r.body), (200, b"hello from nginx\n"), r)
            r = c.request("GET /status/204 HTTP/1.1\r\nHost: %s\r\n\r\n" % FAKE)
            self.assertEqual(r.status, 204, r)
            r = c.request("GET /x HTTP/1.1\r\nHost: %s\r\n\r\n" % FAKE)
            self.assertEqual(r.status, 200, r)

    def test_304_if_none_match(self):
        r = self.get("/gen/hello.txt")
        etag = r.header("etag")
        self.assertTrue(etag, r)
        with RawClient(self.port) as c:
            r = c.request("GET /gen/hello.txt HTTP/1.1\r\nHost: %s\r\nIf-None-Match: %s\r\n\r\n"
                          % (HOST, etag))
            self.assertEqual(r.status, 304, r)
            self.assertEqual(r.header("etag"), etag, r)
            r = c.request("GET /gen/hello.txt HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
            self.assertEqual((r.status, r.body), (200, b"hello from nginx\n"), r)

    # -- framing of responses --

    def test_chunked_response(self):
        with RawClient(self.port) as c:
            r = c.request("GET /chunked/300001 HTTP/1.1\r\nHost: %s\r\n\r\n" % FAKE)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(r.body), 300001)
            self.assertEqual(r.body, pattern(0, 300001))
            if self.nginx.has_echo:
                r = c.request("GET /chunked HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST)
                self.assertEqual((r.status, r.body), (200, b"part one\npart two\n"), r)

    def test_close_delimited_response_intact(self):
        n = 2_000_003
        with RawClient(self.port) as c:
            r = c.request("GET /close/%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (n, FAKE))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(r.body), n, "close-delimited body cut: framing %s" % r.framing)
            self.assertEqual(r.body, pattern(0, n))
        # Through the requests library too (HTTP/1.1 client, whatever framing bawwab chose).
        rr = requests.get(self.proxy.url("/close/1000"), headers={"Host": FAKE}, timeout=10)
        self.assertEqual(rr.content, pattern(0, 1000))

    # -- uploads --

    def test_content_length_upload_to_nginx(self):
        mark = self.nginx.mark()
        body = pattern(0, 100_000)
        r = requests.post(self.proxy.url("/post"), data=body, headers={"Host": HOST}, timeout=10)
        self.assertEqual((r.status_code, r.text), (200, "posted\n"))
        e = self.nginx_entry(mark, "/post")
        self.assertEqual(e["cl"], "100000", e)
        self.assertEqual(e["te"], "", e)

    def test_content_length_upload_intact(self):
        before = self.fake.request_count
        body = pattern(0, 1_000_000)
        r = requests.post(self.proxy.url("/upload"), data=body, headers={"Host": FAKE},
                          timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        got = r.json()
        self.assertEqual((got["length"], got["pattern_ok"], got["complete"]),
                         (1_000_000, True, True), got)
        req = self.fake.requests[before]
        self.assertEqual(req.header("content-length"), "1000000", req.headers)

    def test_chunked_upload(self):
        sizes = [1, 1000, 65536, 300_000, 7]

        def gen():
            off = 0
            for s in sizes:
                yield pattern(off, s)
                off += s
        r = requests.post(self.proxy.url("/upload"), data=gen(), headers={"Host": FAKE},
                          timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        got = r.json()
        self.assertEqual((got["length"], got["pattern_ok"], got["complete"]),
                         (sum(sizes), True, True), got)
        self.assertEqual(self.get("/after-upload", FAKE).status, 200)
        self.assert_origin_in_sync(self.fake)

    def test_chunked_upload_raw_with_trailer_and_extension(self):
        with RawClient(self.port) as c:
            body = pattern(0, 10)
            r = c.request(b"POST /upload HTTP/1.1\r\nHost: " + FAKE.encode() +
                          b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"4;ext=1\r\n" + body[:4] + b"\r\n6\r\n" + body[4:] + b"\r\n"
                          b"0\r\nX-Trailer: t\r\n\r\n")
            self.assertEqual(r.status, 200, r)
            got = json.loads(r.body)
            self.assertEqual((got["length"], got["pattern_ok"]), (10, True), got)
            r = c.request("GET /after HTTP/1.1\r\nHost: %s\r\n\r\n" % FAKE)
            self.assertEqual(r.status, 200, r)
        self.assert_origin_in_sync(self.fake)

    def test_expect_100_continue_raw(self):
        n = 100_000
        with RawClient(self.port) as c:
            c.send("POST /upload HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                   "Expect: 100-continue\r\n\r\n" % (FAKE, n))
            interim = c.read_response(stop_at_1xx=True, timeout=scaled(5))
            self.assertEqual(interim.status, 100, "expected 100 Continue first: %r" % interim)
            c.send(pattern(0, n))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            got = json.loads(r.body)
            self.assertEqual((got["length"], got["pattern_ok"]), (n, True), got)
        self.assert_origin_in_sync(self.fake)

    def _curl_expect(self, host, path, size):
        tmp = make_tempdir(self)
        f = os.path.join(tmp, "upload.bin")
        with open(f, "wb") as fh:
            fh.write(pattern(0, size))
        p = subprocess.run(["curl", "-sS", "-v", "--max-time", str(int(scaled(20))),
                            "-H", "Host: " + host, "-H", "Expect: 100-continue",
                            "--data-binary", "@" + f, self.proxy.url(path)],
                           capture_output=True, text=True, timeout=scaled(30))
        return p

    def test_expect_100_continue_curl(self):
        p = self._curl_expect(FAKE, "/upload", 10 * 1024 * 1024)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertRegex(p.stderr, r"< HTTP/1\.1 100 Continue", p.stderr[-2000:])
        self.assertRegex(p.stderr, r"< HTTP/1\.1 200", p.stderr[-2000:])
        got = json.loads(p.stdout)
        self.assertEqual((got["length"], got["pattern_ok"]), (10 * 1024 * 1024, True), got)

    def test_expect_100_continue_curl_nginx(self):
        p = self._curl_expect(HOST, "/post", 2 * 1024 * 1024)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertRegex(p.stderr, r"< HTTP/1\.1 100 Continue", p.stderr[-2000:])
        self.assertRegex(p.stderr, r"< HTTP/1\.1 200", p.stderr[-2000:])
        self.assertEqual(p.stdout, "posted\n")


class TrustedProxy(ProxyTestCase):
    """With 127.0.0.1 trusted, the forwarded chain is kept and the peer appended."""

    @classmethod
    def setUpClass(cls):
        cls.nginx = NginxOrigin.start_for(cls)
        cls.proxy = Bawwab.start(cls, make_config({"nginx": [cls.nginx.url]},
                                                  trusted_proxies=["127.0.0.1/32"]))

    def test_trusted_xff_chain_kept(self):
        mark = self.nginx.mark()
        r = simple_get(self.proxy.port, "/headers", HOST,
                       [("X-Forwarded-For", "6.6.6.6")])
        self.assertEqual(r.status, 200, r)
        e = self.nginx.wait_entries(mark, 1, scaled(5))[0]
        parts = [p.strip() for p in e["xff"].split(",")]
        self.assertEqual(parts, ["6.6.6.6", "127.0.0.1"], "XFF from a trusted peer: %r" % e)


if __name__ == "__main__":
    unittest.main()
