"""Connection timeouts, the header size limit, and open connections."""

import resource
import socket
import subprocess
import threading
import time

import pytest

from conftest import (KITHD, build_request, connect, read_response, serve, served_keepalive,
                      wait_for, write_config)

TIMEOUT = 2


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    from conftest import Kithd

    yield from serve(Kithd(tmp_path_factory.mktemp("limits"),
                           extra=[f"timeout = {TIMEOUT}", "max_header_bytes = 1K",
                                  "max_body_bytes = 4K"]))


def wait_closed(sock, limit):
    """Seconds until the server closes sock (EOF or reset), reading and
    discarding whatever it sends; None if still open after limit."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            if not sock.recv(65536):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
    return None


def test_slow_and_idle_connections_are_closed(limited):
    k = limited
    idle = connect(k.port)
    partial_headers = connect(k.port)
    partial_headers.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Partial: ")
    partial_body = connect(k.port)
    partial_body.sendall(b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    served = connect(k.port)  # a served keep-alive connection then goes idle
    served.sendall(build_request("GET", "/health", close=False))
    r, _, _ = read_response(served, 5)
    assert r is not None and r.status == 200

    results = {}

    def watch(name, s):
        results[name] = wait_closed(s, TIMEOUT + 4)

    threads = [threading.Thread(target=watch, args=item) for item in
               [("idle", idle), ("partial headers", partial_headers),
                ("partial body", partial_body), ("idle keep-alive", served)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in (idle, partial_headers, partial_body, served):
        s.close()
    for name, elapsed in results.items():
        assert elapsed is not None, f"{name}: still open after {TIMEOUT + 4}s"
        assert TIMEOUT - 1 <= elapsed <= TIMEOUT + 2, f"{name}: closed after {elapsed:.2f}s"
    # None of them reached a handler.
    assert not [e for e in k.access() if e["uri"] == "/slow" or e["method"] == "POST"]
    # The server is fine.
    assert k.http("GET", "/health").status == 200


def test_headers_over_max_header_bytes_are_refused(limited):
    k = limited
    big = {"X-Filler": "a" * 4000}
    with connect(k.port) as s:
        t0 = time.monotonic()
        try:
            s.sendall(build_request("GET", "/big-headers", headers=big))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r, data, how = read_response(s, TIMEOUT + 3)
        elapsed = time.monotonic() - t0
    if r is not None:
        assert 400 <= r.status < 500, r
    else:
        assert how in ("eof", "reset"), (how, data[:100])
    assert elapsed < TIMEOUT + 2.5
    # Many small headers adding up past the limit are refused too.
    many = {f"X-H{i}": "v" * 40 for i in range(60)}
    with connect(k.port) as s:
        try:
            s.sendall(build_request("GET", "/many-headers", headers=many))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r, data, how = read_response(s, TIMEOUT + 3)
    assert (r is not None and 400 <= r.status < 500) or how in ("eof", "reset"), (how, r)
    assert not [e for e in k.access() if e["uri"] in ("/big-headers", "/many-headers")]
    # Just under the limit is fine.
    r = k.http("GET", "/health", headers={"X-Filler": "a" * 600})
    assert r is not None and r.status == 200


def test_many_open_connections_do_not_block_service(limited):
    """kithd itself caps nothing (server.h: the reverse proxy caps the number
    of connections); with many idle connections open, new ones are served."""
    k = limited
    idle = [connect(k.port) for _ in range(40)]
    try:
        time.sleep(0.2)
        t0 = time.monotonic()
        r = k.http("GET", "/health")
        assert r is not None and r.status == 200
        assert time.monotonic() - t0 < 1.5
    finally:
        for s in idle:
            s.close()


def test_max_connections_is_not_a_setting(tmp_path):
    cfg = write_config(tmp_path / "kith.conf", ["max_connections = 4"])
    r = subprocess.run([str(KITHD), "-c", str(cfg)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert r.stderr.strip() == f"kithd: {cfg}:1: unknown key 'max_connections'"


ACCEPT_WARNING = "http: accept failed: Too many open files; pausing the listener for 1 s"


def test_out_of_file_descriptors_pauses_accepting_then_recovers(make_kithd):
    """docs/admin-guide.md: when descriptors run out kithd pauses accepting
    for a second at a time and logs a warning; waiting connections are served
    once descriptors are free again. (Lowering RLIMIT_NOFILE of the running
    kithd to 3 makes every new descriptor fail with EMFILE.)"""
    k = make_kithd()
    k.start()
    keep = served_keepalive(k.port)
    soft, hard = resource.prlimit(k.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(k.pid, resource.RLIMIT_NOFILE, (3, hard))
    try:
        queued = connect(k.port)  # the kernel completes the handshake: backlog
        queued.sendall(build_request("GET", "/queued"))
        wait_for(lambda: ACCEPT_WARNING in k.stderr(), 5, what="the accept warning")
        # A connection already open is still served.
        keep.sendall(build_request("GET", "/health?open=1", close=False))
        r, _, _ = read_response(keep, 5)
        assert r is not None and r.status == 200
        time.sleep(1.5)
        r, data, how = read_response(queued, 0.1)
        assert r is None and how == "timeout", (how, data[:80])
        assert not [e for e in k.access() if e["uri"] == "/queued"]
    finally:
        resource.prlimit(k.pid, resource.RLIMIT_NOFILE, (soft, hard))
    t0 = time.monotonic()
    r, _, how = read_response(queued, 5)
    assert r is not None and r.status == 404, how
    assert time.monotonic() - t0 < 3
    queued.close()
    keep.close()
    # Paused, not spinning: about one warning per listener and loop per second.
    warnings = k.stderr().count(ACCEPT_WARNING)
    assert 1 <= warnings <= 12, warnings
    assert k.http("GET", "/health").status == 200
    k.stop()


def test_admin_socket_survives_running_out_of_file_descriptors(make_kithd):
    k = make_kithd()
    k.start()
    soft, hard = resource.prlimit(k.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(k.pid, resource.RLIMIT_NOFILE, (3, hard))
    try:
        # Each idle worker already holds the descriptor its accept4 reserved,
        # so these are served; afterwards each worker's next accept4 fails.
        for _ in range(8):
            st, _, _ = k.admin("stats", timeout=10)
            assert st == 0
        time.sleep(0.5)  # let the last worker get back to accept4 before descriptors return
    finally:
        resource.prlimit(k.pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert k.http("GET", "/health").status == 200  # HTTP is back
    try:
        st, out, _ = k.admin("stats", timeout=3)
    except socket.timeout:
        pytest.fail("admin socket never answers again after running out of descriptors")
    assert st == 0 and "kithd:           running" in out
