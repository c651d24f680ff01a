"""Shared helpers for bawwab's integration tests.

Everything runs on 127.0.0.1 with ports chosen by the OS. Each helper that starts something
(bawwab, nginx, the fake origin) registers its own cleanup with the test case or class that asked
for it, so a failing test never leaves a process behind; an atexit hook kills whatever is left.
Every wait is bounded.

Environment:
  BAWWAB_BIN          the binary under test (default: <source>/build/bawwab)
  BAWWAB_SOURCE_DIR   the source tree (default: two levels above this file)
  BAWWAB_TEST_SLOWDOWN  multiplies every timeout (default 3 for an ASan build, else 1)
"""

import atexit
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("BAWWAB_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
BAWWAB_BIN = os.environ.get("BAWWAB_BIN") or os.path.join(SOURCE_DIR, "build", "bawwab")
NGINX_BIN = shutil.which("nginx") or "/usr/sbin/nginx"
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
LOOPBACK = "127.0.0.1"

_live_processes = []  # every Popen we started; killed at exit if still running


@atexit.register
def _kill_leftovers():
    for p in _live_processes:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass


def _binary_is_asan(path):
    try:
        with open(path, "rb") as f:
            import mmap
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return m.find(b"__asan_init") != -1
    except (OSError, ValueError):
        return False


IS_ASAN = _binary_is_asan(BAWWAB_BIN)
SLOWDOWN = float(os.environ.get("BAWWAB_TEST_SLOWDOWN") or (3.0 if IS_ASAN else 1.0))


def scaled(seconds):
    """A timeout for a wait on bawwab, stretched for slow (sanitizer) builds."""
    return seconds * SLOWDOWN


def free_port():
    """A port that was free a moment ago (for nginx; bawwab itself binds port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.02, message="condition"):
    """Polls predicate until it returns a true value; returns it, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


def wait_port_open(port, timeout, host=LOOPBACK):
    def try_connect():
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_until(try_connect, timeout, 0.05, "%s:%d to accept" % (host, port))


def make_tempdir(case, prefix="bawwab-it-"):
    """A temp dir removed by case's cleanup (case: a TestCase instance or class)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _add_cleanup(case, shutil.rmtree, d, ignore_errors=True)
    return d


def _add_cleanup(case, fn, *args, **kwargs):
    if isinstance(case, type):
        case.addClassCleanup(fn, *args, **kwargs)
    else:
        case.addCleanup(fn, *args, **kwargs)


# ------------------------------------------------------------------------------------------------
# Deterministic body content, so any lost, duplicated or shifted byte is detected.

_PATTERN_PERIOD = 1_000_003  # not a power of two: a shift by any block size shows up
_PATTERN = hashlib.shake_128(b"bawwab").digest(_PATTERN_PERIOD)
_PATTERN2 = _PATTERN + _PATTERN


_PATTERN_VIEW = memoryview(_PATTERN2)


def pattern(offset, n):
    """n bytes of the test pattern starting at offset (n may exceed the period)."""
    start = offset % _PATTERN_PERIOD
    if n <= _PATTERN_PERIOD:
        return _PATTERN2[start:start + n]  # one copy; building via bytearray is much slower
    return b"".join(pattern_views(offset, n))


def pattern_views(offset, n):
    """The same bytes as pattern(offset, n), as zero-copy memoryview pieces (for sending)."""
    while n > 0:
        start = offset % _PATTERN_PERIOD
        take = min(n, _PATTERN_PERIOD)
        yield _PATTERN_VIEW[start:start + take]
        offset += take
        n -= take


class PatternChecker:
    """Feeds received data and checks it equals pattern(0, ...)."""

    def __init__(self):
        self.offset = 0
        self.first_mismatch = None

    def feed(self, data):
        if self.first_mismatch is None and data != pattern(self.offset, len(data)):
            exp = pattern(self.offset, len(data))
            i = next(i for i in range(len(data)) if data[i] != exp[i])
            self.first_mismatch = self.offset + i
        self.offset += len(data)

    @property
    def ok(self):
        return self.first_mismatch is None


# ------------------------------------------------------------------------------------------------
# Wire-level reading, shared by the raw client and the fake origin.

class PeerClosed(Exception):
    """The peer closed (or reset) the connection before the expected bytes arrived."""


class Reader:
    """Buffered reads from a socket, recording what arrives (capped) and counting it."""

    MAX_HEAD = 1 << 20

    def __init__(self, sock, record_cap=1 << 20):
        self.sock = sock
        self.buf = bytearray()
        self.raw = bytearray()  # first record_cap bytes received
        self.record_cap = record_cap
        self.total = 0
        self.eof = False
        self.reset = False

    def recv(self):
        """Reads once, bypassing the buffer; b"" on EOF or reset. Socket timeouts propagate."""
        if self.eof:
            return b""
        try:
            data = self.sock.recv(1 << 18)
        except (ConnectionResetError, ConnectionAbortedError):
            self.eof = self.reset = True
            return b""
        if not data:
            self.eof = True
            return b""
        self.total += len(data)
        if len(self.raw) < self.record_cap:
            self.raw += data[:self.record_cap - len(self.raw)]
        return data

    def fill(self):
        """Reads once into the buffer; False on EOF or reset."""
        data = self.recv()
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, delim, limit):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = bytes(self.buf[:i + len(delim)])
                del self.buf[:i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (delim, limit))
            if not self.fill():
                raise PeerClosed("closed while waiting for %r (have %d bytes: %r)"
                                 % (delim, len(self.buf), bytes(self.buf[:200])))

    def read_head(self):
        """Bytes up to and including the blank line; None on a clean EOF before any byte."""
        while not self.buf:
            if not self.fill():
                return None
        return self.read_until(b"\r\n\r\n", self.MAX_HEAD)

    def read_line(self):
        return self.read_until(b"\r\n", 64 * 1024)

    def read_exact(self, n, sink=None):
        """Reads n bytes; sink(bytes) gets them in pieces (None: discarded)."""
        if self.buf and n > 0:
            take = min(n, len(self.buf))
            if sink is not None:
                sink(bytes(self.buf[:take]))
            del self.buf[:take]
            n -= take
        while n > 0:  # large bodies skip the buffer
            data = self.recv()
            if not data:
                raise PeerClosed("closed with %d body bytes missing" % n)
            if len(data) > n:
                self.buf += data[n:]
                data = data[:n]
            if sink is not None:
                sink(data)
            n -= len(data)

    def read_to_eof(self, sink=None):
        n = len(self.buf)
        if self.buf and sink is not None:
            sink(bytes(self.buf))
        self.buf.clear()
        while True:
            data = self.recv()
            if not data:
                return n
            n += len(data)
            if sink is not None:
                sink(data)

    def read_chunked(self, sink=None):
        """Decodes a chunked body; returns (decoded_length, trailer_lines, chunk_count)."""
        total = 0
        chunks = 0
        while True:
            line = self.read_line()
            size_text = line[:-2].split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
                raise ValueError("bad chunk size line %r" % line)
            size = int(size_text, 16)
            if size == 0:
                break
            chunks += 1
            self.read_exact(size, sink)
            if self.read_line() != b"\r\n":
                raise ValueError("chunk data not followed by CRLF")
            total += size
        trailers = []
        while True:
            line = self.read_line()
            if line == b"\r\n":
                return total, trailers, chunks
            trailers.append(line[:-2])


def parse_head(head):
    """(start_line_parts, [(name, value)]) from a raw head (bytes)."""
    lines = head.decode("latin-1").split("\r\n")
    start = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return start, headers


class HeaderMixin:
    headers: list

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return any(k.lower() == name.lower() for k, _ in self.headers)


@dataclass
class Response(HeaderMixin):
    version: str
    status: int
    reason: str
    headers: list
    body: bytes = b""
    body_length: int = 0
    informational: list = field(default_factory=list)  # 1xx responses seen before this one
    raw_head: bytes = b""
    framing: str = "none"  # "length", "chunked", "close", "none"
    trailers: list = field(default_factory=list)

    def __repr__(self):
        return "<Response %d %s headers=%r body[:120]=%r>" % (
            self.status, self.reason, self.headers, self.body[:120])

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def read_response(reader, method="GET", keep_body=True, sink=None, stop_at_1xx=False):
    """Reads one response (skipping and recording 1xx unless stop_at_1xx) from a Reader."""
    informational = []
    while True:
        head = reader.read_head()
        if head is None:
            raise PeerClosed("connection closed before any response byte")
        if not re.match(rb"HTTP/1\.[01] [0-9]{3}", head):
            raise ValueError("not a status line: %r (stray bytes after the previous response?)"
                             % head[:200])
        (version, status, *rest), headers = parse_head(head)
        status = int(status)
        resp = Response(version, status, rest[0] if rest else "", headers, raw_head=head,
                        informational=informational)
        if 100 <= status < 200:
            informational.append(resp)
            if stop_at_1xx:
                return resp
            continue
        break
    body = bytearray()

    def collect(data):
        if keep_body:
            body.extend(data)
        if sink is not None:
            sink(data)
        resp.body_length += len(data)

    te = ",".join(resp.header_all("transfer-encoding")).lower()
    if method == "HEAD" or status in (204, 304):
        resp.framing = "none"
    elif te:
        if te.replace(" ", "").split(",")[-1] != "chunked":
            raise ValueError("response with non-chunked Transfer-Encoding %r" % te)
        resp.framing = "chunked"
        _, resp.trailers, _ = reader.read_chunked(collect)
    elif resp.has_header("content-length"):
        resp.framing = "length"
        reader.read_exact(int(resp.header("content-length")), collect)
    else:
        resp.framing = "close"
        reader.read_to_eof(collect)
    resp.body = bytes(body)
    return resp


class RawClient:
    """One client connection that sends exactly the bytes it is given."""

    def __init__(self, port, timeout=None, host=LOOPBACK):
        self.timeout = timeout if timeout is not None else scaled(10)
        self.sock = socket.create_connection((host, port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock)
        self.send_error = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        """Sends data; a reset while sending is recorded (the response may still be readable)."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.send_error = e

    def read_response(self, method="GET", timeout=None, **kw):
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        return read_response(self.reader, method, **kw)

    def request(self, data, method=None, **kw):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.send(data)
        return self.read_response(method or data.split(b" ", 1)[0].decode(), **kw)

    def is_closed(self, timeout=None):
        """True if the peer closes (EOF or reset) within timeout with no further byte.

        False if the connection stays open for the whole timeout or if more bytes arrive (those
        are kept in self.extra, which a test can show)."""
        self.sock.settimeout(timeout if timeout is not None else scaled(3))
        self.extra = bytes(self.reader.buf)
        if self.extra:
            return False
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.extra += data
                return False
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def simple_get(port, path="/", host="news.test", headers=(), timeout=None, method="GET"):
    """One request on a fresh connection with Connection: close; returns the Response."""
    extra = "".join("%s: %s\r\n" % (k, v) for k, v in headers)
    with RawClient(port, timeout) as c:
        return c.request("%s %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n"
                         % (method, path, host, extra), method=method)


# ------------------------------------------------------------------------------------------------
# The scripted fake origin.

@dataclass
class Reply:
    """What the fake origin answers to one request."""
    status: int = 200
    reason: str = ""
    headers: list = field(default_factory=list)
    body: bytes = b""
    body_size: int = None      # send this many pattern bytes instead of body (streamed)
    mode: str = "length"       # "length", "chunked", "close" (close-delimited), "bare" (no framing)
    delay: float = 0.0         # before the response head
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0   # between body pieces
    send_continue: bool = True  # answer Expect: 100-continue with an interim 100
    read_body: bool = True
    close: bool = False        # close the connection after this response
    raw: bytes = None          # send exactly these bytes instead of a generated response
    trailers: list = field(default_factory=list)


@dataclass
class OriginRequest(HeaderMixin):
    conn_id: int
    method: str
    target: str
    version: str
    headers: list
    raw_head: bytes
    body: bytearray = field(default_factory=bytearray)  # first body_cap bytes
    body_length: int = 0
    body_complete: bool = False
    body_error: str = ""
    framing: str = "none"
    chunk_count: int = 0
    trailers: list = field(default_factory=list)
    pattern_ok: bool = True


@dataclass
class OriginConnection:
    conn_id: int
    reader: Reader = None
    closed: bool = False
    requests: int = 0

    @property
    def raw(self):
        return bytes(self.reader.raw) if self.reader else b""


class FakeOrigin:
    """A threaded HTTP/1.1 origin that records the raw bytes it receives and answers scripted
    replies.

    handler(req: OriginRequest) -> Reply, called once the head is read (before the body). The
    default handler understands these paths:
      /delay/<secs>       200 after a delay (the body is read first)
      /status/<code>      that status (no body for 1xx/204/304)
      /bytes/<n>          n pattern bytes with Content-Length
      /chunked/<n>        n pattern bytes, chunked
      /close/<n>          n pattern bytes, close-delimited (no Content-Length, no chunked)
      /upload             reads the body; answers JSON {length, chunks, framing, pattern_ok}
      /echo               answers the raw request head as the body
      /hop                a response carrying hop-by-hop headers
      anything else       200 "origin <name>: <target>" with X-Origin: <name>
    """

    def __init__(self, handler=None, name="fake", idle_close=None, body_cap=4 << 20):
        self.name = name
        self.handler = handler or self.default_handler
        self.idle_close = idle_close
        self.body_cap = body_cap
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.connections = []
        self.requests = []
        self.errors = []
        self.bad_heads = []  # heads that are not an HTTP/1.x request (a framing desync)
        self.stopping = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(512)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = "http://%s:%d" % (LOOPBACK, self.port)
        self._socks = []
        self._thread = threading.Thread(target=self._accept_loop, name="origin-" + name,
                                        daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, case, **kw):
        o = cls(**kw)
        _add_cleanup(case, o.stop)
        return o

    # -- what the tests look at --

    @property
    def total_bytes(self):
        with self.lock:
            return sum(c.reader.total for c in self.connections if c.reader)

    @property
    def connection_count(self):
        with self.lock:
            return len(self.connections)

    @property
    def request_count(self):
        with self.lock:
            return len(self.requests)

    def raw_received(self):
        with self.lock:
            return b"".join(c.raw for c in self.connections)

    def reset(self):
        """Forgets what was recorded (connections stay open)."""
        with self.lock:
            for c in self.connections:
                if c.reader:
                    c.reader.raw.clear()
                    c.reader.total = 0
            self.connections = [c for c in self.connections if not c.closed]
            self.requests = []

    def wait_requests(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake origin saw %d requests, wanted %d"
                                         % (len(self.requests), n))
                self.cond.wait(left)
            return list(self.requests)

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    # -- the server --

    def _accept_loop(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                conn = OriginConnection(len(self.connections))
                self.connections.append(conn)
                self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock, conn), daemon=True).start()

    def _serve(self, sock, conn):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = Reader(sock)
        conn.reader = reader
        try:
            while not self.stopping:
                sock.settimeout(self.idle_close if self.idle_close else 120)
                try:
                    head = reader.read_head()
                except socket.timeout:
                    break  # idle keep-alive connection: close it, as origins do
                if head is None:
                    break
                sock.settimeout(60)
                if not self._one_request(sock, reader, conn, head):
                    break
        except (PeerClosed, OSError, ValueError) as e:
            with self.lock:
                self.errors.append("conn %d: %r" % (conn.conn_id, e))
        finally:
            conn.closed = True
            try:
                sock.close()
            except OSError:
                pass
            with self.cond:
                self.cond.notify_all()

    def _one_request(self, sock, reader, conn, head):
        if not re.match(rb"[A-Z]+ \S+ HTTP/1\.[01]\r\n", head):
            with self.cond:
                self.bad_heads.append(head[:300])
                self.cond.notify_all()
            return False
        (method, target, version), headers = _split_request_head(head)
        req = OriginRequest(conn.conn_id, method, target, version, headers, head)
        conn.requests += 1
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()
        reply = self.handler(req)
        if reply.raw is not None and not reply.read_body:
            self._sleep(reply.delay)
            sock.sendall(reply.raw)
            return not reply.close
        expect = (req.header("expect") or "").lower() == "100-continue"
        if expect and reply.send_continue and reply.read_body:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if reply.read_body:
            self._read_body(reader, req)
        self._sleep(reply.delay)
        if reply.raw is not None:
            sock.sendall(reply.raw)
            return not reply.close
        self._send_reply(sock, req, reply)
        wants_close = ((req.header("connection") or "").lower() == "close"
                       or (version == "HTTP/1.0"
                           and "keep-alive" not in (req.header("connection") or "").lower()))
        return not (reply.close or reply.mode in ("close", "bare") or wants_close)

    def _sleep(self, secs):
        deadline = time.monotonic() + secs
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _read_body(self, reader, req):
        checker = PatternChecker()

        def sink(data):
            req.body_length += len(data)
            if len(req.body) < self.body_cap:
                req.body += data[:self.body_cap - len(req.body)]
            checker.feed(data)

        te = ",".join(req.header_all("transfer-encoding")).lower().replace(" ", "")
        try:
            if te:
                req.framing = "chunked"
                _, req.trailers, req.chunk_count = reader.read_chunked(sink)
            elif req.has_header("content-length"):
                req.framing = "length"
                reader.read_exact(int(req.header("content-length")), sink)
            req.body_complete = True
        except (PeerClosed, ValueError, socket.timeout) as e:
            req.body_error = repr(e)
            raise
        finally:
            req.pattern_ok = checker.ok

    def _send_reply(self, sock, req, reply):
        reason = reply.reason or _REASONS.get(reply.status, "Whatever")
        head = ["HTTP/1.1 %d %s" % (reply.status, reason)]
        head += ["%s: %s" % kv for kv in reply.headers]
        no_body = req.method == "HEAD" or reply.status in (204, 304) or reply.status < 200
        size = reply.body_size if reply.body_size is not None else len(reply.body)
        if reply.mode == "length" and reply.status not in (204, 304):
            head.append("Content-Length: %d" % size)
        elif reply.mode == "chunked" and not no_body:
            head.append("Transfer-Encoding: chunked")
        elif reply.mode == "close":
            head.append("Connection: close")
        if reply.close and reply.mode != "close":
            head.append("Connection: close")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if no_body:
            return
        sent = 0
        body = reply.body if reply.body_size is None else b""
        while sent < size:
            n = min(reply.chunk_size, size - sent)
            pieces = (pattern_views(sent, n) if reply.body_size is not None
                      else [memoryview(body)[sent:sent + n]])
            if reply.mode == "chunked":
                sock.sendall(b"%x\r\n" % n)
            for piece in pieces:
                sock.sendall(piece)
            if reply.mode == "chunked":
                sock.sendall(b"\r\n")
            sent += n
            if reply.chunk_delay:
                self._sleep(reply.chunk_delay)
        if reply.mode == "chunked":
            trailer = "".join("%s: %s\r\n" % kv for kv in reply.trailers)
            sock.sendall(b"0\r\n" + trailer.encode("latin-1") + b"\r\n")

    def default_handler(self, req):
        path = req.target.split("?", 1)[0]
        parts = path.strip("/").split("/")
        try:
            if parts[0] == "delay" and len(parts) >= 2:
                return Reply(delay=float(parts[1]), body=b"delayed %s" % parts[1].encode())
            if parts[0] == "status" and len(parts) >= 2:
                code = int(parts[1])
                body = b"" if code in (204, 304) else b"status %d" % code
                return Reply(status=code, body=body)
            if parts[0] == "bytes" and len(parts) >= 2:
                return Reply(body_size=int(parts[1]), chunk_size=1 << 20)
            if parts[0] == "chunked" and len(parts) >= 2:
                return Reply(body_size=int(parts[1]), mode="chunked")
            if parts[0] == "close" and len(parts) >= 2:
                return Reply(body_size=int(parts[1]), mode="close")
        except ValueError:
            return Reply(status=400, body=b"bad test path")
        if parts[0] == "upload":
            return _UploadReply(req)
        if parts[0] == "echo":
            return Reply(body=req.raw_head, headers=[("Content-Type", "text/plain")])
        if parts[0] == "hop":
            return Reply(body=b"hop", headers=[
                ("Connection", "X-Secret, Keep-Alive"), ("X-Secret", "1"),
                ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
                ("Upgrade", "foo/1"), ("X-Kept", "yes")])
        return Reply(headers=[("X-Origin", self.name), ("Content-Type", "text/plain")],
                     body=("origin %s: %s" % (self.name, req.target)).encode())


class _UploadReply(Reply):
    """A reply whose JSON body describes the request body, computed after it was read."""

    def __init__(self, req):
        super().__init__(headers=[("Content-Type", "application/json")])
        self._req = req

    @property
    def body(self):
        r = self._req
        return json.dumps({"length": r.body_length, "chunks": r.chunk_count,
                           "framing": r.framing, "pattern_ok": r.pattern_ok,
                           "complete": r.body_complete}).encode()

    @body.setter
    def body(self, value):
        pass


def _split_request_head(head):
    start, headers = parse_head(head)
    while len(start) < 3:
        start.append("")
    return (start[0], start[1], start[2]), headers


_REASONS = {100: "Continue", 200: "OK", 201: "Created", 204: "No Content",
            301: "Moved Permanently", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


# ------------------------------------------------------------------------------------------------
# A real nginx origin.

NGINX_LOG_FORMAT = (
    '{"request":"$request","uri":"$request_uri","status":"$status","conn":"$connection",'
    '"conn_requests":"$connection_requests","host":"$host","http_host":"$http_host",'
    '"te":"$http_transfer_encoding","cl":"$content_length","xff":"$http_x_forwarded_for",'
    '"xfp":"$http_x_forwarded_proto","xfh":"$http_x_forwarded_host","via":"$http_via",'
    '"connection":"$http_connection","keep_alive":"$http_keep_alive","te_hdr":"$http_te",'
    '"upgrade":"$http_upgrade","proxy_connection":"$http_proxy_connection",'
    '"x_foo":"$http_x_foo","x_bar":"$http_x_bar","expect":"$http_expect",'
    '"forwarded":"$http_forwarded","request_length":"$request_length","ua":"$http_user_agent",'
    '"ae":"$http_accept_encoding","bytes_sent":"$body_bytes_sent"}')


class NginxOrigin:
    """nginx on loopback serving the demo site plus generated files, logging what reached it.

    Locations:
      /                 the demo site (BAWWAB_SOURCE_DIR/demo/site)
      /gen/<file>       generated files: hello.txt, 1k.bin, big.html (12 MiB), added by add_file
      /headers          200 text "xff|via|xfp|xfh|connection|host" as nginx saw them
      /204              204
      /slow             answers after 2 s (echo module) when available
      /chunked          a chunked response (echo module) when available
      /strict/...       the demo site with a strict nonce-based Content-Security-Policy
    """

    def __init__(self, tmpdir, big_bytes=12 << 20, gzip=False):
        self.dir = os.path.join(tmpdir, "nginx")
        self.gen = os.path.join(self.dir, "gen")
        os.makedirs(self.gen)
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            os.makedirs(os.path.join(self.dir, sub))
        self.site_dir = os.path.join(SOURCE_DIR, "demo", "site")
        self.files = {}
        self.add_file("hello.txt", b"hello from nginx\n")
        self.add_file("1k.bin", pattern(0, 1024))
        filler = pattern(0, big_bytes).hex().encode()[:big_bytes]
        self.add_file("big.html", b"<!doctype html><html><body><pre>\n" + filler
                      + b"\n</pre></body></html>\n")
        self.access_log = os.path.join(self.dir, "logs", "access.log")
        self.error_log = os.path.join(self.dir, "logs", "error.log")
        self.has_echo = os.path.exists(ECHO_MODULE)
        # gzip: compress HTML and text as a typical site does (level 6, like Apache's default).
        self.gzip = gzip
        self.proc = None
        self.port = None

    def add_file(self, name, data):
        with open(os.path.join(self.gen, name), "wb") as f:
            f.write(data)
        self.files[name] = data

    def _conf(self):
        d = self.dir
        echo_locations = ""
        if self.has_echo:
            echo_locations = """
            location = /slow { echo_sleep 2; echo "slow"; }
            location = /chunked { echo "part one"; echo_flush; echo "part two"; }
            """
        return """
load_module %(echo)s;
%(user)s
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path %(d)s/client_body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    log_format rec escape=json '%(fmt)s';
    access_log %(d)s/logs/access.log rec;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    sendfile on;
    %(gzip)s
    server {
        listen 127.0.0.1:%(port)d;
        server_name _;
        root %(site)s;
        location /gen/ { alias %(d)s/gen/; }
        location = /headers {
            default_type text/plain;
            return 200 "$http_x_forwarded_for|$http_via|$http_x_forwarded_proto|$http_x_forwarded_host|$http_connection|$host";
        }
        location = /204 { return 204; }
        # The demo site under a strict, nonce-based Content-Security-Policy (the silent proof
        # must run on such pages).
        location /strict/ {
            alias %(site)s/;
            add_header Content-Security-Policy "default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic'; object-src 'none'; base-uri 'none'" always;
        }
        location = /post { client_max_body_size 0; return 200 "posted\\n"; }
        %(echo_locations)s
    }
}
""" % {"echo": ECHO_MODULE if self.has_echo else "", "d": d, "fmt": NGINX_LOG_FORMAT,
       "port": self.port, "site": self.site_dir, "echo_locations": echo_locations,
       "user": "user root;" if os.geteuid() == 0 else "",
       "gzip": ("gzip on; gzip_comp_level 6; gzip_vary on; gzip_min_length 256; gzip_proxied any; "
                "gzip_types text/plain text/css application/javascript;") if self.gzip else ""}

    def _conf_text(self):
        text = self._conf()
        if not self.has_echo:
            text = text.replace("load_module ;", "")
        return text

    def start(self):
        last_err = ""
        for _ in range(3):  # the port from free_port() may be taken meanwhile
            self.port = free_port()
            with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
                f.write(self._conf_text())
            errf = open(os.path.join(self.dir, "stderr.txt"), "w+")
            self.proc = subprocess.Popen(
                [NGINX_BIN, "-p", self.dir, "-c", "nginx.conf", "-e", self.error_log,
                 "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=errf, stderr=errf)
            _live_processes.append(self.proc)
            try:
                wait_until(lambda: self.proc.poll() is not None or _port_accepts(self.port),
                           10, 0.02, "nginx to listen")
            except AssertionError:
                pass
            errf.close()
            if self.proc.poll() is None and _port_accepts(self.port):
                self.url = "http://%s:%d" % (LOOPBACK, self.port)
                return self
            self.stop()
            last_err = (_read_text(os.path.join(self.dir, "stderr.txt"))
                        + _read_text(self.error_log))
        raise RuntimeError("nginx did not start: %s" % last_err)

    @classmethod
    def start_for(cls, case, tmpdir=None, **kwargs):
        n = cls(tmpdir or make_tempdir(case, "bawwab-nginx-"), **kwargs)
        _add_cleanup(case, n.stop)
        return n.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def log_entries(self):
        try:
            with open(self.access_log, "r", encoding="utf-8", errors="replace") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def mark(self):
        return len(self.log_entries())

    def entries_since(self, mark):
        return self.log_entries()[mark:]

    def wait_entries(self, mark, n, timeout=5):
        """The entries logged after mark, once there are at least n of them."""
        return wait_until(lambda: (lambda e: e if len(e) >= n else None)(self.entries_since(mark)),
                          timeout, 0.02, "%d nginx access log entries" % n)


def _port_accepts(port):
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def _read_text(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------------
# bawwab itself.

def yaml_str(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s)


def make_config(upstreams, sites=None, listen="127.0.0.1:0", status="127.0.0.1:0",
                timeouts=None, limits=None, trusted_proxies=None, access_log="off", workers=2,
                upstream_opts=None, extra=""):
    """A bawwab YAML config.

    upstreams: {name: [url, ...]}; sites: [(hosts list, upstream name)] (default: all hosts to
    the first upstream); timeouts/limits: {key: value} written as given; upstream_opts:
    {name: {max_fails: .., fail_timeout: .., keepalive: ..}}."""
    if sites is None:
        sites = [(["*"], next(iter(upstreams)))]
    out = ["# generated by tests/integration/harness.py",
           "workers: %s" % workers,
           "listeners:",
           "  - address: %s" % yaml_str(listen),
           "upstreams:"]
    for name, servers in upstreams.items():
        out.append("  %s:" % name)
        out.append("    servers: [%s]" % ", ".join(yaml_str(s) for s in servers))
        for k, v in (upstream_opts or {}).get(name, {}).items():
            out.append("    %s: %s" % (k, v))
    out.append("sites:")
    for hosts, up in sites:
        out.append("  - hosts: [%s]" % ", ".join(yaml_str(h) for h in hosts))
        out.append("    upstream: %s" % up)
    if timeouts:
        out.append("timeouts:")
        out += ["  %s: %s" % kv for kv in timeouts.items()]
    if limits:
        out.append("limits:")
        out += ["  %s: %s" % kv for kv in limits.items()]
    if trusted_proxies is not None:
        out.append("trusted_proxies: [%s]" % ", ".join(yaml_str(c) for c in trusted_proxies))
    if status:
        out.append("status:")
        out.append("  listen: %s" % yaml_str(status))
    out.append("access_log:")
    out.append("  path: %s" % yaml_str(access_log))
    if extra:
        out.append(extra)
    return "\n".join(out) + "\n"


_LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")


class Bawwab:
    """The bawwab binary as a child process, with its output collected line by line."""

    def __init__(self, case, config=None, args=(), subcommand="run", tmpdir=None, env=None):
        self.case = case
        self.dir = tmpdir or make_tempdir(case, "bawwab-run-")
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.dir, "bawwab.yaml")
            self.write_config(config)
        self.args = list(args)
        self.subcommand = subcommand
        self.env = dict(os.environ, **(env or {}))
        self.lines = []          # (stream, text) in arrival order
        self.cond = threading.Condition()
        self.proc = None
        self.listeners = []      # [(host, port, kind)]
        self.port = None         # first public listener
        self.status_port = None
        self.returncode = None

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    @classmethod
    def start(cls, case, config=None, **kw):
        b = cls(case, config, **kw)
        _add_cleanup(case, b.stop_and_check)
        b.launch()
        return b

    def command(self):
        cmd = [BAWWAB_BIN, self.subcommand]
        if self.config_path:
            cmd += ["--config", self.config_path]
        return cmd + self.args

    def launch(self, wait_ready=True, timeout=None):
        if not os.access(BAWWAB_BIN, os.X_OK):
            raise AssertionError("bawwab binary not found at %s (set BAWWAB_BIN)" % BAWWAB_BIN)
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.env, start_new_session=True)
        _live_processes.append(self.proc)
        for stream, name in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            threading.Thread(target=self._pump, args=(stream, name), daemon=True).start()
        if wait_ready:
            self.wait_ready(timeout or scaled(15))
        return self

    def _pump(self, stream, name):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append((name, line))
                m = _LISTEN_RE.search(line)
                if m:
                    host, port = m.group(1).strip("[]"), int(m.group(2))
                    if "status" in line.lower():
                        self.status_port = port
                    else:
                        kind = "tls" if "tls" in line.lower() else "plain"
                        self.listeners.append((host, port, kind))
                        if self.port is None:
                            self.port = port
                self.cond.notify_all()
        stream.close()
        with self.cond:
            self.cond.notify_all()

    def output(self):
        with self.cond:
            return "\n".join(l for _, l in self.lines)

    def wait_line(self, regex, timeout=None, start=0):
        """Waits for an output line (from index start) matching regex; returns the match."""
        rx = re.compile(regex)
        deadline = time.monotonic() + (timeout if timeout is not None else scaled(10))
        with self.cond:
            while True:
                for _, line in self.lines[start:]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no output line matching %r within the timeout; "
                                         "output so far:\n%s" % (regex, self.output_unlocked()))
                if self.proc.poll() is not None and not _pumps_alive(self.proc):
                    raise AssertionError("bawwab exited (%s) without a line matching %r; "
                                         "output:\n%s" % (self.proc.returncode, regex,
                                                         self.output_unlocked()))
                self.cond.wait(min(left, 0.1))

    def output_unlocked(self):
        return "\n".join(l for _, l in self.lines)

    def line_count(self):
        with self.cond:
            return len(self.lines)

    def wait_ready(self, timeout):
        self.wait_line(r"\bready\b", timeout)
        if self.port is None:
            raise AssertionError("bawwab said ready but printed no listening address:\n"
                                 + self.output())

    def url(self, path="/"):
        return "http://%s:%d%s" % (LOOPBACK, self.port, path)

    def status_url(self, path="/status"):
        return "http://%s:%d%s" % (LOOPBACK, self.status_port, path)

    @property
    def pid(self):
        return self.proc.pid

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("bawwab did not exit within %.1fs; output:\n%s"
                                 % (timeout, self.output()))
        return self.returncode

    def stop(self, timeout=None):
        """SIGTERM, wait, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout or scaled(15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode
        return self.returncode

    _SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |"
                               r"SUMMARY: \w+Sanitizer")

    def sanitizer_reports(self):
        """Output lines in which ASan/LSan/UBSan reported a problem."""
        with self.cond:
            return [l for _, l in self.lines if self._SANITIZER_RE.search(l)]

    def stop_and_check(self):
        """Cleanup: stops bawwab, then fails the test if a sanitizer reported anything (an
        ASan/UBSan build aborts on the first report; LeakSanitizer reports at exit)."""
        self.stop()
        deadline = time.monotonic() + 5
        while _pumps_alive(self.proc) and time.monotonic() < deadline:
            time.sleep(0.02)  # let the pump threads collect the last lines
        reports = self.sanitizer_reports()
        if reports:
            raise AssertionError("sanitizer reports from bawwab (exit %s):\n%s\n--- output:\n%s"
                                 % (self.returncode, "\n".join(reports), self.output()[-6000:]))

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def _pumps_alive(proc):
    return not (proc.stdout.closed and proc.stderr.closed)


def run_cli(args, timeout=None, env=None):
    """Runs bawwab with args to completion; returns CompletedProcess (text)."""
    return subprocess.run([BAWWAB_BIN] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout or scaled(20),
                          env=dict(os.environ, **(env or {})))


class RssSampler:
    """Samples a process's VmRSS every interval seconds in a thread; max_kb is the peak."""

    def __init__(self, proc_obj, interval=0.01):
        self.proc_obj = proc_obj
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=5)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(self.proc_obj.rss_kb())
            except OSError:
                return
            self._stop.wait(self.interval)

    @property
    def max_kb(self):
        return max(self.samples) if self.samples else 0


class ProxyTestCase(unittest.TestCase):
    """A TestCase with a few assertion helpers shared by the files."""

    maxDiff = 4000

    def assert_closed(self, client, what=""):
        closed = client.is_closed()
        self.assertTrue(closed, "%s: connection not closed by bawwab after the response "
                        "(further bytes: %r)" % (what, getattr(client, "extra", b"")[:200]))

    def assert_serves(self, port, host="news.test", path="/", expect=200):
        r = simple_get(port, path, host)
        self.assertEqual(r.status, expect, "bawwab no longer serves a good request: %r" % r)
        return r

    def assert_origin_in_sync(self, origin):
        """The fake origin never received bytes that are not a request where a request head
        should start (e.g. a second last-chunk after a chunked body)."""
        time.sleep(0.1)
        with origin.lock:
            bad = list(origin.bad_heads)
            origin.bad_heads.clear()
        self.assertEqual(bad, [], "framing desync: the origin read these as request heads")

    def assert_error_page(self, r, status):
        self.assertEqual(r.status, status, repr(r))
        cc = (r.header("cache-control") or "").lower()
        self.assertIn("no-store", cc, "error %d without Cache-Control: no-store: %r" % (status, r))
