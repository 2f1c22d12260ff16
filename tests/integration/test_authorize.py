"""The OAuth sign-in and consent page (/oauth/authorize), driven as a
browser would: the form, the session cookie, the consent with its CSRF
token, the redirect back with a single-use code, PKCE S256 at the token
endpoint, out-of-band codes, refusals that must never redirect (issue 8)."""

import base64
import hashlib
import html
import re
import secrets
import urllib.parse

import pytest

from test_oauth import form, post, register

CB = "https://app.example/callback"


def challenge(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def query(**kw):
    return urllib.parse.urlencode({k: v for k, v in kw.items() if v is not None})


def hidden(page):
    return {m.group(1): html.unescape(m.group(2)) for m in re.finditer(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def cookie_of(r):
    c = r.headers.get("set-cookie", "")
    m = re.match(r"kith_session=([^;]+)", c)
    return m.group(1) if m else None


@pytest.fixture
def k(kithd):
    r = kithd.ctl("user", "add", "alice", "--password-stdin", input="correct horse battery\n")
    assert r.returncode == 0, r.stderr
    return kithd


def sign_in(k, app, verifier, redirect=CB, state="s-1", password="correct horse battery",
            scope="read write"):
    q = query(response_type="code", client_id=app["client_id"], redirect_uri=redirect,
              scope=scope, state=state, code_challenge=challenge(verifier),
              code_challenge_method="S256")
    r = k.http("GET", "/oauth/authorize?" + q)
    assert r.status == 200 and b'name="password"' in r.body, r
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    fields = hidden(r.body.decode())
    assert fields["state"] == state and fields["client_id"] == app["client_id"]
    fields.update(action="signin", username="alice", password=password)
    return post(k, "/oauth/authorize", form(fields))


def test_sign_in_consent_code_and_token(k):
    app = register(k, redirect_uris=[CB, "urn:ietf:wg:oauth:2.0:oob"], scopes="read write push")
    verifier = secrets.token_urlsafe(48)
    r = sign_in(k, app, verifier)
    assert r.status == 200 and b"Authorize" in r.body, r
    session = cookie_of(r)
    assert session and "HttpOnly" in r.headers["set-cookie"] and "SameSite=Lax" in \
        r.headers["set-cookie"]
    fields = hidden(r.body.decode())
    assert len(fields["csrf"]) == 64
    fields["action"] = "approve"
    r = post(k, "/oauth/authorize", form(fields), headers={"Cookie": f"kith_session={session}"})
    assert r.status == 302, r
    loc = urllib.parse.urlsplit(r.headers["location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == CB
    got = urllib.parse.parse_qs(loc.query)
    assert got["state"] == ["s-1"]
    code = got["code"][0]

    tok = {"grant_type": "authorization_code", "client_id": app["client_id"],
           "client_secret": app["client_secret"], "redirect_uri": CB, "code": code}
    r = post(k, "/oauth/token", form({**tok, "code_verifier": "x" * 43}))
    assert r.status == 400 and r.json()["error"] == "invalid_grant"  # wrong verifier
    r = post(k, "/oauth/token", form({**tok, "code_verifier": verifier}))
    assert r.status == 200, r
    assert r.json()["scope"] == "read write"
    access = r.json()["access_token"]
    r = k.http("GET", "/api/v1/apps/verify_credentials",
               headers={"Authorization": f"Bearer {access}"})
    assert r.status == 200
    # The code is single use.
    r = post(k, "/oauth/token", form({**tok, "code_verifier": verifier}))
    assert r.status == 400 and r.json()["error"] == "invalid_grant"

    # Signed in and already approved: straight back, with a fresh code.
    q = query(response_type="code", client_id=app["client_id"], redirect_uri=CB, scope="read",
              state="again")
    r = k.http("GET", "/oauth/authorize?" + q, headers={"Cookie": f"kith_session={session}"})
    assert r.status == 302 and "state=again" in r.headers["location"]
    assert "code=" in r.headers["location"]
    # More scopes than approved: the consent page again.
    q = query(response_type="code", client_id=app["client_id"], redirect_uri=CB,
              scope="read write push")
    r = k.http("GET", "/oauth/authorize/?" + q, headers={"Cookie": f"kith_session={session}"})
    assert r.status == 200 and b'value="approve"' in r.body
    # force_login shows the sign-in form even so.
    r = k.http("GET", "/oauth/authorize?" + q + "&force_login=true",
               headers={"Cookie": f"kith_session={session}"})
    assert r.status == 200 and b'name="password"' in r.body

    # Out of band, signing in afresh: the app is approved for these scopes
    # already, so the code comes at once, shown on the page.
    r = sign_in(k, app, verifier, redirect="urn:ietf:wg:oauth:2.0:oob")
    assert r.status == 200 and b"<code>" in r.body and cookie_of(r)
    code = re.search(rb"<code>([A-Za-z0-9_-]{43})</code>", r.body).group(1).decode()
    r = post(k, "/oauth/token", form({**tok, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                                      "code": code, "code_verifier": verifier}))
    assert r.status == 200, (r, r.body)


def test_deny_csrf_and_refusals(k):
    app = register(k, redirect_uris=CB, scopes="read")
    verifier = secrets.token_urlsafe(48)
    r = sign_in(k, app, verifier, password="wrong", scope="read")
    assert r.status == 401 and b"wrong" in r.body and not cookie_of(r)
    r = sign_in(k, app, verifier, scope="read")
    session = cookie_of(r)
    fields = hidden(r.body.decode())
    # A forged consent (no or wrong CSRF token) is refused.
    forged = {**fields, "action": "approve", "csrf": "0" * 64}
    r = post(k, "/oauth/authorize", form(forged), headers={"Cookie": f"kith_session={session}"})
    assert r.status == 403
    r = post(k, "/oauth/authorize", form({**fields, "action": "approve"}))  # no session
    assert r.status == 401 and b'name="password"' in r.body
    # Deny: back with access_denied and the state.
    r = post(k, "/oauth/authorize", form({**fields, "action": "deny"}),
             headers={"Cookie": f"kith_session={session}"})
    assert r.status == 302
    got = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["location"]).query)
    assert got == {"error": ["access_denied"], "state": ["s-1"]}

    # Unknown app or unregistered redirect: a page, never a redirect.
    r = k.http("GET", "/oauth/authorize?" + query(response_type="code", client_id="nope",
                                                  redirect_uri=CB))
    assert r.status == 400 and "location" not in r.headers
    r = k.http("GET", "/oauth/authorize?" + query(response_type="code",
                                                  client_id=app["client_id"],
                                                  redirect_uri="https://evil.example/cb"))
    assert r.status == 400 and "location" not in r.headers
    # A bad request from a known app goes back with the error.
    r = k.http("GET", "/oauth/authorize?" + query(response_type="token",
                                                  client_id=app["client_id"], redirect_uri=CB,
                                                  state="z"))
    assert r.status == 302 and "error=unsupported_response_type" in r.headers["location"]
    r = k.http("GET", "/oauth/authorize?" + query(response_type="code",
                                                  client_id=app["client_id"], redirect_uri=CB,
                                                  scope="write"))
    assert r.status == 302 and "error=invalid_scope" in r.headers["location"]
    r = k.http("GET", "/oauth/authorize?" + query(response_type="code",
                                                  client_id=app["client_id"], redirect_uri=CB,
                                                  code_challenge="abc",
                                                  code_challenge_method="plain"))
    assert r.status == 302 and "error=invalid_request" in r.headers["location"]
