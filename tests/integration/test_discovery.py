"""WebFinger, host-meta, NodeInfo, actors and collections, as peers and
clients see them."""

import json
import xml.etree.ElementTree as ET

from conftest import free_port
from entities import check

AP = {"Accept": "application/activity+json"}


def start(make_kithd):
    port = free_port()
    k = make_kithd(listens=[f"127.0.0.1:{port}"],
                   extra=[f"domain = kith.test:{port}", f"public_url = http://kith.test:{port}",
                          "title = Test Kith", "registrations = open"])
    k.start()
    assert k.ctl("user", "add", "alice").returncode == 0
    assert k.ctl("community", "add", "cats", "--owner", "alice", "--title", "Cats").returncode == 0
    return k, f"http://kith.test:{port}", f"kith.test:{port}"


def test_webfinger_people_communities_and_the_instance(make_kithd):
    k, base, domain = start(make_kithd)
    r = k.http("GET", f"/.well-known/webfinger?resource=acct:alice@{domain}")
    assert r.status == 200 and r.headers["content-type"].startswith("application/jrd+json")
    jrd = r.json()
    assert jrd["subject"] == f"acct:alice@{domain}"
    self_link = next(l for l in jrd["links"] if l["rel"] == "self")
    assert self_link["href"] == f"{base}/u/alice"
    assert self_link["properties"]["https://www.w3.org/ns/activitystreams#type"] == "Person"
    # Percent-encoded, any case, or by URL.
    r = k.http("GET", f"/.well-known/webfinger?resource=acct%3ACATS%40{domain.replace(':', '%3A')}")
    link = next(l for l in r.json()["links"] if l["rel"] == "self")
    assert link["href"] == f"{base}/c/cats" and \
        link["properties"]["https://www.w3.org/ns/activitystreams#type"] == "Group"
    r = k.http("GET", f"/.well-known/webfinger?resource={base}/u/alice")
    assert r.json()["subject"] == f"acct:alice@{domain}"
    # The instance actor (FEP-d556).
    for res in (f"acct:{domain}@{domain}", f"{base}/"):
        r = k.http("GET", f"/.well-known/webfinger?resource={res}")
        assert next(l for l in r.json()["links"] if l["rel"] == "self")["href"] == f"{base}/actor"
    # Errors.
    assert k.http("GET", "/.well-known/webfinger").status == 400
    assert k.http("GET", f"/.well-known/webfinger?resource=acct:nobody@{domain}").status == 404
    assert k.http("GET", "/.well-known/webfinger?resource=acct:alice@elsewhere.test").status == 404
    assert k.http("GET", "/.well-known/webfinger?resource=nonsense").status == 400


def test_host_meta_and_nodeinfo(make_kithd):
    k, base, domain = start(make_kithd)
    r = k.http("GET", "/.well-known/host-meta")
    assert r.status == 200 and "xrd+xml" in r.headers["content-type"]
    link = ET.fromstring(r.body).find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("rel") == "lrdd"
    assert link.get("template") == f"{base}/.well-known/webfinger?resource={{uri}}"
    links = k.http("GET", "/.well-known/nodeinfo").json()["links"]
    assert [l["href"] for l in links] == [f"{base}/nodeinfo/2.0", f"{base}/nodeinfo/2.1"]
    for v in ("2.0", "2.1"):
        r = k.http("GET", f"/nodeinfo/{v}")
        assert r.status == 200 and f"schema/{v}#" in r.headers["content-type"]
        ni = r.json()
        check("Nodeinfo", ni)
        assert ni["version"] == v and ni["software"]["name"] == "kith"
        assert ni["protocols"] == ["activitypub"] and ni["openRegistrations"] is True
        assert ni["usage"]["users"]["total"] == 2  # admin and alice
        assert ni["metadata"]["nodeName"] == "Test Kith"
        assert ni["metadata"]["upstream"]["name"] == "mastodon"
    assert k.http("GET", "/nodeinfo/3.0").status == 404


def test_actors_collections_and_content_negotiation(make_kithd):
    k, base, _ = start(make_kithd)
    r = k.http("GET", "/u/alice", headers=AP)
    assert r.status == 200 and r.headers["content-type"].startswith("application/activity+json")
    p = r.json()
    assert "https://w3id.org/security/v1" in p["@context"]
    assert p["type"] == "Person" and p["id"] == f"{base}/u/alice"
    for key in ("inbox", "outbox", "followers", "following", "featured"):
        assert p[key] == f"{base}/u/alice/{key}"
    assert p["endpoints"]["sharedInbox"] == f"{base}/inbox"
    assert p["publicKey"]["id"] == f"{base}/u/alice#main-key"
    assert p["publicKey"]["owner"] == p["id"]
    assert p["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "source" not in p  # no bio yet (test_media: the bio as written, plain text)
    assert p["manuallyApprovesFollowers"] is False
    # ld+json with the ActivityStreams profile also gets JSON; a browser gets a redirect.
    r = k.http("GET", "/c/cats", headers={
        "Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'})
    g = r.json()
    assert g["type"] == "Group" and g["name"] == "Cats" and g["preferredUsername"] == "cats"
    assert g["attributedTo"] == g["moderators"] == f"{base}/c/cats/moderators"
    assert g["postingRestrictedToMods"] is False
    assert "manuallyApprovesFollowers" not in g  # a public community never sets it
    r = k.http("GET", "/c/cats", headers={"Accept": "text/html"})
    assert r.status == 302 and r.headers["location"] == f"{base}/c/cats/"
    mods = k.http("GET", "/c/cats/moderators", headers=AP).json()
    assert mods["orderedItems"] == [f"{base}/u/alice"]
    assert k.http("GET", "/c/cats/followers", headers=AP).json()["totalItems"] == 1
    inst = k.http("GET", "/actor", headers=AP).json()
    assert inst["type"] == "Application" and inst["publicKey"]["id"] == f"{base}/actor#main-key"
    assert k.http("GET", "/u/nobody", headers=AP).status == 404
    # A suspended person is gone for peers.
    assert k.ctl("user", "suspend", "alice").returncode == 0
    assert k.http("GET", "/u/alice", headers=AP).status == 410
