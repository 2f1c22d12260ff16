"""Scopes on every route (issue 8): the test reads the API's route table
from the source (each entry names the scope its route needs, and the
API's auth enforces exactly that) and proves, route by route, that a token
without the scope gets 403 and that the same request with a token holding
just that scope is not refused for lack of it."""

import glob
import os
import re
import socket
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
ENTRY = re.compile(r'\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)", (\w+), (\w+), "([^"]+)"\}')


def routes():
    out = []
    for f in sorted(glob.glob(os.path.join(ROOT, "src", "api", "*.c"))):
        out += [(m[0], m[1], m[4]) for m in ENTRY.findall(open(f).read())]
    return out


def form(d):
    return urllib.parse.urlencode(d, doseq=True).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def lacking(scope):
    """Scopes that do not grant scope (follow grants the follows, blocks
    and mutes scopes, as in Mastodon)."""
    if scope == "push":
        return "read write"
    return "write push" if scope.startswith("read") else "read push"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from conftest import Kithd
    # Sign-ins are throttled per address and per account (10, then one in 30
    # s): the many tokens come from several people, each "from" its own
    # address through a trusted proxy.
    k = Kithd(tmp_path_factory.mktemp("scopes") / "k", extra=["trusted_proxies = 127.0.0.1"])
    k.start()
    for i in range(8):
        assert k.ctl("user", "add", f"user{i}", "--password-stdin",
                     input="pw-for-user-123\n").returncode == 0
    app = k.http("POST", "/api/v1/apps", headers=FORM,
                 body=form({"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                            "scopes": "read write follow push"})).json()
    cache = {}

    def token(scopes):
        if scopes not in cache:
            n = len(cache)
            r = k.http("POST", "/oauth/token",
                       headers={**FORM, "X-Forwarded-For": f"10.0.0.{n + 1}"},
                       body=form({"grant_type": "password", "client_id": app["client_id"],
                                  "client_secret": app["client_secret"], "scope": scopes,
                                  "username": f"user{n // 5}", "password": "pw-for-user-123"}))
            assert r.status == 200, (scopes, r)
            cache[scopes] = r.json()["access_token"]
        return cache[scopes]

    yield k, token
    k.cleanup()


def call(k, method, path, tok):
    path = path.replace("{id}", "1").replace("{name}", "cats").replace("{hashtag}", "cats")
    if path.startswith("/api/v1/streaming/"):
        # An event stream answers with its headers and stays open: read the status only.
        s = socket.create_connection(("127.0.0.1", k.port), timeout=5)
        s.sendall(f"{method} {path}?tag=cats&list=1 HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {tok}\r\n\r\n".encode())
        line = s.recv(256).split(b"\r\n")[0]
        s.close()
        return int(line.split()[1])
    return k.http(method, path, headers={**FORM, "Authorization": f"Bearer {tok}"},
                  body=b"" if method == "GET" else b"x=1").status


def test_route_table_is_read():
    table = routes()
    assert len(table) > 60
    assert ("POST", "/api/v1/statuses", "write:statuses") in table


@pytest.mark.parametrize("method,path,scope", routes(), ids=lambda x: str(x))
def test_each_route_needs_its_scope(setup, method, path, scope):
    k, token = setup
    got = call(k, method, path, token(lacking(scope)))
    assert got == 403, f"{method} {path} without {scope}: {got}"
    got = call(k, method, path, token(scope))
    assert got not in (401, 403), f"{method} {path} with {scope}: {got}"
