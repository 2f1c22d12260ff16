"""Signing up (issue 8): POST /api/v1/accounts from an app and the web
page /auth/sign_up, as `registrations` says: open (active at once, with a
token), approval (waits for `kithctl user approve`, the reason shown to
admins by `kithctl user pending`) or closed; refusals with Mastodon's
AccountCreationError details."""

import urllib.parse

import pytest

from conftest import parse_users


def form(d):
    return urllib.parse.urlencode(d, doseq=True).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def app_token(k):
    app = k.http("POST", "/api/v1/apps", headers=FORM,
                 body=form({"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                            "scopes": "read write"})).json()
    r = k.http("POST", "/oauth/token", headers=FORM,
               body=form({"grant_type": "client_credentials", "client_id": app["client_id"],
                          "client_secret": app["client_secret"], "scope": "read write"}))
    return r.json()["access_token"]


def signup(k, tok, **fields):
    d = {"username": "newbie", "password": "a fine password", "agreement": "true",
         "locale": "en", **fields}
    return k.http("POST", "/api/v1/accounts", body=form(d),
                  headers={**FORM, "Authorization": f"Bearer {tok}"})


def start(make_kithd, mode):
    k = make_kithd(name=mode, extra=[f"registrations = {mode}"])
    k.start()
    return k


def test_open_registrations(make_kithd):
    k = start(make_kithd, "open")
    tok = app_token(k)
    r = signup(k, tok, email="n@example.org")
    assert r.status == 200, r
    t = r.json()
    assert t["token_type"] == "Bearer" and t["scope"] == "read write"
    me = k.http("GET", "/api/v1/accounts/verify_credentials",
                headers={"Authorization": f"Bearer {t['access_token']}"})
    assert me.status == 200 and me.json()["username"] == "newbie"
    assert parse_users(k.ctl("user", "list").stdout)["newbie"][1] == "active"
    # Taken, bad names, short passwords, no agreement: 422 with details.
    for fields, field in [({}, "username"), ({"username": "bad name"}, "username"),
                          ({"username": "other", "password": "short"}, "password"),
                          ({"username": "other", "agreement": "false"}, "agreement"),
                          ({"username": "other", "email": "no-at-sign"}, "email")]:
        r = signup(k, tok, **fields)
        assert r.status == 422, (fields, r)
        body = r.json()
        assert body["error"] and field in body["details"], (fields, body)
        assert body["details"][field][0]["error"].startswith("ERR_")
    assert k.http("POST", "/api/v1/accounts", body=form({"username": "x"}),
                  headers=FORM).status == 401
    # The web page.
    page = k.http("GET", "/auth/sign_up")
    assert page.status == 200 and b'name="username"' in page.body and b"reason" not in page.body
    r = k.http("POST", "/auth/sign_up", headers=FORM,
               body=form({"username": "webby", "password": "another password",
                          "agreement": "true"}))
    assert r.status == 200 and b"ready" in r.body
    assert parse_users(k.ctl("user", "list").stdout)["webby"][1] == "active"
    r = k.http("POST", "/auth/sign_up", headers=FORM,
               body=form({"username": "webby", "password": "another password",
                          "agreement": "true"}))
    assert r.status == 422 and b"already taken" in r.body


def test_approval_registrations(make_kithd):
    k = start(make_kithd, "approval")
    tok = app_token(k)
    r = signup(k, tok)
    assert r.status == 422 and "reason" in r.json()["details"]
    r = signup(k, tok, reason="I run the cat club")
    assert r.status == 200, r
    t = r.json()["access_token"]
    assert parse_users(k.ctl("user", "list").stdout)["newbie"][1] == "pending"
    pending = k.ctl("user", "pending").stdout
    assert "newbie" in pending and "I run the cat club" in pending
    # Waiting: the token does not work yet; after approval it does.
    h = {"Authorization": f"Bearer {t}"}
    assert k.http("GET", "/api/v1/accounts/verify_credentials", headers=h).status == 401
    assert k.ctl("user", "approve", "newbie").returncode == 0
    assert k.http("GET", "/api/v1/accounts/verify_credentials", headers=h).status == 200
    page = k.http("GET", "/auth/sign_up")
    assert b'name="reason"' in page.body
    r = k.http("POST", "/auth/sign_up", headers=FORM,
               body=form({"username": "webby", "password": "another password",
                          "agreement": "true", "reason": "hello"}))
    assert r.status == 200 and b"waits" in r.body
    assert parse_users(k.ctl("user", "list").stdout)["webby"][1] == "pending"


def test_closed_registrations(make_kithd):
    k = start(make_kithd, "closed")
    tok = app_token(k)
    r = signup(k, tok)
    assert r.status == 403 and "closed" in r.json()["error"]
    assert k.http("GET", "/auth/sign_up").status == 403
    assert k.http("POST", "/auth/sign_up", headers=FORM,
                  body=form({"username": "x"})).status == 403
    assert "newbie" not in parse_users(k.ctl("user", "list").stdout)
