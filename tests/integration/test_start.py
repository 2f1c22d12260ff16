"""Start-up, the first-start banner, /health, errors, bad configs, the data
directory lock, body size and rate limits."""

import re
import subprocess

import pytest

from conftest import KITHD, build_request, connect, read_response, write_config

PASSWORD_RE = re.compile(r"^  password:\s+(\S+)$", re.M)


def test_first_start_banner_shows_admin_and_password_once(make_kithd):
    k = make_kithd()
    k.start()
    out = k.stdout()
    assert "admin account: admin" in out
    passwords = PASSWORD_RE.findall(out)
    assert len(passwords) == 1, out
    assert len(passwords[0]) >= 16
    assert out.count("password") == 2  # the password line and the "change it" hint
    # The password goes to stdout only, never to the log.
    assert passwords[0] not in k.stderr()
    assert (k.data_dir / "db" / "data.mdb").exists()
    # Private: the data directory 0700, its files 0600.
    assert (k.data_dir.stat().st_mode & 0o777) == 0o700
    assert (k.data_dir / "db").stat().st_mode & 0o777 == 0o700
    for f in ("kithd.lock", "db/data.mdb", "db/lock.mdb", "admin.sock"):
        assert (k.data_dir / f).stat().st_mode & 0o777 == 0o600, f
    k.stop()

    k.start()
    assert "password" not in k.stdout()
    assert "admin account" not in k.stdout()
    assert passwords[0] not in k.stderr()
    # The instance is the same: still exactly one user, the admin.
    st, out, _ = k.admin("stats")
    assert st == 0
    assert "users:           1 (0 pending, 0 suspended, 1 admins)" in out
    k.stop()
    assert "stopped cleanly" in k.stderr()


def test_health(shared_kithd):
    k = shared_kithd
    resp = k.http("GET", "/health?probe=1")
    assert resp is not None, "no reply"
    e = k.wait_access(lambda e: e["uri"] == "/health?probe=1")[-1]
    assert (e["method"], e["status"], e["client"]) == ("GET", 200, "127.0.0.1")
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {"status": "ok"}


def test_unknown_path_is_404_json(shared_kithd):
    k = shared_kithd
    resp = k.http("GET", "/no/such/thing?x=1")
    assert resp is not None, "no reply"
    e = k.wait_access(lambda e: e["uri"] == "/no/such/thing?x=1")[-1]
    assert e["status"] == 404
    assert resp.status == 404
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"]


def test_wrong_method_is_405_with_allow(shared_kithd):
    k = shared_kithd
    resp = k.http("DELETE", "/health")
    assert resp is not None, "no reply"
    e = k.wait_access(lambda e: e["uri"] == "/health" and e["method"] == "DELETE")[-1]
    assert e["status"] == 405
    assert resp.status == 405
    assert "GET" in [m.strip() for m in resp.headers["allow"].split(",")]
    assert resp.headers["content-type"].startswith("application/json")
    assert "error" in resp.json()


def test_post_to_get_route_is_405(shared_kithd):
    k = shared_kithd
    resp = k.http("POST", "/health", body=b"{}")
    assert resp is not None, "no reply"
    e = k.wait_access(lambda e: e["uri"] == "/health" and e["method"] == "POST")[-1]
    assert e["status"] == 405
    assert resp.status == 405
    assert "allow" in resp.headers
    assert "error" in resp.json()


def test_head_and_access_log_format(shared_kithd):
    k = shared_kithd
    with connect(k.port) as s:
        s.sendall(build_request("HEAD", "/health"))
        r, data, _ = read_response(s, 5)
    assert data.startswith(b"HTTP/1.1 200 "), data
    # Quotes and control bytes in the target never break the log line.
    r = k.http("GET", '/x"y%22z')
    assert r is not None and r.status == 404
    k.wait_access(lambda e: e["uri"].startswith("/x"))
    line = [l for l in k.stderr().splitlines() if " access " in l and "/x" in l][-1]
    assert re.fullmatch(r'\S+Z access 127\.0\.0\.1 "GET /x\?y%22z" 404 \d+ \d+\.\d{3}ms', line), line


def read_responses(sock, n, timeout=5):
    """Reads n pipelined responses (each with Content-Length) from sock."""
    import time

    deadline = time.monotonic() + timeout
    data, out = b"", []
    while len(out) < n and time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
        while True:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if not sep:
                break
            length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
            if len(rest) < length:
                break
            out.append((int(head.split(b" ")[1]), rest[:length]))
            data = rest[length:]
    return out


def test_keep_alive_pipelining_and_concurrent_clients(shared_kithd):
    import threading

    k = shared_kithd
    paths = ["/health", "/p/a", "/health", "/p/b", "/health"]
    with connect(k.port) as s:
        s.sendall(b"".join(build_request("GET", p, close=False) for p in paths))
        got = read_responses(s, len(paths))
    assert [st for st, _ in got] == [200, 404, 200, 404, 200]
    assert got[0][1] == b'{"status":"ok"}' and b"error" in got[1][1]

    failures = []

    def client(i):
        try:
            with connect(k.port) as s:
                for j in range(40):
                    path = "/health" if j % 2 else f"/c{i}/{j}"
                    s.sendall(build_request("GET", path, close=False))
                    (st, body), = read_responses(s, 1)
                    if st != (200 if j % 2 else 404):
                        failures.append((i, j, st, body))
        except Exception as e:  # noqa: BLE001
            failures.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures[:5]


def test_errors_answered_by_evhttp_itself(shared_kithd):
    """Requests evhttp refuses before kithd's dispatch get evhttp's own (HTML)
    error page with the right status (docs/decisions.md: "evhttp's own error
    replies stay HTML"); they never reach the access log."""
    k = shared_kithd
    for req, status in (
            (b"PROPFIND /evhttp-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 501),
            (b"GET /evhttp-2 HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 400),
            (b"GET /evhttp-3 HTTP/9.9\r\nHost: x\r\n\r\n", 400)):
        with connect(k.port) as s:
            s.sendall(req)
            r, data, how = read_response(s, 5)
        assert r is not None, (how, data[:100])
        assert r.status == status, (req, r)
    assert k.http("GET", "/health").status == 200
    assert not [e for e in k.access() if e["uri"].startswith("/evhttp-")]


def test_absolute_form_request_target(shared_kithd):
    k = shared_kithd
    r = k.http("GET", f"http://127.0.0.1:{k.port}/health")
    assert r is not None
    assert r.status == 200, r


def run_kithd_config(path, timeout=10):
    return subprocess.run([str(KITHD), "-c", str(path)], capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(r, prefix):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(prefix), (lines[0], prefix)
    return lines[0]


def test_bad_config_unknown_key(tmp_path):
    cfg = write_config(tmp_path / "kith.conf",
                       ["# a comment", "threads = 2", "bogus_key = 1", "data_dir = data"])
    line = assert_one_line_error(run_kithd_config(cfg), f"kithd: {cfg}:3: ")
    assert "unknown key 'bogus_key'" in line
    assert not (tmp_path / "data").exists()


def test_bad_config_bad_values(tmp_path):
    cases = [
        ("threads = many", "threads"),
        ("timeout = 0", "timeout"),
        ("listen = 127.0.0.1:99999", "listen"),
        ("listen = example.com:80", "listen"),
        ("rate_limit = 5 per minute", "rate_limit"),
        ("map_size = 10", "map_size"),
        ("max_body_bytes = 12", "max_body_bytes"),
        ("registrations = maybe", "registrations"),
        ("trusted_proxies = 10.0.0.0/99", "trusted_proxies"),
        ("public_url = ftp://x", "public_url"),
        ("this line has no equals sign", "key = value"),
    ]
    for i, (bad, word) in enumerate(cases):
        cfg = write_config(tmp_path / f"bad{i}.conf", ["title = t", "", bad])
        line = assert_one_line_error(run_kithd_config(cfg), f"kithd: {cfg}:3: ")
        assert word in line, line


def test_bad_config_unreadable_file(tmp_path):
    missing = tmp_path / "nope.conf"
    line = assert_one_line_error(run_kithd_config(missing), f"kithd: {missing}: ")
    assert "cannot read config file" in line
    # A directory opens but cannot be read.
    line = assert_one_line_error(run_kithd_config(tmp_path), f"kithd: {tmp_path}: ")
    assert "cannot read config file" in line


def test_unknown_argument_exits_2():
    r = subprocess.run([str(KITHD), "--frobnicate"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "unknown argument '--frobnicate'" in r.stderr.splitlines()[0]
    assert "usage:" in r.stderr


def test_version_and_help():
    r = subprocess.run([str(KITHD), "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("kithd ")
    r = subprocess.run([str(KITHD), "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "usage: kithd" in r.stdout


def test_second_kithd_on_same_data_dir_exits_1(kithd):
    r = run_kithd_config(kithd.config)
    assert r.returncode == 1, r.stderr
    assert "another kithd is running" in r.stderr
    # The first one is unaffected.
    assert kithd.running()
    st, out, _ = kithd.admin("stats")
    assert st == 0 and "kithd:           running" in out
    r = kithd.http("GET", "/health")
    assert r is not None and r.status == 200
    kithd.stop()


def test_body_over_max_body_bytes_is_413(make_kithd):
    k = make_kithd(extra=["max_body_bytes = 1K"])
    k.start()
    for path, status in (("/health", 405), ("/anything", 404)):
        # Under the limit: routed normally.
        r = k.http("POST", path, body=b"x" * 1000)
        assert r is not None and r.status == status, r
        # Over it: 413 (from evhttp, before routing, or from kithd: either way 413).
        r = k.http("POST", path, body=b"x" * 4096)
        assert r is not None, "no reply"
        assert r.status == 413, r
    # Declared larger than any route takes (uploads take up to the media limits, 99M by
    # default): refused on the headers alone, body never sent.
    with connect(k.port) as s:
        s.sendall(build_request("POST", "/anything", headers={"Content-Length": "1000000000"}))
        r, _, _ = read_response(s, 5)
    assert r is not None and r.status == 413, r
    # The server is fine afterwards.
    assert k.http("GET", "/health").status == 200
    k.stop()


def test_rate_limit_429_with_retry_after_and_health_exempt(make_kithd):
    k = make_kithd(extra=["rate_limit = 5/60"])
    k.start()
    statuses = []
    for i in range(5):
        r = k.http("GET", f"/limited/{i}")
        assert r is not None
        statuses.append(r.status)
    assert statuses == [404] * 5
    r = k.http("GET", "/limited/5")
    assert r is not None and r.status == 429, r
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 60
    assert r.headers["content-type"].startswith("application/json")
    assert "error" in r.json()
    # Still limited (any path but /health), and /health is exempt.
    assert k.http("GET", "/").status == 429
    for _ in range(3):
        h = k.http("GET", "/health")
        assert h is not None and h.status == 200
    k.wait_access(lambda e: e["uri"] == "/limited/5" and e["status"] == 429)
    k.stop()
