"""TLS listeners beside plain ones."""

import shutil
import socket
import ssl
import subprocess

import pytest

from conftest import KITHD, build_request, free_port, read_response, tls_context, write_config


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not installed")
    d = tmp_path_factory.mktemp("cert")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(crt), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60)
    return crt, key


def test_tls_and_plain_listeners(make_kithd, cert):
    crt, key = cert
    tls_port, plain_port = free_port(), free_port()
    k = make_kithd(listens=[f"127.0.0.1:{tls_port} tls", f"127.0.0.1:{plain_port}"],
                   extra=[f"tls_cert = {crt}", f"tls_key = {key}"])
    ctx = tls_context(crt)
    k.ready_tls = ctx
    k.start()
    err = k.stderr()
    assert f"listening on 127.0.0.1:{tls_port} (tls)" in err
    assert f"listening on 127.0.0.1:{plain_port}\n" in err

    # https, verified against the self-signed certificate, by name and by address.
    r = k.http("GET", "/health", port=tls_port, tls_ctx=ctx)
    assert r is not None and r.status == 200 and r.json() == {"status": "ok"}
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")
            s.sendall(build_request("GET", "/nope"))
            r, _, _ = read_response(s, 5)
            assert r is not None and r.status == 404 and "error" in r.json()

    # Plain http on the other listener.
    r = k.http("GET", "/health", port=plain_port)
    assert r is not None and r.status == 200

    # Plain http to the TLS port gets no HTTP answer.
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as s:
        s.sendall(build_request("GET", "/health"))
        r, data, how = read_response(s, 5)
        assert r is None and not data.startswith(b"HTTP/"), (how, data[:80])

    # TLS to the plain port fails the handshake.
    with socket.create_connection(("127.0.0.1", plain_port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError, socket.timeout)):
            ctx.wrap_socket(raw, server_hostname="localhost")

    # A client that does not trust the certificate refuses it.
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")

    k.stop()
    assert "stopped cleanly" in k.stderr()


def run(cfg):
    return subprocess.run([str(KITHD), "-c", str(cfg)], capture_output=True, text=True,
                          timeout=20)


def test_tls_listener_without_cert_exits_2(tmp_path, cert):
    crt, key = cert
    port = free_port()
    cfg = write_config(tmp_path / "kith.conf",
                       [f"listen = 127.0.0.1:{port} tls", "data_dir = data"])
    r = run(cfg)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kithd: {cfg}"), r.stderr
    assert "tls_cert" in lines[0]
    # Only the certificate: still refused (the key is missing).
    cfg = write_config(tmp_path / "kith.conf",
                       [f"listen = 127.0.0.1:{port} tls", f"tls_cert = {crt}", "data_dir = data"])
    r = run(cfg)
    assert r.returncode == 2 and "tls_key" in r.stderr
    # A bad flag after the address.
    cfg = write_config(tmp_path / "kith.conf", [f"listen = 127.0.0.1:{port} ssl"])
    r = run(cfg)
    assert r.returncode == 2 and f"{cfg}:1:" in r.stderr


def test_tls_unreadable_cert_fails_to_start(tmp_path, cert):
    crt, key = cert
    port = free_port()
    cfg = write_config(tmp_path / "kith.conf",
                       [f"listen = 127.0.0.1:{port} tls", f"tls_cert = {tmp_path}/missing.pem",
                        f"tls_key = {key}", "data_dir = data", "threads = 2"])
    r = run(cfg)
    assert r.returncode != 0
    assert "tls_cert" in r.stderr and "missing.pem" in r.stderr


def test_streaming_over_tls(make_kithd, cert):
    """The WebSocket takes over the TLS connection's bufferevent: frames
    both ways, and the closing handshake, go through TLS (wss://)."""
    import json

    import websocket

    from test_statuses import signup
    crt, key = cert
    plain_port, tls_port = free_port(), free_port()  # the API calls go plain
    k = make_kithd(listens=[f"127.0.0.1:{plain_port}", f"127.0.0.1:{tls_port} tls"],
                   extra=[f"tls_cert = {crt}", f"tls_key = {key}"])
    k.start()
    alice, bob = signup(k, "alice"), signup(k, "bob")
    bob_id = alice.req("GET", "/api/v1/accounts/lookup?acct=bob").json()["id"]
    alice.req("POST", f"/api/v1/accounts/{bob_id}/follow")
    ws = websocket.create_connection(
        f"wss://127.0.0.1:{tls_port}/api/v1/streaming", timeout=10,
        header=[f"Authorization: Bearer {alice.token}"],
        sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(crt)})
    ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
    s = bob.post("over tls")
    while True:
        msg = json.loads(ws.recv())
        if msg.get("event") == "update":
            break
    assert json.loads(msg["payload"])["id"] == s["id"]
    ws.send_close(websocket.STATUS_NORMAL, b"")
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1000
    ws.shutdown()
    assert k.http("GET", "/api/v1/streaming/health").status == 200
