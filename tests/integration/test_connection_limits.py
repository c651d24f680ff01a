"""Accept-time caps: limits.max_connections_per_ip and limits.max_connections close extra
connections at once (counted in /metrics), and the admitted ones keep being served."""
import http.server
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

BIN = os.environ.get("BAWWAB_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bawwab")


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def start_bawwab(test, directory, limits):
    config = os.path.join(directory, "bawwab-%d.yaml" % len(os.listdir(directory)))
    with open(config, "w") as f:
        f.write("""
listeners: [ { address: 127.0.0.1:0 } ]
upstreams: { o: { servers: ["http://127.0.0.1:%d"] } }
sites: [ { hosts: ["*"], upstream: o } ]
limits: { %s }
status: { listen: 127.0.0.1:0 }
access_log: { path: "off" }
workers: 1
""" % (test.origin.server_address[1], limits))
    proc = subprocess.Popen([BIN, "run", "--config", config], stderr=subprocess.PIPE, text=True)
    test.addCleanup(stop, proc)
    port = status = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"status listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            status = int(m.group(1))
            continue
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
        if "ready" in line:
            break
    test.assertIsNotNone(port, "bawwab did not start")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return port, status


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def get_on(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\nok" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def closed_by_peer(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def metric(status_port, name, labels):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % status_port, timeout=10).read()
    for line in text.decode().splitlines():
        if line.startswith(name + "{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class ConnectionLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
        threading.Thread(target=cls.origin.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.origin.shutdown()
        cls.tmp.cleanup()

    def check_cap(self, limits, allowed, reason):
        port, status = start_bawwab(self, self.tmp.name, limits)
        admitted = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(allowed)]
        for s in admitted:  # each one is served, so each one is counted by now
            self.assertIn(b" 200 ", get_on(s))
        extra = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.assertTrue(closed_by_peer(extra), "the connection over the cap was not closed")
        extra.close()
        for s in admitted:  # the admitted ones keep working
            self.assertIn(b" 200 ", get_on(s))
        self.assertGreaterEqual(metric(status, "bawwab_connections_rejected_total", reason), 1)
        for s in admitted:
            s.close()
        # Slots come back once connections close.
        deadline = time.monotonic() + 10
        while True:  # the sessions release their slots as they notice the close
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                data = get_on(s)
            except ConnectionError:
                data = b""  # still over the cap: closed at accept
            s.close()
            if b" 200 " in data or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(b" 200 ", data)

    def test_per_ip_cap(self):
        self.check_cap("max_connections_per_ip: 2", 2, 'reason="max_connections_per_ip"')

    def test_total_cap(self):
        self.check_cap("max_connections: 3", 3, 'reason="max_connections"')


if __name__ == "__main__":
    unittest.main()
