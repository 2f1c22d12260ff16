"""Web Push (issue 8): subscriptions through the API, and messages sent by
the delivery engine to a local push endpoint that decrypts each one with
the subscription's keys (RFC 8291, aes128gcm) and checks the VAPID
signature (RFC 8292, ES256) against the instance's key."""

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import free_port, wait_for
from entities import check
from test_statuses import signup


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hm(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


class PushService:
    """A push service on loopback: keeps what it receives."""

    def __init__(self):
        self.port = free_port()
        self.got = []
        svc = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                svc.got.append((self.path, dict(self.headers), self.rfile.read(n)))
                self.send_response(201)
                self.end_headers()

        self.server = HTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class Subscriber:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pub = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)

    def decrypt(self, body):
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        as_pub, ct = body[21:21 + idlen], body[21 + idlen:]
        assert rs >= 18 and idlen == 65
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_pub)
        shared = self.key.exchange(ec.ECDH(), peer)
        ikm = hm(hm(self.auth, shared), b"WebPush: info\x00" + self.pub + as_pub + b"\x01")
        prk = hm(salt, ikm)
        cek = hm(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = hm(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        plain = AESGCM(cek).decrypt(nonce, ct, None).rstrip(b"\x00")
        assert plain.endswith(b"\x02"), "the last record's delimiter"
        return json.loads(plain[:-1])


def verify_vapid(header, server_key, endpoint_origin):
    assert header.startswith("vapid ")
    parts = dict(p.strip().split("=", 1) for p in header[6:].split(","))
    assert parts["k"] == server_key
    h, c, s = parts["t"].split(".")
    assert json.loads(unb64u(h)) == {"typ": "JWT", "alg": "ES256"}
    claims = json.loads(unb64u(c))
    assert claims["aud"] == endpoint_origin and claims["exp"] > time.time()
    assert claims["sub"].startswith(("mailto:", "https://", "http://"))
    raw = unb64u(s)
    sig = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(server_key))
    pub.verify(sig, f"{h}.{c}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if bad


@pytest.fixture
def push():
    p = PushService()
    yield p
    p.close()


@pytest.fixture
def k(make_kithd):
    k = make_kithd(extra=["allow_private_addresses = true", "delivery_retry_base = 200ms"])
    k.start()
    return k


def test_subscribe_and_receive(k, push):
    alice, bob = signup(k, "alice", scope="read write follow push"), signup(k, "bob")
    sub = Subscriber()
    endpoint = f"http://127.0.0.1:{push.port}/push/alice-phone"
    r = alice.req("POST", "/api/v1/push/subscription", {
        "subscription": {"endpoint": endpoint,
                         "keys": {"p256dh": b64u(sub.pub), "auth": b64u(sub.auth)}},
        "data": {"alerts": {"mention": True, "favourite": True, "follow": False},
                 "policy": "all"}}, as_json=True)
    assert r.status == 200, r
    s = r.json()
    check("WebPushSubscription", s)
    assert s["endpoint"] == endpoint and s["alerts"]["mention"] is True
    assert s["alerts"]["follow"] is False
    server_key = s["server_key"]
    assert alice.req("GET", "/api/v1/push/subscription").json()["id"] == s["id"]

    post = alice.post("hello")
    bob.post("@alice are you there?")
    bob.req("POST", f"/api/v1/statuses/{post['id']}/favourite")
    bob_id = alice.req("GET", "/api/v1/accounts/lookup?acct=alice").json()["id"]
    bob.req("POST", f"/api/v1/accounts/{bob_id}/follow")  # follow alerts are off
    wait_for(lambda: len(push.got) >= 2, 20, what="two push messages")
    time.sleep(1)
    assert len(push.got) == 2, [m for _, _, m in push.got]
    kinds = []
    for path, headers, body in push.got:
        assert path == "/push/alice-phone"
        assert headers["Content-Encoding"] == "aes128gcm" and int(headers["TTL"]) > 0
        verify_vapid(headers["Authorization"], server_key, f"http://127.0.0.1:{push.port}")
        msg = sub.decrypt(body)
        check("PushNotification", msg)
        kinds.append(msg["notification_type"])
        assert msg["notification_id"] and "bob" in msg["title"]
    assert sorted(kinds) == ["favourite", "mention"]
    mention = next(sub.decrypt(b) for _, _, b in push.got
                   if sub.decrypt(b)["notification_type"] == "mention")
    assert "are you there" in mention["body"]
    # The icon is bob's avatar; access_token a token of the subscription's
    # own that reads that notification and nothing it may not.
    bob_acct = bob.req("GET", "/api/v1/accounts/verify_credentials").json()
    assert mention["icon"] == bob_acct["avatar"]
    tok = mention["access_token"]
    assert tok != alice.token
    r = k.http("GET", f"/api/v1/notifications/{mention['notification_id']}",
               headers={"Authorization": f"Bearer {tok}"})
    assert r.status == 200 and r.json()["type"] == "mention", r
    assert k.http("POST", "/api/v1/statuses", headers={"Authorization": f"Bearer {tok}"},
                  body=b"status=x").status == 403

    # Changing alerts, then unsubscribing: nothing more is sent.
    r = alice.req("PUT", "/api/v1/push/subscription", {"data[alerts][mention]": "false"})
    assert r.status == 200 and r.json()["alerts"]["mention"] is False
    bob.post("@alice again")
    time.sleep(1.5)
    assert len(push.got) == 2
    assert alice.req("DELETE", "/api/v1/push/subscription").status == 200
    assert alice.req("GET", "/api/v1/push/subscription").status == 404
    assert k.http("GET", "/api/v1/notifications",
                  headers={"Authorization": f"Bearer {tok}"}).status == 401
    bob.req("POST", f"/api/v1/statuses/{post['id']}/reblog")
    time.sleep(1)
    assert len(push.got) == 2


def test_refusals(k):
    alice = signup(k, "alice", scope="read write push")
    for sub in ({"endpoint": "ftp://x/y", "keys": {"p256dh": b64u(Subscriber().pub),
                                                  "auth": b64u(os.urandom(16))}},
                {"endpoint": "https://push.example/1", "keys": {"p256dh": "bad", "auth": "x"}}):
        r = alice.req("POST", "/api/v1/push/subscription", {"subscription": sub}, as_json=True)
        assert r.status == 422 and r.json()["error"], r
    assert alice.req("GET", "/api/v1/push/subscription").status == 404
    reader = signup(k, "reader", scope="read")
    assert reader.req("GET", "/api/v1/push/subscription").status == 403


def test_signing_out_ends_the_subscription(k, push):
    """A revoked token (the app signed out) takes its subscription and the
    subscription's own token with it: nothing more is pushed."""
    assert k.ctl("user", "add", "alice", "--password-stdin", input="pw-alice-123\n").returncode == 0
    bob = signup(k, "bob")
    form = {"client_name": "phone", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write push"}
    ct = {"Content-Type": "application/json"}
    app = k.http("POST", "/api/v1/apps", headers=ct, body=json.dumps(form).encode()).json()
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    r = k.http("POST", "/oauth/token", headers=ct, body=json.dumps(
        {**creds, "grant_type": "password", "username": "alice", "password": "pw-alice-123",
         "scope": "read write push"}).encode())
    token = r.json()["access_token"]
    sub = Subscriber()
    r = k.http("POST", "/api/v1/push/subscription",
               headers={**ct, "Authorization": f"Bearer {token}"}, body=json.dumps({
                   "subscription": {"endpoint": f"http://127.0.0.1:{push.port}/push/a",
                                    "keys": {"p256dh": b64u(sub.pub), "auth": b64u(sub.auth)}},
                   "data": {"alerts": {"mention": True}}}).encode())
    assert r.status == 200, r
    bob.post("@alice one")
    wait_for(lambda: push.got, 20, what="the first push")
    tok = sub.decrypt(push.got[0][2])["access_token"]
    r = k.http("POST", "/oauth/revoke", headers=ct,
               body=json.dumps({**creds, "token": token}).encode())
    assert r.status == 200, r
    bob.post("@alice two")
    time.sleep(1.5)
    assert len(push.got) == 1
    assert k.http("GET", "/api/v1/notifications",
                  headers={"Authorization": f"Bearer {tok}"}).status == 401
