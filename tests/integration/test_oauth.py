"""OAuth 2 for Mastodon clients: app registration (form, JSON and query
string bodies, redirect URIs in every shape clients send), the token
endpoint (client credentials, refused grants and clients), app token
checks, revocation and the server metadata (issue 8)."""

import base64
import json
import urllib.parse

import pytest

from entities import check


def form(d):
    return urllib.parse.urlencode(d, doseq=True).encode()


def post(k, path, body=b"", ctype="application/x-www-form-urlencoded", headers=None):
    h = {"Content-Type": ctype, **(headers or {})}
    return k.http("POST", path, headers=h, body=body)


def register(k, **extra):
    d = {"client_name": "Tusky", "redirect_uris": "oauth2redirect://com.keylesspalace.tusky/",
         "scopes": "read write follow push", "website": "https://tusky.app", **extra}
    r = post(k, "/api/v1/apps", form(d))
    assert r.status == 200, r
    return r.json()


@pytest.fixture
def k(kithd):
    return kithd


def test_apps_registers_with_every_body_encoding(k):
    app = register(k)
    check("Application", app)
    assert app["id"].isdigit() and app["name"] == "Tusky" and app["website"] == "https://tusky.app"
    assert app["scopes"] == ["read", "write", "follow", "push"]
    assert app["redirect_uri"] == "oauth2redirect://com.keylesspalace.tusky/"
    assert app["redirect_uris"] == ["oauth2redirect://com.keylesspalace.tusky/"]
    assert len(app["client_id"]) == 43 and len(app["client_secret"]) == 43
    assert app["client_secret_expires_at"] == 0
    vapid = base64.urlsafe_b64decode(app["vapid_key"] + "=")  # 87 chars: a P-256 point
    assert len(vapid) == 65 and vapid[0] == 4

    # JSON with an array of redirect URIs (Elk, Phanpy), website absent.
    body = json.dumps({"client_name": "Elk", "redirect_uris": [
        "https://elk.zone/api/kith/oauth", "urn:ietf:wg:oauth:2.0:oob"], "scopes": "read"})
    r = post(k, "/api/v1/apps", body.encode(), ctype="application/json")
    assert r.status == 200, r
    elk = r.json()
    assert elk["website"] is None and elk["scopes"] == ["read"]
    assert elk["redirect_uris"] == ["https://elk.zone/api/kith/oauth", "urn:ietf:wg:oauth:2.0:oob"]
    assert elk["redirect_uri"] == "https://elk.zone/api/kith/oauth\nurn:ietf:wg:oauth:2.0:oob"
    assert elk["client_id"] != app["client_id"] and elk["vapid_key"] == app["vapid_key"]

    # Rails-style redirect_uris[] in a form, and a query string with no body;
    # the default scope is read.
    r = post(k, "/api/v1/apps", form({"client_name": "toot", "redirect_uris[]": [
        "toot:/callback", "net.example.app:/oauth"]}))
    assert r.status == 200 and r.json()["redirect_uris"] == ["toot:/callback",
                                                              "net.example.app:/oauth"]
    assert r.json()["scopes"] == ["read"]
    q = urllib.parse.urlencode({"client_name": "q", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
    r = post(k, "/api/v1/apps?" + q)
    assert r.status == 200 and r.json()["name"] == "q"


@pytest.mark.parametrize("fields,why", [
    ({"redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}, "client_name"),
    ({"client_name": "x"}, "redirect_uris"),
    ({"client_name": "x", "redirect_uris": "not a uri"}, "redirect_uris"),
    ({"client_name": "x", "redirect_uris": "https://a.example/cb#frag"}, "redirect_uris"),
    ({"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read sudo"},
     "scopes"),
])
def test_apps_refuses_bad_input_with_a_json_error(k, fields, why):
    r = post(k, "/api/v1/apps", form(fields))
    assert r.status == 422, r
    assert why in r.json()["error"]


def test_apps_refuses_a_body_that_does_not_parse(k):
    r = post(k, "/api/v1/apps", b"{not json", ctype="application/json")
    assert r.status == 400 and "error" in r.json()


def test_client_credentials_tokens_verify_and_revoke(k):
    app = register(k)
    cid, secret = app["client_id"], app["client_secret"]
    r = post(k, "/oauth/token", form({"grant_type": "client_credentials", "client_id": cid,
                                      "client_secret": secret, "scope": "read write"}))
    assert r.status == 200, r
    tok = r.json()
    assert tok["token_type"] == "Bearer" and tok["scope"] == "read write"
    assert isinstance(tok["created_at"], int) and len(tok["access_token"]) == 43
    assert r.headers.get("cache-control") == "no-store"
    # HTTP Basic works as well as the body; the default scope is read.
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    r = post(k, "/oauth/token", form({"grant_type": "client_credentials"}),
             headers={"Authorization": f"Basic {basic}"})
    assert r.status == 200 and r.json()["scope"] == "read"
    # JSON body too.
    r = post(k, "/oauth/token", json.dumps({"grant_type": "client_credentials", "client_id": cid,
                                            "client_secret": secret}).encode(),
             ctype="application/json")
    assert r.status == 200

    auth = {"Authorization": f"Bearer {tok['access_token']}"}
    r = k.http("GET", "/api/v1/apps/verify_credentials", headers=auth)
    assert r.status == 200
    seen = r.json()
    check("Application", seen)
    assert seen["name"] == "Tusky" and "client_secret" not in seen and "client_id" not in seen
    assert k.http("GET", "/api/v1/apps/verify_credentials").status == 401
    assert k.http("GET", "/api/v1/apps/verify_credentials",
                  headers={"Authorization": "Bearer nope"}).status == 401

    # Another client may not revoke this token; its own client may.
    other = register(k, client_name="Other")
    r = post(k, "/oauth/revoke", form({"client_id": other["client_id"],
                                       "client_secret": other["client_secret"],
                                       "token": tok["access_token"]}))
    assert r.status == 403 and r.json()["error"] == "unauthorized_client"
    r = post(k, "/oauth/revoke", form({"client_id": cid, "client_secret": secret,
                                       "token": tok["access_token"]}))
    assert r.status == 200 and r.json() == {}
    assert k.http("GET", "/api/v1/apps/verify_credentials", headers=auth).status == 401
    # Revoking again, or an unknown token, is still 200 (RFC 7009).
    r = post(k, "/oauth/revoke", form({"client_id": cid, "client_secret": secret,
                                       "token": tok["access_token"]}))
    assert r.status == 200
    # After a restart the token is still revoked, the app still there.
    k.stop()
    k.start()
    assert k.http("GET", "/api/v1/apps/verify_credentials", headers=auth).status == 401
    r = post(k, "/oauth/token", form({"grant_type": "client_credentials", "client_id": cid,
                                      "client_secret": secret}))
    assert r.status == 200


def test_token_endpoint_refusals(k):
    app = register(k, scopes="read")
    cid, secret = app["client_id"], app["client_secret"]

    def token(fields, **kw):
        return post(k, "/oauth/token", form(fields), **kw)

    r = token({"grant_type": "client_credentials", "client_id": cid, "client_secret": "wrong"})
    assert r.status == 401 and r.json()["error"] == "invalid_client"
    assert r.headers.get("www-authenticate", "").startswith("Basic")
    r = token({"grant_type": "client_credentials", "client_id": "unknown", "client_secret": "x"})
    assert r.status == 401 and r.json()["error"] == "invalid_client"
    r = token({"grant_type": "client_credentials"})
    assert r.status == 401
    r = token({"grant_type": "client_credentials", "client_id": cid, "client_secret": secret,
               "scope": "read write"})  # more than the app registered
    assert r.status == 400 and r.json()["error"] == "invalid_scope"
    r = token({"grant_type": "implicit", "client_id": cid, "client_secret": secret})
    assert r.status == 400 and r.json()["error"] == "unsupported_grant_type"
    r = token({"grant_type": "authorization_code", "client_id": cid, "client_secret": secret,
               "code": "forged", "redirect_uri": "oauth2redirect://com.keylesspalace.tusky/"})
    assert r.status == 400 and r.json()["error"] == "invalid_grant"
    assert "error_description" in r.json()


def test_authorization_server_metadata(k):
    r = k.http("GET", "/.well-known/oauth-authorization-server")
    assert r.status == 200
    m = r.json()
    check("OAuthServerInfo", m)
    assert m["token_endpoint"].endswith("/oauth/token")
    assert m["authorization_endpoint"].endswith("/oauth/authorize")
    assert m["app_registration_endpoint"].endswith("/api/v1/apps")
    assert m["code_challenge_methods_supported"] == ["S256"]
    assert "client_secret_basic" in m["token_endpoint_auth_methods_supported"]
    assert {"read", "write", "follow", "push"} <= set(m["scopes_supported"])
    # Every endpoint is under the issuer (public_url).
    assert all(m[e].startswith(m["issuer"].rstrip("/")) for e in (
        "token_endpoint", "authorization_endpoint", "revocation_endpoint"))


def test_password_grant_is_checked_off_the_loop_and_throttled(k):
    r = k.ctl("user", "add", "alice", "--password-stdin", input="correct horse battery\n")
    assert r.returncode == 0, r.stderr
    app = register(k)
    base = {"grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}

    def grant(user, password):
        return post(k, "/oauth/token", form({**base, "username": user, "password": password}))

    r = grant("alice", "correct horse battery")
    assert r.status == 200, r
    tok = r.json()
    assert tok["scope"] == "read write" and tok["token_type"] == "Bearer"
    r = k.http("GET", "/api/v1/apps/verify_credentials",
               headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert r.status == 200
    # Case of the name does not matter; the password does; unknown names
    # get the same answer as a wrong password.
    assert grant("ALICE", "correct horse battery").status == 200
    r = grant("alice", "wrong")
    assert r.status == 400 and r.json()["error"] == "invalid_grant"
    r = grant("nobody", "wrong")
    assert r.status == 400 and r.json()["error"] == "invalid_grant"
    r = post(k, "/oauth/token", form({**base, "username": "alice"}))
    assert r.status == 400 and r.json()["error"] == "invalid_request"
    # Every attempt from this address counts: the limit (10) is reached
    # within a few more, and the answer says when to come back.
    statuses = [grant("alice", "wrong").status for _ in range(8)]
    assert 429 in statuses, statuses
    r = grant("alice", "correct horse battery")
    assert r.status == 429 and int(r.headers["retry-after"]) >= 1
    assert "error" in r.json()
    # The server stayed responsive while passwords were being checked.
    assert k.http("GET", "/health").status == 200


def user_token(k, scope="read write follow push", name="bob", password="pw-for-bob-123"):
    assert k.ctl("user", "add", name, "--password-stdin", input=password + "\n").returncode == 0
    app = register(k)
    r = post(k, "/oauth/token", form({"grant_type": "password", "client_id": app["client_id"],
                                      "client_secret": app["client_secret"], "scope": scope,
                                      "username": name, "password": password}))
    assert r.status == 200, r
    return r.json()["access_token"], app


def test_verify_credentials_is_a_full_credential_account(k):
    from entities import check
    tok, app = user_token(k)
    auth = {"Authorization": f"Bearer {tok}"}
    r = k.http("GET", "/api/v1/accounts/verify_credentials", headers=auth)
    assert r.status == 200, r
    me = r.json()
    check("Account", me)
    check("CredentialAccountSource", me["source"])
    assert me["username"] == "bob" and me["acct"] == "bob" and me["group"] is False
    assert me["avatar"].startswith("http") and me["header"].startswith("http")
    assert me["url"].endswith("/@bob") and me["uri"].endswith("/u/bob")
    # The default images are real PNGs.
    path = "/" + me["avatar"].split("/", 3)[3]
    img = k.http("GET", path)
    assert img.status == 200 and img.body.startswith(b"\x89PNG") and \
        img.headers["content-type"] == "image/png"

    # The same account by id, without source; a community by id as a group.
    r = k.http("GET", f"/api/v1/accounts/{me['id']}", headers=auth)
    assert r.status == 200 and "source" not in r.json()
    check("Account", r.json())
    assert k.ctl("community", "add", "cats", "--owner", "bob", "--title", "Cats").returncode == 0
    r = k.http("GET", "/api/v1/accounts/lookup?acct=cats", headers=auth)
    assert r.status == 200, r
    cats = r.json()
    check("Account", cats)
    assert cats["group"] is True and cats["display_name"] == "Cats" and cats["acct"] == "cats"
    assert cats["url"].endswith("/c/cats") and cats["followers_count"] == 1  # its owner
    r = k.http("GET", f"/api/v1/accounts/{cats['id']}", headers=auth)
    assert r.status == 200 and r.json()["group"] is True
    r = k.http("GET", "/api/v1/accounts/lookup?acct=@bob", headers=auth)
    assert r.status == 200 and r.json()["id"] == me["id"]
    assert k.http("GET", "/api/v1/accounts/lookup?acct=nobody", headers=auth).status == 404
    # Profiles are public: no token needed; a bad token sent is still refused.
    r = k.http("GET", f"/api/v1/accounts/{me['id']}")
    assert r.status == 200 and r.json()["username"] == "bob"
    assert k.http("GET", "/api/v1/accounts/lookup?acct=cats").status == 200
    r = k.http("GET", "/api/v1/accounts/lookup?acct=cats", headers={"Authorization": "Bearer x"})
    assert r.status == 401
    assert k.http("GET", "/api/v1/accounts/999999", headers=auth).status == 404
    assert k.http("GET", "/api/v1/accounts/abc", headers=auth).status == 404

    # Scopes: an app token has no person; a token without read:accounts is refused.
    r = post(k, "/oauth/token", form({"grant_type": "client_credentials",
                                      "client_id": app["client_id"],
                                      "client_secret": app["client_secret"]}))
    app_tok = r.json()["access_token"]
    r = k.http("GET", "/api/v1/accounts/verify_credentials",
               headers={"Authorization": f"Bearer {app_tok}"})
    assert r.status == 422 and r.json()["error"]
    push_only, _ = user_token(k, scope="push", name="carol", password="pw-for-carol-1")
    r = k.http("GET", "/api/v1/accounts/verify_credentials",
               headers={"Authorization": f"Bearer {push_only}"})
    assert r.status == 403 and "scope" in r.json()["error"]
    r = k.http("GET", "/api/v1/accounts/verify_credentials")
    assert r.status == 401 and r.json()["error"]
    # ?access_token= works as well as the header (streaming clients use it).
    r = k.http("GET", "/api/v1/accounts/verify_credentials?access_token=" + tok)
    assert r.status == 200


def test_instance_v1_and_v2(k):
    from entities import check
    r = k.http("GET", "/api/v2/instance")
    assert r.status == 200, r
    v2 = r.json()
    check("InstanceV2", v2)
    assert v2["version"].startswith("4.2.0 (compatible; kith ")
    assert v2["contact"]["account"]["username"] == "admin"
    assert v2["thumbnail"]["url"].endswith("/static/header.png")
    assert v2["registrations"]["enabled"] in (True, False)
    assert v2["configuration"]["urls"]["streaming"].startswith(("ws://", "wss://"))
    vapid = v2["configuration"]["vapid"]["public_key"]
    assert len(vapid) == 87
    assert register(k)["vapid_key"] == vapid
    r = k.http("GET", "/api/v1/instance")
    assert r.status == 200
    v1 = r.json()
    check("Instance", v1)
    assert v1["version"] == v2["version"] and v1["uri"] == v2["domain"]
    assert v1["stats"]["user_count"] >= 1
    # Mastodon.py wants X.Y.Z before the first space.
    assert v1["version"].split(" ")[0].count(".") == 2


def test_cors_for_browser_clients(k):
    import socket
    r = k.http("OPTIONS", "/api/v1/apps", headers={
        "Origin": "https://elk.zone", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status == 204, r
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Authorization" in r.headers["access-control-allow-headers"]
    r = k.http("OPTIONS", "/oauth/token", headers={"Origin": "https://elk.zone"})
    assert r.status == 204
    # One Access-Control-Allow-Origin, never two (browsers refuse two).
    for path in ("/api/v2/instance", "/.well-known/webfinger?resource=acct:admin@localhost",
                 "/nodeinfo/2.0"):
        with socket.create_connection(("127.0.0.1", k.port), 5) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      .encode())
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        head = raw.split(b"\r\n\r\n", 1)[0].lower()
        assert head.count(b"access-control-allow-origin") == 1, (path, head)
        assert b"access-control-expose-headers" in head
    # Pages and ActivityPub documents are not opened to other origins by this.
    r = k.http("OPTIONS", "/oauth/authorize")
    assert r.status == 405
