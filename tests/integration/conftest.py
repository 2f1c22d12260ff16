"""Shared helpers for kith's black-box integration tests.

Every test runs the real kithd and kithctl from $KITH_BUILD (default: build/
at the top of the checkout) on loopback, on a free port, with a temporary
data directory, and kills whatever it started at teardown.

Only the standard library and pytest are used.
"""

import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("KITH_BUILD", ROOT / "build")).resolve()
KITHD = BUILD / "kithd"
KITHCTL = BUILD / "kithctl"

ACCESS_RE = re.compile(
    r'^\S+ access (?P<client>\S+) "(?P<method>\S+) (?P<uri>.*)" (?P<status>\d+) (?P<bytes>\d+) '
)


def pytest_configure(config):
    for exe in (KITHD, KITHCTL):
        if not exe.exists():
            raise pytest.UsageError(f"{exe} is missing: run `make` first (KITH_BUILD={BUILD})")


# ---------------------------------------------------------------- basics


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def write_config(path, lines):
    """Writes a kith.conf: lines is a list of 'key = value' strings."""
    path = Path(path)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def run_ctl(config, *args, input=None, cwd=None, timeout=60):
    """Runs kithctl -c CONFIG ARGS...; returns CompletedProcess (text)."""
    cmd = [str(KITHCTL), "-c", str(config), *map(str, args)]
    return subprocess.run(
        cmd,
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


# ---------------------------------------------------------- admin socket


class AdminError(Exception):
    pass


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise AdminError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def admin_call(sock_path, args, input=b"", timeout=30):
    """One command over DATA_DIR/admin.sock: returns (status, stdout, stderr) as
    (int, str, str). Raises AdminError (or OSError) if the reply is incomplete."""
    req = bytearray(b"KITHADM1")
    req += struct.pack(">I", len(args))
    for a in args:
        b = a.encode() if isinstance(a, str) else bytes(a)
        req += struct.pack(">I", len(b)) + b
    if isinstance(input, str):
        input = input.encode()
    req += struct.pack(">I", len(input)) + input
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock_path))
        s.sendall(req)
        status = struct.unpack(">I", _recv_exact(s, 4))[0]
        n = struct.unpack(">I", _recv_exact(s, 4))[0]
        out = _recv_exact(s, n)
        n = struct.unpack(">I", _recv_exact(s, 4))[0]
        err = _recv_exact(s, n)
    return status, out.decode(errors="replace"), err.decode(errors="replace")


# ------------------------------------------------------------------ HTTP


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:200]!r}>"


def build_request(method, path, host="127.0.0.1", headers=None, body=b"", close=True):
    headers = dict(headers or {})
    lines = [f"{method} {path} HTTP/1.1"]
    if not any(k.lower() == "host" for k in headers):
        lines.append(f"Host: {host}")
    if close:
        lines.append("Connection: close")
    if body or method in ("POST", "PUT", "PATCH"):
        headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_response(data):
    """Parses one HTTP/1.x response from bytes; None if incomplete."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(rest) < n:
            return None
        rest = rest[:n]
    return Response(status, reason, headers, rest)


def read_response(sock, timeout):
    """Reads a response until complete, EOF or timeout. Returns
    (Response or None, raw bytes, how) with how in 'complete', 'eof',
    'reset', 'timeout'."""
    deadline = time.monotonic() + timeout
    data = b""
    how = "timeout"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            how = "reset"
            break
        if not chunk:
            how = "eof"
            break
        data += chunk
        r = parse_response(data)
        if r is not None and "content-length" in r.headers:
            return r, data, "complete"
    r = parse_response(data) if data else None
    if r is not None and how in ("eof", "reset"):
        how = "complete"
    return r, data, how


def connect(port, tls_ctx=None, host="127.0.0.1", timeout=5):
    s = socket.create_connection((host, port), timeout=timeout)
    if tls_ctx is not None:
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    return s


def http_request(port, method, path, headers=None, body=b"", timeout=5.0, tls_ctx=None):
    """Sends one request on a new connection; returns a Response, or None
    when no reply arrived within timeout."""
    with connect(port, tls_ctx) as s:
        s.sendall(build_request(method, path, headers=headers, body=body))
        r, _, _ = read_response(s, timeout)
        return r


# ----------------------------------------------------------------- kithd


class Kithd:
    """One kith instance: a config file and data directory in `root`, and
    at most one running kithd process for them at a time."""

    def __init__(self, root, extra=(), threads=2, listens=None, data_dir="data",
                 config_name="kith.conf"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        if listens is None:
            listens = [f"127.0.0.1:{free_port()}"]
        # Clients (and the readiness check) use the first listener.
        self.port = int(listens[0].split()[0].rsplit(":", 1)[1])
        self.config = self.root / config_name
        self.data_dir = self.root / data_dir
        self.admin_sock = self.data_dir / "admin.sock"
        lines = [f"listen = {l}" for l in listens]
        lines += [f"data_dir = {data_dir}", f"threads = {threads}"]
        lines += list(extra)
        write_config(self.config, lines)
        self.proc = None
        self.runs = 0
        self.stdout_path = None
        self.stderr_path = None
        self._argv_prefix = []
        self.ready_tls = None  # an SSLContext when the first listener is TLS

    # -- process control

    def start(self, wait=True, prefix=None, ready_timeout=20, env=None):
        assert self.proc is None or self.proc.poll() is not None, "kithd already running"
        self.runs += 1
        self.stdout_path = self.root / f"kithd.{self.runs}.out"
        self.stderr_path = self.root / f"kithd.{self.runs}.err"
        self._argv_prefix = list(prefix or [])
        argv = self._argv_prefix + [str(KITHD), "-c", str(self.config)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         cwd=self.root,
                                         env=None if env is None else {**os.environ, **env})
        if wait:
            self.wait_ready(ready_timeout)
        return self.proc

    def wait_ready(self, timeout=20):
        """Waits until GET /health answers 200 on the first listener."""

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"kithd exited with {self.proc.returncode} during start-up:\n"
                    f"{self.stderr()}")
            try:
                r = http_request(self.port, "GET", "/health", timeout=1, tls_ctx=self.ready_tls)
            except OSError:
                return False
            return r is not None and r.status == 200

        wait_for(ready, timeout, interval=0.05, what="kithd to answer /health")

    @property
    def pid(self):
        """kithd's own pid (differs from proc.pid when started under strace)."""
        if not self._argv_prefix:
            return self.proc.pid
        return int((self.data_dir / "kithd.lock").read_text().strip())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=15, expect=0):
        """Sends sig and waits; asserts the exit status (None: don't)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"kithd did not stop within {timeout}s after {sig!r}")
        if expect is not None:
            assert rc == expect, f"kithd exited {rc}, expected {expect}:\n{self.stderr()}"
        return rc

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def cleanup(self):
        if not self.running():
            return
        pids = [self.proc.pid]
        if self._argv_prefix:
            try:
                pids.insert(0, self.pid)
            except (OSError, ValueError):
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    # -- output

    def stdout(self):
        return self.stdout_path.read_text(errors="replace") if self.stdout_path else ""

    def stderr(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""

    def access(self):
        """Parsed access-log lines of the current run."""
        out = []
        for line in self.stderr().splitlines():
            m = ACCESS_RE.match(line)
            if m:
                e = m.groupdict()
                e["status"] = int(e["status"])
                out.append(e)
        return out

    def wait_access(self, pred, count=1, timeout=5, what="access lines"):
        """Waits until at least count access lines match pred; returns them."""

        def found():
            hits = [e for e in self.access() if pred(e)]
            return hits if len(hits) >= count else None

        return wait_for(found, timeout, what=what)

    # -- clients

    def ctl(self, *args, input=None, cwd=None, timeout=60):
        return run_ctl(self.config, *args, input=input, cwd=cwd, timeout=timeout)

    def admin(self, *args, input=b"", timeout=30):
        return admin_call(self.admin_sock, args, input=input, timeout=timeout)

    def http(self, method, path, headers=None, body=b"", timeout=5.0, port=None, tls_ctx=None):
        return http_request(port or self.port, method, path, headers=headers, body=body,
                            timeout=timeout, tls_ctx=tls_ctx)


@pytest.fixture
def make_kithd(tmp_path):
    """Factory: make_kithd(name="k", **Kithd kwargs) -> Kithd (not started).
    Every process is killed at teardown."""
    made = []

    def make(name="k", **kw):
        k = Kithd(tmp_path / name, **kw)
        made.append(k)
        return k

    yield make
    for k in made:
        k.cleanup()


@pytest.fixture
def kithd(make_kithd):
    """A started kithd with default settings (threads = 2)."""
    k = make_kithd()
    k.start()
    return k


# ------------------------------------------------------------- listings

LIST_RE = re.compile(r"^(\S+)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d)  (.*)$")


def parse_communities(text):
    """`community list` output -> {name: (owner, title)}."""
    lines = text.splitlines()
    assert lines and lines[0].split()[:2] == ["NAME", "OWNER"], text
    out = {}
    for line in lines[1:]:
        m = LIST_RE.match(line)
        assert m, f"unparsable community line {line!r}"
        assert m.group(1) not in out, f"community {m.group(1)} listed twice"
        out[m.group(1)] = (m.group(2), m.group(4))
    return out


def parse_users(text):
    """`user list` output -> {name: (role, state)}."""
    lines = text.splitlines()
    assert lines and lines[0].split()[:3] == ["NAME", "ROLE", "STATE"], text
    out = {}
    for line in lines[1:]:
        f = line.split()
        assert len(f) == 5, f"unparsable user line {line!r}"
        out[f[0]] = (f[1], f[2])
    return out


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=str(cafile))
    return ctx


def serve(k):
    """Starts k, yields it, and stops and cleans it up afterwards: the body of
    a fixture that shares one kithd."""
    k.start()
    yield k
    try:
        if k.running():
            k.stop()
    finally:
        k.cleanup()


def served_keepalive(port):
    """A keep-alive connection that has already had one GET /health answered."""
    sock = connect(port)
    sock.sendall(build_request("GET", "/health", close=False))
    r, _, _ = read_response(sock, 5)
    assert r is not None and r.status == 200
    return sock


@pytest.fixture(scope="module")
def shared_kithd(tmp_path_factory):
    """One started kithd (defaults, threads = 2) for a whole test module."""
    yield from serve(Kithd(tmp_path_factory.mktemp("shared")))


class AdminLoad:
    """Client threads sending `community add PREFIXNNNN --owner OWNER --title
    T-NNNN` over the admin socket as fast as they can, each on its own
    connection. Records, per name: the status received (None if no complete
    reply) and the monotonic time the reply arrived."""

    def __init__(self, sock_path, threads=8, prefix="c", owner="admin", limit=None,
                 extra_users_every=0):
        self.sock_path = sock_path
        self.prefix = prefix
        self.owner = owner
        self.limit = limit
        self.extra_users_every = extra_users_every
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.next = 0
        self.results = {}  # name -> (status, ack_monotonic, stderr)
        self.errors = {}  # name -> exception text (no complete reply)
        self.sent_at = {}  # name -> monotonic time the request was sent
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def title(self, name):
        return "T-" + name[len(self.prefix):]

    def _take(self):
        with self.lock:
            if self.stop_event.is_set() or (self.limit is not None and self.next >= self.limit):
                return None
            i = self.next
            self.next += 1
            return i

    def _run(self):
        while True:
            i = self._take()
            if i is None:
                return
            if self.extra_users_every and i % self.extra_users_every == 0:
                name = f"u{self.prefix}{i:04d}"
                args = ["user", "add", name, "--password-stdin"]
                inp = b"load-password\n"
            else:
                name = f"{self.prefix}{i:04d}"
                args = ["community", "add", name, "--owner", self.owner,
                        "--title", self.title(name)]
                inp = b""
            with self.lock:
                self.sent_at[name] = time.monotonic()
            try:
                st, _, err = admin_call(self.sock_path, args, input=inp, timeout=30)
            except (OSError, AdminError) as e:
                with self.lock:
                    self.errors[name] = repr(e)
                if self.stop_event.is_set():
                    return
                time.sleep(0.01)
                continue
            with self.lock:
                self.results[name] = (st, time.monotonic(), err)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, join_timeout=60):
        self.stop_event.set()
        for t in self.threads:
            t.join(join_timeout)

    def join(self, timeout=120):
        for t in self.threads:
            t.join(timeout)

    def acked(self, before=None):
        """Names whose reply said status 0 (and arrived before `before`)."""
        with self.lock:
            return {n for n, (st, t, _) in self.results.items()
                    if st == 0 and (before is None or t < before)}

    def count_acked(self):
        with self.lock:
            return sum(1 for st, _, _ in self.results.values() if st == 0)
