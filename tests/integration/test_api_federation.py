"""Statuses written through the Mastodon API federate (issue 8): two kithd
on loopback (plain HTTP, private addresses allowed); a mention of a remote
person nobody here has met is found through WebFinger and delivered; a
status mentioning a remote community is a post in it; favourites, boosts,
edits and deletes travel; the remote side's notifications show it."""

import urllib.parse

from conftest import free_port, wait_for
from entities import check
from test_statuses import signup

SYNC = 20


def start(make_kithd, name):
    port = free_port()
    k = make_kithd(name=name, listens=[f"127.0.0.1:{port}"],
                   extra=[f"domain = 127.0.0.1:{port}", f"public_url = http://127.0.0.1:{port}",
                          "allow_private_addresses = true", "delivery_retry_base = 200ms"])
    k.start()
    return k


def obj(k, uri):
    r = k.ctl("federation", "object", uri)
    if r.returncode != 0:
        return None
    out = {}
    for line in r.stdout.splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def test_api_statuses_federate(make_kithd):
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    assert b.ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats").returncode == 0
    alice = signup(a, "alice")
    bob = signup(b, "bob")
    bob_acct = f"bob@127.0.0.1:{b.port}"

    # A mention of someone A has never met: WebFinger, then delivery.
    s = alice.post(f"Hello @{bob_acct}, welcome!")
    assert [m["acct"] for m in s["mentions"]] == [bob_acct], s["mentions"]
    assert f'href="http://127.0.0.1:{b.port}/u/bob"' in s["content"]
    wait_for(lambda: obj(b, s["uri"]) is not None, SYNC, what="the note on B")
    wait_for(lambda: "mention" in b.ctl("act", "bob", "notifications").stdout, SYNC,
             what="bob notified")

    # A status mentioning a remote community is a post in it, titled by its first line.
    p = alice.post(f"@cats@127.0.0.1:{b.port} My cat sleeps\nAll day long.")
    assert p["uri"].rsplit("/", 2)[-2] == "post"
    seen = wait_for(lambda: obj(b, p["uri"]), SYNC, what="the post in cats on B")
    assert seen["title"] == "My cat sleeps" and seen["kind"] == "post", seen

    # Bob favourites alice's note and boosts it, through his own API.
    r = bob.req("GET", "/api/v2/search?q=" + urllib.parse.quote(s["uri"]) + "&resolve=true")
    assert r.status == 200, r
    check("SearchV2", r.json())
    found = r.json()["statuses"]
    assert [x["uri"] for x in found] == [s["uri"]]
    check("Status", found[0])
    sid = found[0]["id"]
    assert bob.req("POST", f"/api/v1/statuses/{sid}/favourite").status == 200
    wait_for(lambda: obj(a, s["uri"])["upvotes"] == "1", SYNC, what="the favourite on A")
    assert bob.req("POST", f"/api/v1/statuses/{sid}/reblog").status == 200
    wait_for(lambda: "reblog" in a.ctl("act", "alice", "notifications").stdout, SYNC,
             what="the boost on A")

    # Edits and deletes travel.
    r = alice.req("PUT", f"/api/v1/statuses/{s['id']}", {"status": f"Hi again @{bob_acct}"})
    assert r.status == 200, r
    wait_for(lambda: "Hi again" in obj(b, s["uri"])["content"], SYNC, what="the edit on B")
    assert alice.req("DELETE", f"/api/v1/statuses/{s['id']}").status == 200
    wait_for(lambda: obj(b, s["uri"])["deleted"] not in ("", "0", "no"), SYNC,
             what="the delete on B")
    # B is among A's peers now.
    assert f"127.0.0.1:{b.port}" in a.http("GET", "/api/v1/instance/peers").json()


def test_search_finds_and_resolves(make_kithd):
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    assert b.ctl("community", "add", "dogs", "--owner", "admin", "--title", "Dogs").returncode == 0
    alice = signup(a, "alice")
    signup(a, "alicia")
    signup(b, "bob")
    # Local names by prefix, any case, with or without @.
    for q in ("ali", "@ALI"):
        r = alice.req("GET", "/api/v2/search?q=" + urllib.parse.quote(q) + "&type=accounts")
        assert r.status == 200, r
        assert sorted(x["username"] for x in r.json()["accounts"]) == ["alice", "alicia"]
    # following=true: only the accounts one follows (mention autocompletion).
    alicia = alice.req("GET", "/api/v1/accounts/lookup?acct=alicia").json()["id"]
    alice.req("POST", f"/api/v1/accounts/{alicia}/follow")
    r = alice.req("GET", "/api/v2/search?q=ali&type=accounts&following=true")
    assert [x["username"] for x in r.json()["accounts"]] == ["alicia"], r.json()
    # A remote address: nothing without resolve, found with it (WebFinger).
    bob_acct = f"bob@127.0.0.1:{b.port}"
    r = alice.req("GET", "/api/v2/search?q=" + urllib.parse.quote("@" + bob_acct))
    assert r.json()["accounts"] == []
    r = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote("@" + bob_acct))
    assert [x["acct"] for x in r.json()["accounts"]] == [bob_acct], r.json()
    check("Account", r.json()["accounts"][0])
    # Now held: lookup and a plain search find it too.
    r = alice.req("GET", "/api/v1/accounts/lookup?acct=" + urllib.parse.quote(bob_acct))
    assert r.status == 200 and r.json()["acct"] == bob_acct
    # A remote community, as a group account; and by its actor URL.
    dogs = f"dogs@127.0.0.1:{b.port}"
    r = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(dogs))
    g = r.json()["accounts"]
    assert [x["acct"] for x in g] == [dogs] and g[0]["group"] is True
    r = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        f"http://127.0.0.1:{b.port}/u/bob"))
    assert [x["acct"] for x in r.json()["accounts"]] == [bob_acct]
    # Nobody there: empty results, not an error.
    r = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        f"nobody@127.0.0.1:{b.port}"))
    assert r.status == 200 and r.json()["accounts"] == []
    # Without a token: local results only, never a lookup elsewhere.
    r = a.http("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        f"dogs@127.0.0.1:{b.port}"))
    assert r.status == 200
    # Bad requests.
    assert alice.req("GET", "/api/v2/search").status == 400
    assert alice.req("GET", "/api/v2/search?q=x&type=songs").status == 400


def test_polls_across_instances(make_kithd):
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    alice, bob = signup(a, "alice"), signup(b, "bob")
    bob_id = bob.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        f"alice@127.0.0.1:{a.port}")).json()["accounts"][0]["id"]
    assert bob.req("POST", f"/api/v1/accounts/{bob_id}/follow").status == 200
    wait_for(lambda: bob.req("GET", f"/api/v1/accounts/relationships?id[]={bob_id}"
                             ).json()[0]["following"], SYNC, what="bob follows alice")
    s = alice.post("Tea or coffee?", **{"poll[options][]": ["Tea", "Coffee"],
                                        "poll[expires_in]": "3600"})
    # Bob's home on B gets the Question with its options.
    def remote():
        for x in bob.req("GET", "/api/v1/timelines/home").json():
            if x["uri"] == s["uri"]:
                return x
    theirs = wait_for(remote, SYNC, what="the poll on B")
    check("Poll", theirs["poll"])
    assert [o["title"] for o in theirs["poll"]["options"]] == ["Tea", "Coffee"]
    # Bob votes on B; the vote reaches A and counts there.
    r = bob.req("POST", f"/api/v1/polls/{theirs['poll']['id']}/votes", {"choices[]": "1"})
    assert r.status == 200 and r.json()["own_votes"] == [1], r
    wait_for(lambda: alice.req("GET", f"/api/v1/polls/{s['poll']['id']}").json()
             ["options"][1]["votes_count"] == 1, SYNC, what="the vote counted on A")
    # Votes on A (carol's, and bob's) come back to B as an Update of the
    # Question: B's copy shows A's counts, and is not marked edited.
    carol = signup(a, "carol")
    assert carol.req("POST", f"/api/v1/polls/{s['poll']['id']}/votes",
                     {"choices[]": "0"}).status == 200

    def counts():
        p = bob.req("GET", f"/api/v1/polls/{theirs['poll']['id']}").json()
        return [o["votes_count"] for o in p["options"]], p["voters_count"]
    wait_for(lambda: counts() == ([1, 1], 2), SYNC, what="A's Update of the poll on B")
    assert bob.req("GET", f"/api/v1/statuses/{theirs['id']}").json()["edited_at"] is None


def test_a_remote_poll_ends_and_voters_hear_of_it(make_kithd, tmp_path):
    """A peer's Question addressed to alice, ending in a few seconds: alice
    votes (a name-only Note goes to the peer), the end is told by a
    "poll" notification."""
    import datetime
    import json
    import time

    from test_federation import Peer
    peer = Peer(tmp_path)
    try:
        k = start(make_kithd, "k")
        alice = signup(k, "alice")
        end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=4)
        q = {"id": f"{peer.base}/q/1", "type": "Question", "attributedTo": peer.actor,
             "content": "<p>Left or right?</p>", "to": [f"http://127.0.0.1:{k.port}/u/alice"],
             "oneOf": [{"type": "Note", "name": "Left", "replies": {"type": "Collection",
                                                                     "totalItems": 3}},
                       {"type": "Note", "name": "Right", "replies": {"type": "Collection",
                                                                      "totalItems": 1}}],
             "endTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "votersCount": 4,
             "published": "2026-11-26T00:00:00Z"}
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                           "id": f"{peer.base}/q/1/create", "type": "Create",
                           "actor": peer.actor, "to": q["to"], "object": q}).encode()
        r = k.http("POST", "/inbox", headers=peer.sign(k.port, "/inbox", body), body=body)
        assert r.status in (200, 202), r
        found = wait_for(lambda: alice.req("GET", "/api/v2/search?q=" + urllib.parse.quote(
            q["id"])).json()["statuses"], 10, what="the poll stored")
        poll = found[0]["poll"]
        assert [o["votes_count"] for o in poll["options"]] == [3, 1] and not poll["expired"]
        r = alice.req("POST", f"/api/v1/polls/{poll['id']}/votes", {"choices[]": "1"})
        assert r.status == 200 and r.json()["options"][1]["votes_count"] == 2, r
        vote = wait_for(lambda: [a for a in peer.activities("Create")
                                 if a["object"].get("inReplyTo") == q["id"]], 10,
                        what="the vote at the peer")
        assert vote[0]["object"]["name"] == "Right" and "content" not in vote[0]["object"]
        time.sleep(max(0, (end - datetime.datetime.now(datetime.timezone.utc)).total_seconds()))
        note = wait_for(lambda: alice.req("GET", "/api/v1/notifications?types[]=poll").json(),
                        10, what="the poll notification")
        check("Notification", note[0])
        assert note[0]["status"]["poll"]["expired"] is True
        assert alice.req("POST", f"/api/v1/polls/{poll['id']}/votes",
                         {"choices[]": "0"}).status == 422
    finally:
        peer.close()


def test_search_resolves_post_urls(make_kithd):
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    assert a.ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats").returncode == 0
    alice, bob = signup(a, "alice"), signup(b, "bob")
    note = alice.post("a note B has never seen")
    page = alice.post("@cats A post in cats\nwith a body")
    for s, kind in ((note, None), (page, "cats")):
        q = urllib.parse.quote(s["uri"])
        assert bob.req("GET", f"/api/v2/search?q={q}").json()["statuses"] == []
        r = bob.req("GET", f"/api/v2/search?resolve=true&type=statuses&q={q}")
        assert r.status == 200, r
        found = r.json()["statuses"]
        assert [x["uri"] for x in found] == [s["uri"]], r.json()
        check("Status", found[0])
        assert found[0]["account"]["acct"] == f"alice@127.0.0.1:{a.port}"
        # Held now: found without resolve, and it can be replied to.
        assert bob.req("GET", f"/api/v2/search?q={q}").json()["statuses"][0]["id"] == found[0]["id"]
        held = obj(b, s["uri"])
        assert held is not None
        if kind:
            assert held["kind"] == "post" and held["community"].endswith("/c/cats"), held
    r = bob.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        f"http://127.0.0.1:{a.port}/note/1"))
    assert r.status == 200 and r.json()["statuses"] == []


def test_a_person_first_seen_in_a_community_can_be_followed(make_kithd):
    """A known only from cats' Announce of dave's post (a stub: no inbox
    yet); searching for him with resolve=true, following him and
    mentioning him all fetch his actor first, as Mastodon does."""
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    assert b.ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats").returncode == 0
    alice, erin, dave = signup(a, "alice"), signup(a, "erin"), signup(b, "dave")
    cats, dave_acct = f"cats@127.0.0.1:{b.port}", f"dave@127.0.0.1:{b.port}"
    for who in (alice, erin):
        cid = who.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
            cats)).json()["accounts"][0]["id"]
        who.req("POST", f"/api/v1/accounts/{cid}/follow")
        wait_for(lambda: who.req("GET", f"/api/v1/accounts/relationships?id[]={cid}")
                 .json()[0]["following"], SYNC, what="B accepting the join")
    dave.post(f"@{cats.split('@')[0]} Dave's cat\nsleeps all day")

    def boost(who):
        for s in who.req("GET", "/api/v1/timelines/home").json():
            if s.get("reblog") and s["reblog"]["account"]["acct"] == dave_acct:
                return s["reblog"]["account"]
        return None
    stub = wait_for(lambda: boost(alice), SYNC, what="cats' boost of dave's post on A")
    assert wait_for(lambda: boost(erin), SYNC, what="the boost for erin")["id"] == stub["id"]
    # Following the stub by its id: fetched, then followed (B accepts).
    r = alice.req("POST", f"/api/v1/accounts/{stub['id']}/follow")
    assert r.status == 200, r
    wait_for(lambda: alice.req("GET", f"/api/v1/accounts/relationships?id[]={stub['id']}")
             .json()[0]["following"], SYNC, what="B accepting alice's follow of dave")
    r = dave.req("GET", "/api/v1/accounts/relationships?id[]=" + dave.req(
        "GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
            f"alice@127.0.0.1:{a.port}")).json()["accounts"][0]["id"])
    assert r.json()[0]["followed_by"] is True
    s = dave.post("for my followers")
    wait_for(lambda: any(x["uri"] == s["uri"] for x in
                         alice.req("GET", "/api/v1/timelines/home").json()),
             SYNC, what="dave's next status in alice's home")
    # The same account, now whole, under the same id.
    r = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote("@" + dave_acct))
    assert [x["id"] for x in r.json()["accounts"]] == [stub["id"]]
    check("Account", r.json()["accounts"][0])


def test_a_stub_found_by_search_and_mentioned(make_kithd):
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    assert b.ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats").returncode == 0
    alice, dave = signup(a, "alice"), signup(b, "dave")
    cats, dave_acct = f"cats@127.0.0.1:{b.port}", f"dave@127.0.0.1:{b.port}"
    cid = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        cats)).json()["accounts"][0]["id"]
    alice.req("POST", f"/api/v1/accounts/{cid}/follow")
    wait_for(lambda: alice.req("GET", f"/api/v1/accounts/relationships?id[]={cid}")
             .json()[0]["following"], SYNC, what="B accepting the join")
    dave.post("@cats Hello cats\nfrom dave")
    wait_for(lambda: any(s.get("reblog") for s in
                         alice.req("GET", "/api/v1/timelines/home").json()),
             SYNC, what="cats' boost on A")
    # A mention of the stub fetches him and reaches him.
    s = alice.post(f"hi @{dave_acct}")
    assert [m["acct"] for m in s["mentions"]] == [dave_acct]
    wait_for(lambda: any(n["type"] == "mention" for n in
                         dave.req("GET", "/api/v1/notifications").json()),
             SYNC, what="dave hearing of the mention")


def test_a_fetched_status_notifies_nobody(make_kithd):
    """A status someone looks up by its URL was never delivered here: the
    people it mentions are not told (a delivery would tell them)."""
    port = free_port()
    a = make_kithd(name="a", listens=[f"127.0.0.1:{port}"],
                   extra=[f"domain = 127.0.0.1:{port}", f"public_url = http://127.0.0.1:{port}",
                          "allow_private_addresses = true", "delivery_retry_base = 1h"])
    a.start()
    b = start(make_kithd, "b")
    alice, bob = signup(a, "alice"), signup(b, "bob")
    bob_acct = f"bob@127.0.0.1:{b.port}"
    first = alice.post(f"hello @{bob_acct}")  # A meets bob; delivered
    wait_for(lambda: bob.req("GET", "/api/v1/notifications").json(), SYNC,
             what="the delivered mention")
    b.stop()
    missed = alice.post(f"are you there @{bob_acct}?")  # its delivery waits an hour
    b.start()
    r = bob.req("GET", "/api/v2/search?resolve=true&type=statuses&q=" +
                urllib.parse.quote(missed["uri"]))
    assert [s["uri"] for s in r.json()["statuses"]] == [missed["uri"]], r.json()
    notes = bob.req("GET", "/api/v1/notifications").json()
    assert [n["status"]["uri"] for n in notes] == [first["uri"]], notes


def test_boosts_by_people_followed_reach_the_home_timeline(make_kithd):
    """bob (B) boosts carol's post (B); alice (A) follows bob: the boost is in
    her home with carol's post, fetched from its origin (A has never met
    carol); bob's undo takes it out; carol hears of nothing extra."""
    a, b = start(make_kithd, "a"), start(make_kithd, "b")
    alice, bob, carol = signup(a, "alice"), signup(b, "bob"), signup(b, "carol")
    bid = alice.req("GET", "/api/v2/search?resolve=true&q=" + urllib.parse.quote(
        f"bob@127.0.0.1:{b.port}")).json()["accounts"][0]["id"]
    alice.req("POST", f"/api/v1/accounts/{bid}/follow")
    wait_for(lambda: alice.req("GET", f"/api/v1/accounts/relationships?id[]={bid}")
             .json()[0]["following"], SYNC, what="B accepting alice's follow of bob")
    c = carol.post("carol's own words")
    boost = bob.req("POST", f"/api/v1/statuses/{c['id']}/reblog")
    assert boost.status == 200, boost

    def boosted():
        for s in alice.req("GET", "/api/v1/timelines/home").json():
            if s.get("reblog") and s["reblog"]["uri"] == c["uri"]:
                return s
    s = wait_for(boosted, SYNC, what="bob's boost in alice's home on A")
    check("Status", s)
    assert s["account"]["acct"] == f"bob@127.0.0.1:{b.port}"
    assert s["reblog"]["account"]["acct"] == f"carol@127.0.0.1:{b.port}"
    assert s["reblog"]["content"].find("carol&#39;s own words") >= 0 or \
        "carol's own words" in s["reblog"]["content"]
    assert s["id"] != s["reblog"]["id"]
    bob.req("POST", f"/api/v1/statuses/{c['id']}/unreblog")
    wait_for(lambda: boosted() is None, SYNC, what="the boost gone after bob's undo")
    # A boost of a followers-only post cannot be made; a boost by someone
    # nobody on A follows does not reach A's homes.
    dave = signup(b, "dave")
    d = carol.post("another")
    dave.req("POST", f"/api/v1/statuses/{d['id']}/reblog")
    bob.req("POST", f"/api/v1/statuses/{c['id']}/reblog")
    wait_for(boosted, SYNC, what="bob's second boost")
    assert not any(x.get("reblog") and x["reblog"]["uri"] == d["uri"]
                   for x in alice.req("GET", "/api/v1/timelines/home").json())


def test_search_by_a_posts_page_url(make_kithd, tmp_path):
    """Mastodon's page URL (/@name/ID) answers with the Note whose id is
    another URL: the search finds the status all the same."""
    from test_federation import Peer
    peer = Peer(tmp_path)
    try:
        k = start(make_kithd, "k")
        alice = signup(k, "alice")
        note = {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{peer.actor}/statuses/1", "type": "Note", "attributedTo": peer.actor,
                "content": "<p>found by its page</p>", "url": f"{peer.base}/@bob/1",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "published": "2026-11-26T00:00:00Z"}
        peer.docs["/@bob/1"] = note
        r = alice.req("GET", "/api/v2/search?resolve=true&type=statuses&q=" +
                      urllib.parse.quote(f"{peer.base}/@bob/1"))
        assert r.status == 200, r
        assert [s["uri"] for s in r.json()["statuses"]] == [note["id"]], r.json()
        # An actor by its URL, found the same way.
        r = alice.req("GET", "/api/v2/search?resolve=true&type=accounts&q=" +
                      urllib.parse.quote(peer.actor))
        assert [a["acct"] for a in r.json()["accounts"]] == [f"bob@127.0.0.1:{peer.port}"]
    finally:
        peer.close()


def test_pins_are_added_to_the_featured_collection(make_kithd, tmp_path):
    """Pinning sends Add (unpinning Remove) of the note to the person's
    featured collection, to their followers."""
    import json

    from test_federation import Peer
    peer = Peer(tmp_path)
    try:
        k = start(make_kithd, "k")
        alice = signup(k, "alice")
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                           "id": f"{peer.base}/follows/1", "type": "Follow", "actor": peer.actor,
                           "object": f"http://127.0.0.1:{k.port}/u/alice"}).encode()
        r = k.http("POST", "/u/alice/inbox", headers=peer.sign(k.port, "/u/alice/inbox", body),
                   body=body)
        assert r.status == 202, r
        wait_for(lambda: peer.activities("Accept"), SYNC, what="alice accepting the peer")
        s = alice.post("worth pinning")
        assert alice.req("POST", f"/api/v1/statuses/{s['id']}/pin").json()["pinned"] is True
        featured = f"http://127.0.0.1:{k.port}/u/alice/featured"
        add = wait_for(lambda: peer.activities("Add"), SYNC, what="the Add at the follower")[0]
        assert add["object"] == s["uri"] and add["target"] == featured
        assert add["actor"] == f"http://127.0.0.1:{k.port}/u/alice"
        # Pinning again sends nothing more; unpinning sends Remove.
        alice.req("POST", f"/api/v1/statuses/{s['id']}/pin")
        alice.req("POST", f"/api/v1/statuses/{s['id']}/unpin")
        rm = wait_for(lambda: peer.activities("Remove"), SYNC, what="the Remove")[0]
        assert rm["object"] == s["uri"] and rm["target"] == featured
        assert len(peer.activities("Add")) == 1
    finally:
        peer.close()
