"""Statuses through the Mastodon API (issue 8): posting with visibility,
content warning, language and Idempotency-Key; reading, threads, edits
and their history, deletes; favourites, boosts, bookmarks and pins; the
home timeline as an index with Mastodon's pagination; a status that
mentions a community posts into it. Every response is checked against
entities.json."""

import json
import re
import urllib.parse

import pytest

from conftest import wait_for
from entities import check


def form(d):
    return urllib.parse.urlencode(d, doseq=True).encode()


class Client:
    def __init__(self, k, token):
        self.k, self.token = k, token

    def req(self, method, path, data=None, headers=None, as_json=False):
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        body = b""
        if data is not None:
            if as_json:
                body = json.dumps(data).encode()
                h["Content-Type"] = "application/json"
            else:
                body = form(data)
                h["Content-Type"] = "application/x-www-form-urlencoded"
        return self.k.http(method, path, headers=h, body=body)

    def post(self, text, **kw):
        r = self.req("POST", "/api/v1/statuses", {"status": text, **kw})
        assert r.status == 200, r
        check("Status", r.json())
        return r.json()


def signup(k, name, scope="read write follow"):
    pw = f"pw-for-{name}-123"
    assert k.ctl("user", "add", name, "--password-stdin", input=pw + "\n").returncode == 0
    r = k.http("POST", "/api/v1/apps", headers={"Content-Type": "application/x-www-form-urlencoded"},
               body=form({"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                          "scopes": "read write follow push"}))
    app = r.json()
    r = k.http("POST", "/oauth/token", headers={"Content-Type": "application/x-www-form-urlencoded"},
               body=form({"grant_type": "password", "client_id": app["client_id"],
                          "client_secret": app["client_secret"], "scope": scope,
                          "username": name, "password": pw}))
    assert r.status == 200, r
    return Client(k, r.json()["access_token"])


@pytest.fixture
def k(kithd):
    return kithd


def test_post_read_and_thread(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    s = alice.post("Hello #kith world, @bob!", spoiler_text="greetings", language="en",
                   visibility="unlisted")
    assert s["visibility"] == "unlisted" and s["spoiler_text"] == "greetings"
    assert s["sensitive"] is True and s["language"] == "en"
    assert s["account"]["username"] == "alice"
    assert [m["acct"] for m in s["mentions"]] == ["bob"]
    check("StatusMention", s["mentions"][0])
    assert [t["name"] for t in s["tags"]] == ["kith"]
    assert 'class="u-url mention"' in s["content"] and "#<span>kith</span>" in s["content"]
    assert s["favourited"] is False and s["reblogged"] is False and s["pinned"] is False
    r = bob.req("GET", f"/api/v1/statuses/{s['id']}")
    assert r.status == 200 and r.json()["id"] == s["id"]
    # Anyone may read a public status, without a token too.
    assert k.http("GET", f"/api/v1/statuses/{s['id']}").status == 200
    # Bob was mentioned: a notification waits (kithctl shows it).
    out = k.ctl("act", "bob", "notifications").stdout
    assert "mention" in out

    reply = bob.post("@alice hi back", in_reply_to_id=s["id"])
    assert reply["in_reply_to_id"] == s["id"]
    assert reply["in_reply_to_account_id"] == s["account"]["id"]
    assert reply["visibility"] == "public"
    deeper = alice.post("and again", in_reply_to_id=reply["id"])
    ctx = bob.req("GET", f"/api/v1/statuses/{deeper['id']}/context").json()
    check("Context", ctx)
    assert [x["id"] for x in ctx["ancestors"]] == [s["id"], reply["id"]]
    ctx = bob.req("GET", f"/api/v1/statuses/{s['id']}/context").json()
    assert [x["id"] for x in ctx["descendants"]] == [reply["id"], deeper["id"]]
    assert bob.req("GET", f"/api/v1/statuses/{s['id']}").json()["replies_count"] == 1


def test_refusals_are_clear(k):
    alice = signup(k, "alice")
    for data, code in [({"status": ""}, 422), ({"status": "x" * 5001}, 422),
                       ({"status": "hi", "visibility": "secret"}, 422),
                       ({"status": "hi", "in_reply_to_id": "999"}, 404),
                       ({"status": "hi", "language": "English"}, 422),
                       ({"status": "hi", "media_ids[]": "1"}, 422),
                       ({"status": "hi", "poll[options][]": ["a", "b"]}, 422),  # no expires_in
                       ({"status": "@nobody hi", "visibility": "direct"}, 422)]:
        r = alice.req("POST", "/api/v1/statuses", data)
        assert r.status == code, (data, r)
        assert r.json()["error"], r
    assert k.http("POST", "/api/v1/statuses", body=b"status=x").status == 401
    reader = signup(k, "reader", scope="read")
    assert reader.req("POST", "/api/v1/statuses", {"status": "x"}).status == 403
    assert alice.req("GET", "/api/v1/statuses/12345").status == 404
    assert alice.req("GET", "/api/v1/statuses/abc").status == 404


def test_idempotency_key_returns_the_first_status(k):
    alice = signup(k, "alice")
    h = {"Idempotency-Key": "abc-123"}
    r1 = alice.req("POST", "/api/v1/statuses", {"status": "once"}, headers=h)
    r2 = alice.req("POST", "/api/v1/statuses", {"status": "once"}, headers=h)
    assert r1.status == r2.status == 200
    assert r1.json()["id"] == r2.json()["id"]
    r3 = alice.req("POST", "/api/v1/statuses", {"status": "once"},
                   headers={"Idempotency-Key": "other"})
    assert r3.json()["id"] != r1.json()["id"]
    # Per person: the same key from someone else is a new status.
    bob = signup(k, "bob")
    assert bob.req("POST", "/api/v1/statuses", {"status": "once"}, headers=h).json()["id"] \
        != r1.json()["id"]


def test_json_body_and_direct_messages(k):
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    r = alice.req("POST", "/api/v1/statuses",
                  {"status": "@bob secret", "visibility": "direct", "sensitive": True},
                  as_json=True)
    assert r.status == 200, r
    dm = r.json()
    assert dm["visibility"] == "direct" and dm["sensitive"] is True
    assert bob.req("GET", f"/api/v1/statuses/{dm['id']}").status == 200
    assert carol.req("GET", f"/api/v1/statuses/{dm['id']}").status == 404
    assert k.http("GET", f"/api/v1/statuses/{dm['id']}").status == 404
    # The DM is in Bob's home, not Carol's.
    home = [s["id"] for s in bob.req("GET", "/api/v1/timelines/home").json()]
    assert dm["id"] in home
    assert dm["id"] not in [s["id"] for s in carol.req("GET", "/api/v1/timelines/home").json()]
    # A reply keeps the conversation direct.
    rep = bob.post("got it", in_reply_to_id=dm["id"], visibility="direct")
    assert alice.req("GET", f"/api/v1/statuses/{rep['id']}").status == 200
    assert carol.req("GET", f"/api/v1/statuses/{rep['id']}").status == 404


def test_edit_history_source_and_delete(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    s = alice.post("first words")
    assert s["edited_at"] is None
    r = alice.req("PUT", f"/api/v1/statuses/{s['id']}", {"status": "second words",
                                                       "spoiler_text": "cw"})
    assert r.status == 200, r
    e = r.json()
    check("Status", e)
    assert "second words" in e["content"] and e["edited_at"] and e["spoiler_text"] == "cw"
    src = alice.req("GET", f"/api/v1/statuses/{s['id']}/source").json()
    check("StatusSource", src)
    assert src == {"id": s["id"], "text": "second words", "spoiler_text": "cw"}
    hist = alice.req("GET", f"/api/v1/statuses/{s['id']}/history").json()
    assert len(hist) == 2
    for h in hist:
        check("StatusEdit", h)
    assert "first words" in hist[0]["content"] and "second words" in hist[1]["content"]
    # Only the author edits or deletes.
    assert bob.req("PUT", f"/api/v1/statuses/{s['id']}", {"status": "mine"}).status == 403
    assert bob.req("DELETE", f"/api/v1/statuses/{s['id']}").status == 403
    r = alice.req("DELETE", f"/api/v1/statuses/{s['id']}")
    assert r.status == 200, r
    assert r.json()["text"] == "second words"
    assert alice.req("GET", f"/api/v1/statuses/{s['id']}").status == 404
    assert alice.req("DELETE", f"/api/v1/statuses/{s['id']}").status == 404


def test_favourite_reblog_bookmark_pin(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    s = alice.post("boost me")
    r = bob.req("POST", f"/api/v1/statuses/{s['id']}/favourite")
    assert r.status == 200 and r.json()["favourited"] is True
    assert r.json()["favourites_count"] == 1
    fav_by = bob.req("GET", f"/api/v1/statuses/{s['id']}/favourited_by").json()
    assert [a["username"] for a in fav_by] == ["bob"]
    check("Account", fav_by[0])
    r = bob.req("POST", f"/api/v1/statuses/{s['id']}/unfavourite")
    assert r.json()["favourited"] is False and r.json()["favourites_count"] == 0

    r = bob.req("POST", f"/api/v1/statuses/{s['id']}/reblog")
    assert r.status == 200, r
    wrap = r.json()
    check("Status", wrap)
    check("Status", wrap["reblog"])
    assert wrap["id"] != s["id"] and wrap["reblog"]["id"] == s["id"]
    assert wrap["account"]["username"] == "bob" and wrap["reblogged"] is True
    assert wrap["reblog"]["reblogs_count"] == 1
    # Boosting again is the same boost.
    assert bob.req("POST", f"/api/v1/statuses/{s['id']}/reblog").json()["id"] == wrap["id"]
    # The wrapper is a status of its own.
    assert bob.req("GET", f"/api/v1/statuses/{wrap['id']}").json()["reblog"]["id"] == s["id"]
    by = alice.req("GET", f"/api/v1/statuses/{s['id']}/reblogged_by").json()
    assert [a["username"] for a in by] == ["bob"]
    home = [x["id"] for x in bob.req("GET", "/api/v1/timelines/home").json()]
    assert wrap["id"] in home
    r = bob.req("POST", f"/api/v1/statuses/{s['id']}/unreblog")
    assert r.status == 200 and r.json()["reblogged"] is False and r.json()["id"] == s["id"]
    assert bob.req("GET", f"/api/v1/statuses/{wrap['id']}").status == 404
    assert "reblog" in k.ctl("act", "alice", "notifications").stdout
    assert "favourite" in k.ctl("act", "alice", "notifications").stdout

    r = bob.req("POST", f"/api/v1/statuses/{s['id']}/bookmark")
    assert r.status == 200 and r.json()["bookmarked"] is True
    marks = bob.req("GET", "/api/v1/bookmarks").json()
    assert [x["id"] for x in marks] == [s["id"]]
    bob.req("POST", f"/api/v1/statuses/{s['id']}/unbookmark")
    assert bob.req("GET", "/api/v1/bookmarks").json() == []

    assert bob.req("POST", f"/api/v1/statuses/{s['id']}/pin").status == 422
    r = alice.req("POST", f"/api/v1/statuses/{s['id']}/pin")
    assert r.status == 200 and r.json()["pinned"] is True
    ids = [alice.post(f"pin {i}")["id"] for i in range(5)]
    for i in ids[:4]:
        assert alice.req("POST", f"/api/v1/statuses/{i}/pin").status == 200
    assert alice.req("POST", f"/api/v1/statuses/{ids[4]}/pin").status == 422
    # The pins are the person's featured collection (federation).
    feat = k.http("GET", "/u/alice/featured", headers={"Accept": "application/activity+json"}).json()
    pinned = [alice.req("GET", f"/api/v1/statuses/{i}").json()["uri"] for i in [s["id"]] + ids[:4]]
    assert feat["type"] == "OrderedCollection" and feat["totalItems"] == 5
    assert [o["id"] for o in feat["orderedItems"]] == pinned[::-1]
    r = alice.req("POST", f"/api/v1/statuses/{s['id']}/unpin")
    assert r.json()["pinned"] is False


def test_home_timeline_pagination_and_link_header(k):
    alice = signup(k, "alice")
    ids = [alice.post(f"number {i}")["id"] for i in range(7)]
    ids.reverse()  # newest first
    r = alice.req("GET", "/api/v1/timelines/home?limit=3")
    assert r.status == 200
    page = [s["id"] for s in r.json()]
    assert page == ids[:3]
    link = r.headers.get("link") or r.headers.get("Link")
    assert f"max_id={ids[2]}" in link and 'rel="next"' in link
    assert f"min_id={ids[0]}" in link and "limit=3" in link
    nxt = re.search(r"<([^>]+)>; rel=\"next\"", link).group(1)
    path = nxt[nxt.index("/api/"):]
    assert [s["id"] for s in alice.req("GET", path).json()] == ids[3:6]
    # since_id gives the newest page above the cursor; min_id the page right after it.
    assert [s["id"] for s in alice.req("GET", f"/api/v1/timelines/home?since_id={ids[5]}&limit=2").json()] == ids[:2]
    assert [s["id"] for s in alice.req("GET", f"/api/v1/timelines/home?min_id={ids[5]}&limit=2").json()] == ids[3:5]
    # Limits clamp; an empty page has no Link header.
    assert len(alice.req("GET", "/api/v1/timelines/home?limit=100").json()) == 7
    r = alice.req("GET", f"/api/v1/timelines/home?max_id={ids[-1]}")
    assert r.json() == [] and not (r.headers.get("link") or r.headers.get("Link"))
    assert k.http("GET", "/api/v1/timelines/home").status == 401


def test_status_mentioning_a_community_posts_into_it(k):
    assert k.ctl("community", "add", "cats", "--owner", "admin").returncode == 0, "community"
    alice, bob = signup(k, "alice"), signup(k, "bob")
    s = alice.post("@cats Look at my cat\nShe is very fluffy.")
    assert s["content"].count("Look at my cat") == 1, s["content"]
    assert [m["acct"] for m in s["mentions"]] == ["cats"]
    assert 'class="u-url mention">@<span>cats</span>' in s["content"]
    assert s["uri"].rsplit("/", 2)[-2] == "post"
    ctx_url = s["uri"]
    r = k.http("GET", urllib.parse.urlparse(ctx_url).path,
               headers={"Accept": "application/activity+json"})
    page = r.json()
    assert page["type"] == "Page" and page["name"] == "Look at my cat", page
    # A reply to it is a comment.
    c = bob.post("so fluffy", in_reply_to_id=s["id"])
    assert c["uri"].rsplit("/", 2)[-2] == "comment"
    # Favouriting the post is an up vote.
    r = bob.req("POST", f"/api/v1/statuses/{s['id']}/favourite")
    assert r.json()["favourites_count"] == 1


def test_public_and_tag_timelines(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    a1 = alice.post("first #Cats post")
    b1 = bob.post("second, about #cats and #dogs")
    alice.post("unlisted #cats", visibility="unlisted")
    alice.post("private #cats", visibility="private")
    reply = bob.post("a reply #cats", in_reply_to_id=a1["id"])
    ids = lambda path: [s["id"] for s in k.http("GET", path).json()]
    # Public: public posts, not replies to others; no token needed.
    assert ids("/api/v1/timelines/public") == [b1["id"], a1["id"]]
    assert ids("/api/v1/timelines/public?local=true") == [b1["id"], a1["id"]]
    assert ids("/api/v1/timelines/public?remote=true") == []
    assert ids("/api/v1/timelines/public?limit=1") == [b1["id"]]
    assert ids("/api/v1/timelines/public?only_media=true") == []
    # Tags: any case; replies too; public only.
    assert ids("/api/v1/timelines/tag/CATS") == [reply["id"], b1["id"], a1["id"]]
    assert ids("/api/v1/timelines/tag/cats?all[]=dogs") == [b1["id"]]
    assert ids("/api/v1/timelines/tag/cats?none[]=dogs") == [reply["id"], a1["id"]]
    assert ids("/api/v1/timelines/tag/nothing") == []
    r = k.http("GET", "/api/v1/timelines/tag/cats?limit=2")
    assert 'rel="next"' in r.headers.get("link", r.headers.get("Link", ""))
    for s in r.json():
        check("Status", s)
        check("Tag", s["tags"][0])
    # A deleted post leaves.
    alice.req("DELETE", f"/api/v1/statuses/{a1['id']}")
    assert ids("/api/v1/timelines/public") == [b1["id"]]


def test_followed_tags_fill_the_home_timeline(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    r = alice.req("GET", "/api/v1/tags/Kith")
    assert r.status == 200 and r.json()["following"] is False
    check("Tag", r.json())
    r = alice.req("POST", "/api/v1/tags/Kith/follow")
    assert r.status == 200 and r.json()["following"] is True
    s = bob.post("news about #kith")
    other = bob.post("news about #other")
    home = [x["id"] for x in alice.req("GET", "/api/v1/timelines/home").json()]
    assert s["id"] in home and other["id"] not in home
    assert [t["name"] for t in alice.req("GET", "/api/v1/followed_tags").json()] == ["kith"]
    assert alice.req("POST", "/api/v1/tags/kith/unfollow").json()["following"] is False
    assert alice.req("GET", "/api/v1/followed_tags").json() == []
    assert alice.req("GET", "/api/v1/tags/bad%20tag").status == 404
    # Search finds the tags of public posts by prefix, # or not, any case.
    bob.post("#kitchen and #Kithara, and #cats")
    alice.req("POST", "/api/v1/tags/kithara/follow")
    for q in ("kit", "%23KIT"):
        r = alice.req("GET", f"/api/v2/search?type=hashtags&q={q}")
        assert r.status == 200, r
        tags = r.json()["hashtags"]
        assert [t["name"] for t in tags] == ["kitchen", "kith", "kithara"], tags
        for t in tags:
            check("Tag", t)
        assert [t["following"] for t in tags] == [False, False, True]
    assert [t["name"] for t in alice.req(
        "GET", "/api/v2/search?type=hashtags&q=kit&limit=1&offset=1").json()["hashtags"]] == ["kith"]
    assert [t["name"] for t in k.http("GET", "/api/v2/search?q=cat").json()["hashtags"]] == ["cats"]
    assert alice.req("GET", "/api/v2/search?q=nothing-here").json()["hashtags"] == []


def test_polls(k):
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    r = alice.req("POST", "/api/v1/statuses",
                  {"status": "Cats or dogs?", "poll": {"options": ["Cats", "Dogs", "Both"],
                                                       "expires_in": 3600}}, as_json=True)
    assert r.status == 200, r
    s = r.json()
    check("Status", s)
    poll = s["poll"]
    check("Poll", poll)
    assert [o["title"] for o in poll["options"]] == ["Cats", "Dogs", "Both"]
    assert poll["multiple"] is False and poll["expired"] is False and poll["votes_count"] == 0
    assert poll["voted"] is True  # one's own poll counts as voted, as in Mastodon
    pid = poll["id"]
    r = bob.req("POST", f"/api/v1/polls/{pid}/votes", {"choices[]": "1"})
    assert r.status == 200, r
    p = r.json()
    assert p["voted"] is True and p["own_votes"] == [1] and p["votes_count"] == 1
    assert p["options"][1]["votes_count"] == 1
    # Once only; one choice in a single-choice poll; not one's own; valid options.
    assert bob.req("POST", f"/api/v1/polls/{pid}/votes", {"choices[]": "0"}).status == 422
    assert carol.req("POST", f"/api/v1/polls/{pid}/votes", {"choices[]": ["0", "1"]}).status == 422
    assert carol.req("POST", f"/api/v1/polls/{pid}/votes", {"choices[]": "7"}).status == 422
    assert alice.req("POST", f"/api/v1/polls/{pid}/votes", {"choices[]": "0"}).status == 422
    got = carol.req("GET", f"/api/v1/polls/{pid}").json()
    assert got["voted"] is False and got["own_votes"] == [] and got["votes_count"] == 1
    assert carol.req("GET", "/api/v1/polls/123").status == 404
    # hide_totals: others see no option counts until it ends; its author does.
    h = alice.post("Secret ballot", **{"poll[options][]": ["x", "y"], "poll[expires_in]": "600",
                                       "poll[hide_totals]": "true"})["poll"]
    bob.req("POST", f"/api/v1/polls/{h['id']}/votes", {"choices[]": "0"})
    seen = carol.req("GET", f"/api/v1/polls/{h['id']}").json()
    check("Poll", seen)
    assert [o["votes_count"] for o in seen["options"]] == [None, None]
    assert [o["votes_count"] for o in alice.req(
        "GET", f"/api/v1/polls/{h['id']}").json()["options"]] == [1, 0]
    # A multiple-choice poll.
    m = alice.post("Pick any", **{"poll[options][]": ["a", "b", "c"], "poll[expires_in]": "600",
                                  "poll[multiple]": "true"})["poll"]
    r = carol.req("POST", f"/api/v1/polls/{m['id']}/votes", {"choices[]": ["0", "2"]})
    assert r.status == 200 and r.json()["own_votes"] == [0, 2] and r.json()["voters_count"] == 1
    # Bad polls.
    for poll in ({"options": ["one"], "expires_in": 600},
                 {"options": ["a", "b", "c", "d", "e"], "expires_in": 600},
                 {"options": ["a", "a"], "expires_in": 600},
                 {"options": ["a", "b"], "expires_in": 10},
                 {"options": ["a", "x" * 51], "expires_in": 600}):
        r = alice.req("POST", "/api/v1/statuses", {"status": "q", "poll": poll}, as_json=True)
        assert r.status == 422, (poll, r)
    # Federated as a Question with its counts.
    q = k.http("GET", s["uri"][s["uri"].index("/note/"):],
               headers={"Accept": "application/activity+json"}).json()
    assert q["type"] == "Question" and [o["name"] for o in q["oneOf"]] == ["Cats", "Dogs", "Both"]
    assert q["oneOf"][1]["replies"]["totalItems"] == 1 and q["endTime"]


def test_rate_limit_headers(k):
    alice = signup(k, "alice")
    r1 = alice.req("GET", "/api/v1/timelines/home")
    r2 = alice.req("GET", "/api/v1/timelines/home")
    h1 = {k_.lower(): v for k_, v in r1.headers.items()}
    h2 = {k_.lower(): v for k_, v in r2.headers.items()}
    assert h1["x-ratelimit-limit"] == "3000"
    assert int(h2["x-ratelimit-remaining"]) < int(h1["x-ratelimit-remaining"]) <= 3000
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", h1["x-ratelimit-reset"])
    # Not on the pages and the ActivityPub side.
    assert "x-ratelimit-limit" not in {x.lower() for x in k.http("GET", "/health").headers}


def test_conversations(k):
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    dm = alice.post("@bob @carol a secret plan", visibility="direct")
    convs = bob.req("GET", "/api/v1/conversations").json()
    assert len(convs) == 1
    c = convs[0]
    check("Conversation", c)
    assert c["unread"] is True and c["last_status"]["id"] == dm["id"]
    assert sorted(a["username"] for a in c["accounts"]) == ["alice", "carol"]
    # A reply moves the conversation on; the writer's own copy is read.
    reply = bob.post("@alice @carol count me in", in_reply_to_id=dm["id"], visibility="direct")
    mine = bob.req("GET", "/api/v1/conversations").json()
    assert mine[0]["last_status"]["id"] == reply["id"] and mine[0]["unread"] is False
    theirs = alice.req("GET", "/api/v1/conversations").json()
    assert [x["id"] for x in theirs] == [c["id"]] and theirs[0]["unread"] is True
    r = alice.req("POST", f"/api/v1/conversations/{c['id']}/read")
    assert r.status == 200 and r.json()["unread"] is False
    assert alice.req("DELETE", f"/api/v1/conversations/{c['id']}").status == 200
    assert alice.req("GET", "/api/v1/conversations").json() == []
    assert alice.req("DELETE", f"/api/v1/conversations/{c['id']}").status == 404
    # Public statuses make no conversation.
    alice.post("@bob in public")
    assert len(bob.req("GET", "/api/v1/conversations").json()) == 1


def test_filters_v2(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    bob_id = alice.req("GET", "/api/v1/accounts/lookup?acct=bob").json()["id"]
    alice.req("POST", f"/api/v1/accounts/{bob_id}/follow")
    r = alice.req("POST", "/api/v2/filters", {
        "title": "Spoilers", "context": ["home", "public"], "filter_action": "warn",
        "keywords_attributes": [{"keyword": "finale", "whole_word": True},
                                {"keyword": "SPOIL", "whole_word": False}]}, as_json=True)
    assert r.status == 200, r
    f = r.json()
    check("FilterV2", f)
    assert [kw["keyword"] for kw in f["keywords"]] == ["finale", "SPOIL"]
    check("FilterKeyword", f["keywords"][0])
    s1 = bob.post("The finale was great")
    s2 = bob.post("no spoilers here")  # "spoil" inside a word, not whole-word
    s3 = bob.post("finales are long")  # "finale" only whole words
    home = {s["id"]: s for s in alice.req("GET", "/api/v1/timelines/home").json()}
    fl = home[s1["id"]]["filtered"]
    assert len(fl) == 1 and fl[0]["keyword_matches"] == ["finale"]
    check("FilterResult", fl[0])
    assert [m for m in home[s2["id"]]["filtered"][0]["keyword_matches"]] == ["SPOIL"]
    assert home[s3["id"]]["filtered"] == []
    # Hide: gone from the home timeline; another context is untouched.
    r = alice.req("PUT", f"/api/v2/filters/{f['id']}", {"filter_action": "hide",
                                                       "context[]": ["home"]})
    assert r.status == 200 and r.json()["filter_action"] == "hide", r
    ids = [s["id"] for s in alice.req("GET", "/api/v1/timelines/home").json()]
    assert s1["id"] not in ids and s2["id"] not in ids and s3["id"] in ids
    assert s1["id"] in [s["id"] for s in alice.req("GET", "/api/v1/timelines/public").json()]
    # Keywords edited by id; destroyed; the filter deleted.
    kid = f["keywords"][1]["id"]
    r = alice.req("PUT", f"/api/v2/filters/{f['id']}",
                  {"keywords_attributes[0][id]": kid, "keywords_attributes[0][_destroy]": "true"})
    assert [kw["keyword"] for kw in r.json()["keywords"]] == ["finale"]
    assert [x["id"] for x in alice.req("GET", "/api/v2/filters").json()] == [f["id"]]
    assert bob.req("GET", f"/api/v2/filters/{f['id']}").status == 404
    for bad in ({"title": "", "context[]": "home"}, {"title": "x", "context[]": "nowhere"},
                {"title": "x", "context[]": "home", "filter_action": "explode"}):
        assert alice.req("POST", "/api/v2/filters", bad).status == 422, bad
    assert alice.req("DELETE", f"/api/v2/filters/{f['id']}").status == 200
    assert alice.req("GET", "/api/v2/filters").json() == []


def test_filter_keywords_statuses_and_v1(k):
    """A filter's keywords and statuses by their own routes (Ice Cubes,
    Tusky), and filters v1 (Sengi, older Tusky): one filter a keyword."""
    alice, bob = signup(k, "alice"), signup(k, "bob")
    bob_id = alice.req("GET", "/api/v1/accounts/lookup?acct=bob").json()["id"]
    alice.req("POST", f"/api/v1/accounts/{bob_id}/follow")
    f = alice.req("POST", "/api/v2/filters", {"title": "Noise", "context[]": ["home"]}).json()
    r = alice.req("POST", f"/api/v2/filters/{f['id']}/keywords",
                  {"keyword": "crypto", "whole_word": "false"})
    assert r.status == 200, r
    kw = r.json()
    check("FilterKeyword", kw)
    assert kw["keyword"] == "crypto" and kw["whole_word"] is False
    assert [x["id"] for x in alice.req("GET", f"/api/v2/filters/{f['id']}/keywords").json()] == \
        [kw["id"]]
    r = alice.req("PUT", f"/api/v2/filters/keywords/{kw['id']}", {"keyword": "nft"})
    assert r.status == 200 and r.json()["keyword"] == "nft" and r.json()["whole_word"] is False
    assert alice.req("GET", f"/api/v2/filters/keywords/{kw['id']}").json()["keyword"] == "nft"
    assert bob.req("GET", f"/api/v2/filters/keywords/{kw['id']}").status == 404
    assert alice.req("POST", f"/api/v2/filters/{f['id']}/keywords", {"keyword": ""}).status == 422
    # A status filtered by id.
    loud = bob.post("a loud status")
    quiet = bob.post("about nfts")
    r = alice.req("POST", f"/api/v2/filters/{f['id']}/statuses", {"status_id": loud["id"]})
    assert r.status == 200, r
    fs = r.json()
    check("FilterStatus", fs)
    assert fs["status_id"] == loud["id"]
    assert alice.req("POST", f"/api/v2/filters/{f['id']}/statuses",
                     {"status_id": loud["id"]}).status == 422
    assert alice.req("POST", f"/api/v2/filters/{f['id']}/statuses",
                     {"status_id": "12345"}).status == 422
    # A boost's id filters the post it shows.
    echo = alice.post("echo me")
    boost = bob.req("POST", f"/api/v1/statuses/{echo['id']}/reblog").json()
    r = alice.req("POST", f"/api/v2/filters/{f['id']}/statuses", {"status_id": boost["id"]})
    assert r.status == 200 and r.json()["status_id"] == echo["id"], r
    alice.req("DELETE", f"/api/v2/filters/statuses/{r.json()['id']}")
    home = {s["id"]: s for s in alice.req("GET", "/api/v1/timelines/home").json()}
    assert home[loud["id"]]["filtered"][0]["status_matches"] == [loud["id"]]
    assert home[quiet["id"]]["filtered"][0]["keyword_matches"] == ["nft"]
    check("FilterV2", alice.req("GET", f"/api/v2/filters/{f['id']}").json())
    assert alice.req("GET", f"/api/v2/filters/statuses/{fs['id']}").json() == fs
    assert [x["id"] for x in alice.req("GET", f"/api/v2/filters/{f['id']}/statuses").json()] == \
        [fs["id"]]
    assert alice.req("DELETE", f"/api/v2/filters/statuses/{fs['id']}").status == 200
    assert alice.req("DELETE", f"/api/v2/filters/keywords/{kw['id']}").status == 200
    g = alice.req("GET", f"/api/v2/filters/{f['id']}").json()
    assert g["keywords"] == [] and g["statuses"] == []
    # Filters v1.
    r = alice.req("POST", "/api/v1/filters", {"phrase": "election", "context[]": ["home", "public"],
                                              "irreversible": "true", "whole_word": "true"})
    assert r.status == 200, r
    v1 = r.json()
    check("Filter", v1)
    assert v1["phrase"] == "election" and v1["irreversible"] is True
    assert sorted(v1["context"]) == ["home", "public"] and v1["expires_at"] is None
    v2 = [x for x in alice.req("GET", "/api/v2/filters").json() if x["title"] == "election"]
    assert v2 and v2[0]["filter_action"] == "hide" and v2[0]["keywords"][0]["id"] == v1["id"]
    gone = bob.post("the election results")
    assert gone["id"] not in [s["id"] for s in alice.req("GET", "/api/v1/timelines/home").json()]
    assert [x["id"] for x in alice.req("GET", "/api/v1/filters").json()] == [v1["id"]]
    r = alice.req("PUT", f"/api/v1/filters/{v1['id']}", {"phrase": "elections",
                                                         "irreversible": "false",
                                                         "expires_in": "3600"})
    assert r.status == 200, r
    assert r.json()["phrase"] == "elections" and r.json()["irreversible"] is False
    assert r.json()["expires_at"] is not None
    assert alice.req("GET", f"/api/v1/filters/{v1['id']}").json()["phrase"] == "elections"
    assert alice.req("POST", "/api/v1/filters", {"phrase": "x"}).status == 422  # no context
    assert alice.req("DELETE", f"/api/v1/filters/{v1['id']}").status == 200
    assert alice.req("GET", "/api/v1/filters").json() == []
    assert [x["title"] for x in alice.req("GET", "/api/v2/filters").json()] == ["Noise"]


def test_scheduled_statuses(make_kithd):
    """scheduled_at keeps the status for later (a ScheduledStatus answers);
    it can be listed, moved and cancelled; when due it is published as if
    posted then, mentions and poll included."""
    import datetime
    import time

    k = make_kithd(extra=["scheduled_min_lead = 2s"])
    k.start()
    alice, bob = signup(k, "alice"), signup(k, "bob")

    def at(secs):
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=secs)
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    r = alice.req("POST", "/api/v1/statuses", {"status": "too soon", "scheduled_at": at(1)})
    assert r.status == 422 and "future" in r.json()["error"], r
    r = alice.req("POST", "/api/v1/statuses", {"status": "x", "scheduled_at": "tomorrow"})
    assert r.status == 422, r
    later = alice.req("POST", "/api/v1/statuses", {"status": "much later", "scheduled_at": at(3600),
                                                   "visibility": "unlisted",
                                                   "spoiler_text": "cw"})
    assert later.status == 200, later
    sch = later.json()
    check("ScheduledStatus", {**sch, "params": {**sch["params"], "poll": None}})
    assert sch["params"]["text"] == "much later" and sch["params"]["visibility"] == "unlisted"
    assert sch["params"]["spoiler_text"] == "cw" and sch["params"]["poll"] is None
    assert sch["media_attachments"] == [] and sch["params"]["media_ids"] is None
    soon = alice.req("POST", "/api/v1/statuses", {
        "status": "@bob soon", "scheduled_at": at(4),
        "poll[options][]": ["yes", "no"], "poll[expires_in]": "600"}).json()
    assert soon["params"]["poll"] == {"options": ["yes", "no"], "expires_in": 600,
                                      "multiple": False, "hide_totals": False}
    listed = alice.req("GET", "/api/v1/scheduled_statuses").json()
    assert [s["id"] for s in listed] == [soon["id"], sch["id"]]
    assert bob.req("GET", f"/api/v1/scheduled_statuses/{sch['id']}").status == 404
    assert alice.req("GET", f"/api/v1/scheduled_statuses/{sch['id']}").json()["id"] == sch["id"]
    # Moved, then cancelled.
    r = alice.req("PUT", f"/api/v1/scheduled_statuses/{sch['id']}", {"scheduled_at": at(7200)})
    assert r.status == 200 and r.json()["scheduled_at"] > sch["scheduled_at"], r
    assert alice.req("PUT", f"/api/v1/scheduled_statuses/{sch['id']}",
                     {"scheduled_at": at(1)}).status == 422
    assert alice.req("DELETE", f"/api/v1/scheduled_statuses/{sch['id']}").status == 200
    assert alice.req("GET", f"/api/v1/scheduled_statuses/{sch['id']}").status == 404
    # Not posted yet; then published when due, bob mentioned, the poll open.
    assert not [s for s in alice.req("GET", "/api/v1/accounts/" + alice.req(
        "GET", "/api/v1/accounts/verify_credentials").json()["id"] + "/statuses").json()]

    def published():
        notes = bob.req("GET", "/api/v1/notifications").json()
        return [n["status"] for n in notes if n["type"] == "mention"]
    st = wait_for(published, 20, what="the scheduled status published")[0]
    check("Status", st)
    assert "soon" in st["content"] and st["poll"]["expired"] is False
    assert [o["title"] for o in st["poll"]["options"]] == ["yes", "no"]
    assert alice.req("GET", "/api/v1/scheduled_statuses").json() == []
    # A time already past posts at once.
    r = alice.req("POST", "/api/v1/statuses", {"status": "now", "scheduled_at": at(-60)})
    assert r.status == 200 and r.json()["content"] == "<p>now</p>", r


def test_muting_a_conversation(k):
    """POST /statuses/:id/mute: no more notifications from that thread (the
    status shows muted); unmute brings them back; other threads unaffected."""
    alice, bob = signup(k, "alice"), signup(k, "bob")
    root = alice.post("a thread of mine")
    r = alice.req("POST", f"/api/v1/statuses/{root['id']}/mute")
    assert r.status == 200 and r.json()["muted"] is True, r
    check("Status", r.json())
    reply = bob.post("@alice a reply in the muted thread", in_reply_to_id=root["id"])
    bob.req("POST", f"/api/v1/statuses/{root['id']}/favourite")
    bob.post("@alice elsewhere")
    kinds = [(n["type"], n["status"]["id"]) for n in alice.req("GET", "/api/v1/notifications").json()]
    assert all(sid not in (root["id"], reply["id"]) for _, sid in kinds), kinds
    assert len(kinds) == 1 and kinds[0][0] == "mention"
    # The reply shows the thread muted too; unmuting brings notifications back.
    assert alice.req("GET", f"/api/v1/statuses/{reply['id']}").json()["muted"] is True
    r = alice.req("POST", f"/api/v1/statuses/{reply['id']}/unmute")
    assert r.status == 200 and r.json()["muted"] is False
    bob.post("@alice back again", in_reply_to_id=root["id"])
    assert len(alice.req("GET", "/api/v1/notifications").json()) == 2
    assert alice.req("POST", "/api/v1/statuses/999/mute").status == 404
