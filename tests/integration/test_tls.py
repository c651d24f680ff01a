"""TLS termination through the real binary: TLS 1.2 and 1.3, ALPN http/1.1, a certificate chosen
by SNI among several, and a plain listener that redirects to HTTPS."""
import http.server
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("BAWWAB_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bawwab")


def make_cert(directory, name):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


def read_all(sock):
    """Everything the peer sends until it closes (every request here sends Connection: close)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("origin saw %s proto=%s" % (self.path, self.headers.get("X-Forwarded-Proto"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.cert_a, key_a = make_cert(d, "a.test")
        cls.cert_b, key_b = make_cert(d, "b.test")
        cls.origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
        threading.Thread(target=cls.origin.serve_forever, daemon=True).start()
        config = os.path.join(d, "bawwab.yaml")
        with open(config, "w") as f:
            f.write("""
listeners:
  - address: 127.0.0.1:0
    tls:
      certificates:
        - { cert: %s, key: %s }
        - { cert: %s, key: %s }
  - address: 127.0.0.1:0
    redirect_https: true
    redirect_https_port: 8443
upstreams:
  o: { servers: ["http://127.0.0.1:%d"] }
sites:
  - { hosts: ["a.test", "b.test"], upstream: o }
access_log: { path: "off" }
workers: 1
""" % (cls.cert_a, key_a, cls.cert_b, key_b, cls.origin.server_address[1]))
        cls.proc = subprocess.Popen([BIN, "run", "--config", config], stderr=subprocess.PIPE,
                                    text=True)
        ports = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = cls.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                ports.append(int(m.group(1)))
            if "ready" in line:
                break
        assert len(ports) == 2, "bawwab did not start: %r" % ports
        cls.tls_port, cls.plain_port = ports
        threading.Thread(target=cls.proc.stderr.read, daemon=True).start()  # keep the pipe drained

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        try:
            cls.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
        cls.origin.shutdown()
        cls.tmp.cleanup()

    def fetch(self, sni, version=None, alpn=("h2", "http/1.1")):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if version is not None:
            ctx.minimum_version = version
            ctx.maximum_version = version
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as s:
                s.sendall(("GET /page HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % sni).encode())
                data = read_all(s)
                der = s.getpeercert(binary_form=True)
                return s.version(), s.selected_alpn_protocol(), der, data

    def subject_of(self, der):
        pem = ssl.DER_cert_to_PEM_cert(der)
        out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, text=True,
                             capture_output=True, check=True).stdout
        return out.strip()

    def test_tls13_alpn_and_body(self):
        version, alpn, _, data = self.fetch("a.test", ssl.TLSVersion.TLSv1_3)
        self.assertEqual(version, "TLSv1.3")
        self.assertEqual(alpn, "http/1.1")  # h2 is offered first, we only speak 1.1
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        self.assertIn(b"origin saw /page proto=https", data)

    def test_tls12(self):
        version, _, _, data = self.fetch("a.test", ssl.TLSVersion.TLSv1_2)
        self.assertEqual(version, "TLSv1.2")
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])

    def test_tls11_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            self.fetch("a.test", ssl.TLSVersion.TLSv1_1)

    def test_certificate_chosen_by_sni(self):
        self.assertIn("a.test", self.subject_of(self.fetch("a.test")[2]))
        self.assertIn("b.test", self.subject_of(self.fetch("b.test")[2]))
        # An unknown name gets the first (default) certificate, as with nginx.
        self.assertIn("a.test", self.subject_of(self.fetch("other.test")[2]))

    def test_plain_listener_redirects_to_https(self):
        with socket.create_connection(("127.0.0.1", self.plain_port), timeout=10) as s:
            s.sendall(b"GET /x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            data = read_all(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 308"), data[:100])
        self.assertIn(b"\r\nLocation: https://a.test:8443/x?y=1\r\n", data)

    def test_garbage_instead_of_a_hello(self):
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            s.settimeout(10)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
        # ... and the listener still serves.
        self.assertTrue(self.fetch("a.test")[3].startswith(b"HTTP/1.1 200"))


if __name__ == "__main__":
    unittest.main()
