"""Accounts, relationships and notifications through the Mastodon API
(issue 8): following people and joining communities (a community is an
account with group: true; a private one answers with a follow request),
the home timeline filling from what one follows, profiles' statuses with
their filters, followers and following lists, and notifications with
types, exclude_types, get, dismiss and clear."""

import pytest

from entities import check
from test_statuses import signup


@pytest.fixture
def k(kithd):
    return kithd


def acct_id(c, name):
    r = c.req("GET", f"/api/v1/accounts/lookup?acct={name}")
    assert r.status == 200, r
    return r.json()["id"]


def test_follow_people_and_join_communities(k):
    assert k.ctl("community", "add", "cats", "--owner", "admin").returncode == 0
    assert k.ctl("community", "add", "club", "--owner", "admin").returncode == 0
    assert k.ctl("community", "private", "club", "on").returncode == 0
    alice, bob = signup(k, "alice"), signup(k, "bob")
    early = bob.post("before anyone followed")
    bob_id, cats, club = acct_id(alice, "bob"), acct_id(alice, "cats"), acct_id(alice, "club")

    r = alice.req("POST", f"/api/v1/accounts/{bob_id}/follow")
    assert r.status == 200, r
    rel = r.json()
    check("Relationship", rel)
    assert rel["following"] is True and rel["requested"] is False
    # What bob wrote before comes into alice's home; what he writes next too.
    later = bob.post("after")
    home = [s["id"] for s in alice.req("GET", "/api/v1/timelines/home").json()]
    assert early["id"] in home and later["id"] in home
    # Bob sees the follower; a notification says so.
    rels = bob.req("GET", f"/api/v1/accounts/relationships?id[]={acct_id(bob, 'alice')}").json()
    assert rels[0]["followed_by"] is True and rels[0]["following"] is False
    note = bob.req("GET", "/api/v1/notifications?types[]=follow").json()
    assert [n["type"] for n in note] == ["follow"]
    check("Notification", note[0])
    followers = bob.req("GET", f"/api/v1/accounts/{bob_id}/followers").json()
    assert [a["username"] for a in followers] == ["alice"]

    # Joining a community: its posts come as the community's boosts.
    before = bob.post("@cats an old post\nfrom before")
    r = alice.req("POST", f"/api/v1/accounts/{cats}/follow")
    assert r.json()["following"] is True
    fresh = bob.post("@cats A new post\nwith a body")
    home = alice.req("GET", "/api/v1/timelines/home").json()
    boosts = [s for s in home if s["reblog"] and s["account"]["id"] == cats]
    assert {s["reblog"]["id"] for s in boosts} == {before["id"], fresh["id"]}
    for s in boosts:
        check("Status", s)
        assert s["account"]["group"] is True
    group = alice.req("GET", f"/api/v1/accounts/{cats}").json()
    assert group["followers_count"] == 2  # the owner and alice
    # The community's own profile lists its boosts, even asked to exclude reblogs.
    st = alice.req("GET", f"/api/v1/accounts/{cats}/statuses?exclude_reblogs=true").json()
    assert [s["reblog"]["id"] for s in st] == [fresh["id"], before["id"]]
    following = alice.req("GET", f"/api/v1/accounts/{acct_id(alice, 'alice')}/following").json()
    assert sorted(a["username"] for a in following) == ["bob", "cats"]

    # A private community: a request first.
    r = alice.req("POST", f"/api/v1/accounts/{club}/follow")
    assert r.json()["following"] is False and r.json()["requested"] is True

    # Leaving and unfollowing take their posts out of the home timeline.
    assert alice.req("POST", f"/api/v1/accounts/{cats}/unfollow").json()["following"] is False
    assert alice.req("POST", f"/api/v1/accounts/{bob_id}/unfollow").json()["following"] is False
    assert alice.req("GET", "/api/v1/timelines/home").json() == []
    # Unfollowing again is fine; unknown accounts are 404; oneself is refused.
    assert alice.req("POST", f"/api/v1/accounts/{bob_id}/unfollow").status == 200
    assert alice.req("POST", "/api/v1/accounts/999/follow").status == 404
    me = acct_id(alice, "alice")
    r = alice.req("POST", f"/api/v1/accounts/{me}/follow")
    assert r.status == 422 and r.json()["error"]
    reader = signup(k, "reader", scope="read")
    assert reader.req("POST", f"/api/v1/accounts/{bob_id}/follow").status == 403


def test_profile_statuses_filters(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    me = acct_id(alice, "alice")
    top = alice.post("top level")
    other = bob.post("bob's")
    reply = alice.post("a reply", in_reply_to_id=other["id"])
    boost = alice.req("POST", f"/api/v1/statuses/{other['id']}/reblog").json()
    ids = lambda q="": [s["id"] for s in alice.req("GET", f"/api/v1/accounts/{me}/statuses{q}").json()]
    assert ids() == [boost["id"], reply["id"], top["id"]]
    assert ids("?exclude_replies=true") == [boost["id"], top["id"]]
    assert ids("?exclude_reblogs=true") == [reply["id"], top["id"]]
    assert ids("?limit=1") == [boost["id"]]
    assert ids(f"?max_id={reply['id']}") == [top["id"]]
    alice.req("POST", f"/api/v1/statuses/{top['id']}/pin")
    assert ids("?pinned=true") == [top["id"]]
    # Without a token, public statuses are shown.
    r = k.http("GET", f"/api/v1/accounts/{me}/statuses")
    assert r.status == 200 and len(r.json()) == 3


def test_notifications_list_get_dismiss_clear(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    s = alice.post("hello")
    bob.req("POST", f"/api/v1/statuses/{s['id']}/favourite")
    bob.req("POST", f"/api/v1/statuses/{s['id']}/reblog")
    bob.post("@alice hi", in_reply_to_id=s["id"])
    bob.req("POST", f"/api/v1/accounts/{acct_id(bob, 'alice')}/follow")
    r = alice.req("GET", "/api/v1/notifications")
    assert r.status == 200
    ns = r.json()
    assert [n["type"] for n in ns] == ["follow", "mention", "reblog", "favourite"]
    for n in ns:
        check("Notification", n)
        assert n["account"]["username"] == "bob"
    assert ns[1]["status"]["in_reply_to_id"] == s["id"]
    assert [n["type"] for n in alice.req(
        "GET", "/api/v1/notifications?exclude_types[]=follow&exclude_types[]=mention").json()] \
        == ["reblog", "favourite"]
    assert [n["type"] for n in alice.req(
        "GET", "/api/v1/notifications?types[]=favourite").json()] == ["favourite"]
    r = alice.req("GET", "/api/v1/notifications?limit=2")
    assert len(r.json()) == 2 and 'rel="next"' in (r.headers.get("link") or r.headers["Link"])
    assert [n["id"] for n in alice.req(
        "GET", f"/api/v1/notifications?max_id={ns[1]['id']}").json()] == [x["id"] for x in ns[2:]]
    assert [n["id"] for n in alice.req(
        "GET", f"/api/v1/notifications?min_id={ns[3]['id']}&limit=2").json()] == \
        [ns[1]["id"], ns[2]["id"]]
    one = alice.req("GET", f"/api/v1/notifications/{ns[0]['id']}")
    assert one.status == 200 and one.json()["id"] == ns[0]["id"]
    assert bob.req("GET", f"/api/v1/notifications/{ns[0]['id']}").status == 404
    assert alice.req("POST", f"/api/v1/notifications/{ns[0]['id']}/dismiss").status == 200
    assert alice.req("GET", f"/api/v1/notifications/{ns[0]['id']}").status == 404
    assert len(alice.req("GET", "/api/v1/notifications").json()) == 3
    assert alice.req("POST", "/api/v1/notifications/clear").status == 200
    assert alice.req("GET", "/api/v1/notifications").json() == []
    # A deleted status takes its notifications with it.
    s2 = alice.post("again")
    bob.req("POST", f"/api/v1/statuses/{s2['id']}/favourite")
    alice.req("DELETE", f"/api/v1/statuses/{s2['id']}")
    assert alice.req("GET", "/api/v1/notifications").json() == []


def test_follow_requests_to_join_a_private_community(k):
    carol = signup(k, "carol")
    assert k.ctl("community", "add", "club", "--owner", "carol").returncode == 0
    assert k.ctl("community", "private", "club", "on").returncode == 0
    alice, bob = signup(k, "alice"), signup(k, "bob")
    club = acct_id(alice, "club")
    for c in (alice, bob):
        assert c.req("POST", f"/api/v1/accounts/{club}/follow").json()["requested"] is True
    r = carol.req("GET", "/api/v1/follow_requests")
    assert r.status == 200
    assert sorted(a["username"] for a in r.json()) == ["alice", "bob"]
    for a in r.json():
        check("Account", a)
    # The owner hears of each request.
    assert [n["type"] for n in carol.req("GET", "/api/v1/notifications").json()] == \
        ["follow_request", "follow_request"]
    alice_id, bob_id = acct_id(carol, "alice"), acct_id(carol, "bob")
    assert carol.req("POST", f"/api/v1/follow_requests/{alice_id}/authorize").status == 200
    assert carol.req("POST", f"/api/v1/follow_requests/{bob_id}/reject").status == 200
    rel = lambda c: c.req("GET", f"/api/v1/accounts/relationships?id[]={club}").json()[0]
    assert rel(alice)["following"] is True and rel(bob)["following"] is False
    assert rel(bob)["requested"] is False
    assert carol.req("GET", "/api/v1/follow_requests").json() == []
    # Nothing waiting: 404; someone who moderates nothing sees nothing.
    assert carol.req("POST", f"/api/v1/follow_requests/{bob_id}/authorize").status == 404
    assert alice.req("GET", "/api/v1/follow_requests").json() == []
    # Alice, now a member, posts there; bob may not. Members see the club's
    # boost of it at home; bob, who is not one, cannot see it at all.
    r = alice.req("POST", "/api/v1/statuses", {"status": "@club Hello members"})
    assert r.status == 200, r
    post = r.json()
    home = carol.req("GET", "/api/v1/timelines/home").json()
    assert [s["reblog"]["id"] for s in home if s["reblog"]] == [post["id"]], home
    assert bob.req("GET", f"/api/v1/statuses/{post['id']}").status == 404
    r = bob.req("POST", "/api/v1/statuses", {"status": "@club Let me in"})
    assert r.status == 403 and "private" in r.json()["error"]


def test_preferences_markers_favourites_and_empty_lists(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    p = alice.req("GET", "/api/v1/preferences").json()
    check("Preferences", p)
    assert p["posting:default:visibility"] == "public"
    assert alice.req("GET", "/api/v1/markers?timeline[]=home").json() == {}
    r = alice.req("POST", "/api/v1/markers", {"home[last_read_id]": "123",
                                               "notifications[last_read_id]": "456"})
    assert r.status == 200, r
    check("Marker", r.json()["home"])
    r = alice.req("POST", "/api/v1/markers", {"home": {"last_read_id": "124"}}, as_json=True)
    assert r.json()["home"]["last_read_id"] == "124" and r.json()["home"]["version"] == 2
    m = alice.req("GET", "/api/v1/markers?timeline[]=home&timeline[]=notifications").json()
    assert m["home"]["last_read_id"] == "124" and m["notifications"]["last_read_id"] == "456"
    assert alice.req("POST", "/api/v1/markers", {}).status == 400
    assert alice.req("POST", "/api/v1/markers", {"home[last_read_id]": "x"}).status == 422

    s1, s2 = bob.post("one"), bob.post("two")
    for s in (s1, s2):
        alice.req("POST", f"/api/v1/statuses/{s['id']}/favourite")
    favs = alice.req("GET", "/api/v1/favourites")
    assert [s["id"] for s in favs.json()] == [s2["id"], s1["id"]]
    r = alice.req("GET", "/api/v1/favourites?limit=1")
    assert len(r.json()) == 1 and 'rel="next"' in (r.headers.get("link") or r.headers["Link"])
    alice.req("POST", f"/api/v1/statuses/{s2['id']}/unfavourite")
    assert [s["id"] for s in alice.req("GET", "/api/v1/favourites").json()] == [s1["id"]]

    assert k.http("GET", "/api/v1/custom_emojis").json() == []
    assert alice.req("GET", "/api/v1/announcements").json() == []
    # Instance pages and the lists kith keeps nothing in (docs/api.md).
    d = k.http("GET", "/api/v1/instance/extended_description").json()
    check("ExtendedDescription", d)
    desc = k.http("GET", "/api/v1/instance").json()["description"]
    assert d["content"] == (f"<p>{desc}</p>" if desc else "") and d["updated_at"].endswith("Z")
    assert k.http("GET", "/api/v1/instance/peers").json() == []
    for path in ("/api/v1/instance/rules", "/api/v1/trends/tags", "/api/v1/trends/statuses",
                 "/api/v1/trends/links", "/api/v1/suggestions", "/api/v1/endorsements",
                 "/api/v1/featured_tags", "/api/v1/scheduled_statuses",
                 f"/api/v1/accounts/{bob_id(alice)}/featured_tags"):
        r = alice.req("GET", path)
        assert r.status == 200 and r.json() == [], (path, r)
    assert k.http("GET", "/api/v1/scheduled_statuses").status == 401
    r = alice.req("GET", f"/api/v1/accounts/familiar_followers?id[]={bob_id(alice)}&id[]=7")
    assert r.json() == [{"id": bob_id(alice), "accounts": []}, {"id": "7", "accounts": []}]
    check("FamiliarFollowers", r.json()[0])


def bob_id(who):
    return who.req("GET", "/api/v1/accounts/lookup?acct=bob").json()["id"]


def test_lists_and_their_timelines(k):
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    bob_id, carol_id = acct_id(alice, "bob"), acct_id(alice, "carol")
    r = alice.req("POST", "/api/v1/lists", {"title": "Friends"})
    assert r.status == 200, r
    lst = r.json()
    check("UserList", lst)
    assert lst["title"] == "Friends" and lst["replies_policy"] == "list"
    # Only followed accounts join a list.
    r = alice.req("POST", f"/api/v1/lists/{lst['id']}/accounts", {"account_ids[]": bob_id})
    assert r.status == 422 and r.json()["error"]
    for i in (bob_id, carol_id):
        alice.req("POST", f"/api/v1/accounts/{i}/follow")
    r = alice.req("POST", f"/api/v1/lists/{lst['id']}/accounts", {"account_ids[]": bob_id})
    assert r.status == 200, r
    members = alice.req("GET", f"/api/v1/lists/{lst['id']}/accounts").json()
    assert [a["username"] for a in members] == ["bob"]
    assert [x["id"] for x in alice.req("GET", f"/api/v1/accounts/{bob_id}/lists").json()] == \
        [lst["id"]]
    b = bob.post("from bob")
    c = carol.post("from carol")
    tl = [s["id"] for s in alice.req("GET", f"/api/v1/timelines/list/{lst['id']}").json()]
    assert tl == [b["id"]]
    # Exclusive: bob's statuses leave the home timeline.
    home = lambda: [s["id"] for s in alice.req("GET", "/api/v1/timelines/home").json()]
    assert b["id"] in home()
    r = alice.req("PUT", f"/api/v1/lists/{lst['id']}", {"exclusive": "true",
                                                        "replies_policy": "none"})
    assert r.status == 200 and r.json()["exclusive"] is True
    assert b["id"] not in home() and c["id"] in home()
    assert [x["title"] for x in alice.req("GET", "/api/v1/lists").json()] == ["Friends"]
    # Others cannot see it; bad input is refused.
    assert bob.req("GET", f"/api/v1/lists/{lst['id']}").status == 404
    assert alice.req("POST", "/api/v1/lists", {"title": ""}).status == 422
    assert alice.req("PUT", f"/api/v1/lists/{lst['id']}",
                     {"replies_policy": "all"}).status == 422
    r = alice.req("DELETE", f"/api/v1/lists/{lst['id']}/accounts", {"account_ids[]": bob_id})
    assert r.status == 200
    assert alice.req("GET", f"/api/v1/lists/{lst['id']}/accounts").json() == []
    assert alice.req("DELETE", f"/api/v1/lists/{lst['id']}").status == 200
    assert alice.req("GET", "/api/v1/lists").json() == []
    assert alice.req("GET", f"/api/v1/timelines/list/{lst['id']}").status == 404


def test_blocks_and_mutes(k):
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    bob_id, carol_id = acct_id(alice, "bob"), acct_id(alice, "carol")
    alice_id = acct_id(bob, "alice")
    for i in (bob_id, carol_id):
        alice.req("POST", f"/api/v1/accounts/{i}/follow")
    bob.req("POST", f"/api/v1/accounts/{alice_id}/follow")
    b = bob.post("bob speaks")
    c = carol.post("carol speaks")
    home = lambda: [s["id"] for s in alice.req("GET", "/api/v1/timelines/home").json()]
    assert b["id"] in home() and c["id"] in home()

    # Mute carol: her statuses leave alice's timelines, not the status page.
    r = alice.req("POST", f"/api/v1/accounts/{carol_id}/mute", {"notifications": "false"})
    assert r.status == 200, r
    assert r.json()["muting"] is True and r.json()["muting_notifications"] is False
    assert c["id"] not in home() and b["id"] in home()
    assert c["id"] not in [s["id"] for s in alice.req("GET", "/api/v1/timelines/public").json()]
    assert alice.req("GET", f"/api/v1/statuses/{c['id']}").status == 200
    assert [a["username"] for a in alice.req("GET", "/api/v1/mutes").json()] == ["carol"]
    # Notifications stay (notifications=false), then go with a full mute.
    carol.req("POST", "/api/v1/statuses", {"status": "@alice hey"})
    assert any(n["account"]["username"] == "carol"
               for n in alice.req("GET", "/api/v1/notifications").json())
    alice.req("POST", f"/api/v1/accounts/{carol_id}/mute")
    assert not any(n["account"]["username"] == "carol"
                   for n in alice.req("GET", "/api/v1/notifications").json())
    r = alice.req("POST", f"/api/v1/accounts/{carol_id}/unmute")
    assert r.json()["muting"] is False and c["id"] in home()
    assert alice.req("POST", f"/api/v1/accounts/{carol_id}/mute",
                     {"duration": "soon"}).status == 422

    # Block bob: follows end both ways; he can no longer see or follow alice.
    a = alice.post("alice speaks")
    r = alice.req("POST", f"/api/v1/accounts/{bob_id}/block")
    assert r.status == 200, r
    rel = r.json()
    check("Relationship", rel)
    assert rel["blocking"] is True and rel["following"] is False and rel["followed_by"] is False
    assert b["id"] not in home()
    assert bob.req("GET", f"/api/v1/statuses/{a['id']}").status == 404
    assert bob.req("POST", f"/api/v1/accounts/{alice_id}/follow").status == 403
    assert bob.req("GET", f"/api/v1/accounts/relationships?id[]={alice_id}"
                   ).json()[0]["blocked_by"] is True
    assert [x["username"] for x in alice.req("GET", "/api/v1/blocks").json()] == ["bob"]
    assert alice.req("POST", f"/api/v1/accounts/{bob_id}/unblock").json()["blocking"] is False
    assert alice.req("GET", "/api/v1/blocks").json() == []
    assert bob.req("GET", f"/api/v1/statuses/{a['id']}").status == 200
