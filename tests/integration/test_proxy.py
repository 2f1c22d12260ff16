"""trusted_proxies: which client address is believed, logged and rate-limited."""

import pytest


class Client:
    """Sends requests, remembers the expected (status, client) of each path,
    and checks them all against the access log at the end (one wait)."""

    def __init__(self, k):
        self.k = k
        self.expected = {}

    def get(self, path, xff, status, client):
        headers = {"X-Forwarded-For": xff} if xff is not None else None
        r = self.k.http("GET", path, headers=headers)
        assert r is not None, f"no reply for {path}"
        assert r.status == status, (path, r)
        if status == 429:
            assert int(r.headers["retry-after"]) >= 1
        self.expected[path] = (status, client)

    def check_log(self):
        paths = set(self.expected)
        self.k.wait_access(lambda e: e["uri"] in paths, count=len(paths))
        seen = {e["uri"]: (e["status"], e["client"]) for e in self.k.access()
                if e["uri"] in paths}
        assert seen == self.expected


def test_trusted_proxy_address_is_logged_and_rate_limited(make_kithd):
    k = make_kithd(extra=["trusted_proxies = 127.0.0.1/32, ::1", "rate_limit = 3/60"])
    k.start()
    c = Client(k)
    c.get("/a", "203.0.113.7", 404, "203.0.113.7")
    # The right-most hop that is not itself a trusted proxy.
    c.get("/b", "198.51.100.9, 127.0.0.1", 404, "198.51.100.9")
    c.get("/c", "198.51.100.1, 203.0.113.9", 404, "203.0.113.9")
    c.get("/d", " 2001:db8::1 ", 404, "2001:db8::1")
    # Garbage or no header: the peer itself.
    c.get("/e", "not-an-address", 404, "127.0.0.1")
    c.get("/f", None, 404, "127.0.0.1")

    # Each believed address has its own bucket of 3.
    a, b = "192.0.2.10", "192.0.2.20"
    for i in range(3):
        c.get(f"/ra{i}", a, 404, a)
    c.get("/ra3", a, 429, a)
    c.get("/rb0", b, 404, b)  # a different client is not limited
    c.get("/ra4", a, 429, a)
    c.get("/g", None, 404, "127.0.0.1")  # the proxy's own bucket: 2 of 3 used above
    c.check_log()
    k.stop()


@pytest.mark.parametrize("proxies", [None, "10.0.0.0/8"])
def test_untrusted_peer_forwarded_for_is_ignored(make_kithd, proxies):
    extra = ["rate_limit = 2/60"]
    if proxies:
        extra.append(f"trusted_proxies = {proxies}")
    k = make_kithd(extra=extra)
    k.start()
    c = Client(k)
    c.get("/x1", "203.0.113.7", 404, "127.0.0.1")
    c.get("/x2", "203.0.113.8", 404, "127.0.0.1")
    # One bucket, the peer's: a new X-Forwarded-For does not buy new tokens.
    c.get("/x3", "203.0.113.9", 429, "127.0.0.1")
    assert k.http("GET", "/health", headers={"X-Forwarded-For": "1.2.3.4"}).status == 200
    c.check_log()
    k.stop()
