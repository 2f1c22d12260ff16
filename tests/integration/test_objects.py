"""Members acting through `kithctl act`: local posts, comments, votes, edits
and deletions become objects at stable URLs and activities at the stub
peer (keys and signatures made with the openssl CLI); private communities
hold follows for approval and serve their posts to signed fetches from
members' servers only; people's notes, mentions and direct messages both
ways."""

import json

from conftest import wait_for
from test_federation import Peer, follow, start_kith, to_inbox

AP = {"Accept": "application/activity+json"}
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip()


def fails(r, text):
    assert r.returncode == 1, r.stdout + r.stderr
    assert text in r.stderr, r.stderr


def path_of(url):
    return "/" + url.split("/", 3)[3]


def joined(peer, k):
    assert to_inbox(peer, k, follow(peer, k)).status == 202
    wait_for(lambda: peer.activities("Accept"), 10, what="the Accept")


def announced(peer, type_, oid):
    """The community's Announce of a type_ activity whose object is (or names) oid."""
    for a in peer.activities("Announce"):
        o = a.get("object")
        if isinstance(o, dict) and o.get("type") == type_:
            inner = o.get("object")
            if inner == oid or (isinstance(inner, dict) and inner.get("id") == oid):
                return a
    return None


def test_member_posts_are_objects_and_federate(make_kithd, tmp_path):
    p = Peer(tmp_path)
    try:
        k = start_kith(make_kithd)
        ok(k.ctl("user", "add", "alice"))
        ok(k.ctl("user", "add", "eve"))
        joined(p, k)
        base = f"http://127.0.0.1:{k.port}"
        cats = f"{base}/c/cats"

        url = ok(k.ctl("act", "alice", "post", "cats", "--title", "Hello", "--body",
                       "First line\n\nSee https://example.org/x."))
        assert url.startswith(f"{base}/post/")
        page = k.http("GET", path_of(url), headers=AP).json()
        assert page["type"] == "Page" and page["id"] == url and page["name"] == "Hello"
        assert page["attributedTo"] == f"{base}/u/alice" and page["audience"] == cats
        assert cats in page["to"] and PUBLIC in page["to"]
        assert '<a href="https://example.org/x"' in page["content"]
        assert page["source"] == {"content": "First line\n\nSee https://example.org/x.",
                                  "mediaType": "text/markdown"}
        # Browsers are sent to a page; the id under another kind is not it.
        assert k.http("GET", path_of(url)).status == 302
        assert k.http("GET", path_of(url).replace("/post/", "/comment/"), headers=AP).status == 404
        assert k.http("GET", "/post/123", headers=AP).status == 404
        wait_for(lambda: announced(p, "Create", url), 10, what="Announce(Create(Page))")
        a = announced(p, "Create", url)
        assert a["actor"] == cats and a["object"]["actor"] == f"{base}/u/alice"
        wait_for(lambda: any(isinstance(x["object"], dict) and x["object"].get("id") == url
                             and x["object"]["type"] == "Page" for x in p.activities("Announce")),
                 10, what="the plain Announce(Page) for microblogs")

        c = ok(k.ctl("act", "eve", "comment", url, "--body", "Nice <b>post</b>"))
        assert c.startswith(f"{base}/comment/")
        note = k.http("GET", path_of(c), headers=AP).json()
        assert note["type"] == "Note" and note["inReplyTo"] == url
        assert "&lt;b&gt;" in note["content"]  # the text is text, not markup
        wait_for(lambda: announced(p, "Create", c), 10, what="the comment announced")
        assert "replies: 1" in ok(k.ctl("federation", "object", url))
        assert "mention" in ok(k.ctl("act", "alice", "notifications"))

        ok(k.ctl("act", "eve", "vote", url, "up"))
        wait_for(lambda: announced(p, "Like", url), 10, what="the Like announced")
        ok(k.ctl("act", "eve", "vote", url, "down"))
        wait_for(lambda: announced(p, "Dislike", url), 10, what="the Dislike announced")
        assert announced(p, "Undo", None) is None or True
        obj = ok(k.ctl("federation", "object", url))
        assert "upvotes: 0" in obj and "downvotes: 1" in obj
        ok(k.ctl("act", "eve", "vote", url, "none"))
        obj = ok(k.ctl("federation", "object", url))
        assert "upvotes: 0" in obj and "downvotes: 0" in obj

        ok(k.ctl("act", "alice", "edit", url, "--body", "Edited", "--title", "Hello again"))
        page = k.http("GET", path_of(url), headers=AP).json()
        assert page["name"] == "Hello again" and "Edited" in page["content"] and "updated" in page
        wait_for(lambda: announced(p, "Update", url), 10, what="the Update announced")

        # Only the author edits or deletes; bad input gets a clear error.
        fails(k.ctl("act", "eve", "edit", url, "--body", "mine now"), "someone else")
        fails(k.ctl("act", "eve", "delete", url), "someone else")
        fails(k.ctl("act", "alice", "post", "dogs", "--title", "T", "--body", "B"),
              "no community 'dogs'")
        fails(k.ctl("act", "alice", "post", "cats", "--body", "B"), "--title")
        fails(k.ctl("act", "alice", "comment", f"{base}/post/1", "--body", "B"), "holds no")
        fails(k.ctl("act", "alice", "vote", url, "sideways"), "up, down or none")
        fails(k.ctl("act", "alice", "note", "--body", "x", "--visibility", "secret"),
              "--visibility")
        fails(k.ctl("act", "alice", "note", "--body", "x", "--visibility", "direct"), "--to")
        fails(k.ctl("act", "alice", "dance"), "act USER takes one of")

        ok(k.ctl("act", "alice", "delete", url))
        r = k.http("GET", path_of(url), headers=AP)
        assert r.status == 410 and r.json()["type"] == "Tombstone"
        wait_for(lambda: announced(p, "Delete", url), 10, what="the Delete announced")
        assert "deleted: yes" in ok(k.ctl("federation", "object", url))
        fails(k.ctl("act", "eve", "comment", url, "--body", "late"), "deleted")
        k.stop()
    finally:
        p.close()


def test_private_community_holds_follows_and_hides_posts(make_kithd, tmp_path):
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    p = Peer(tmp_path / "p1")
    q = Peer(tmp_path / "p2")
    try:
        k = start_kith(make_kithd)
        base = f"http://127.0.0.1:{k.port}"
        ok(k.ctl("community", "private", "cats", "on"))
        fails(k.ctl("community", "private", "dogs", "on"), "no community 'dogs'")
        group = k.http("GET", "/c/cats", headers=AP).json()
        assert group["manuallyApprovesFollowers"] is True

        assert to_inbox(p, k, follow(p, k)).status == 202
        wait_for(lambda: p.actor in k.ctl("community", "pending", "cats").stdout, 10,
                 what="the follow held for approval")
        assert not p.activities("Accept")
        # Not a member yet: its post is refused.
        page = {"id": f"{p.base}/post/1", "type": "Page", "attributedTo": p.actor,
                "name": "Early", "to": [f"{base}/c/cats"], "audience": f"{base}/c/cats",
                "content": "too early"}
        create = {"@context": "https://www.w3.org/ns/activitystreams",
                  "id": f"{p.base}/create/1", "type": "Create", "actor": p.actor,
                  "to": [f"{base}/c/cats"], "object": page}
        assert to_inbox(p, k, json.dumps(create).encode()).status == 202
        wait_for(lambda: k.ctl("federation", "activity", create["id"]).returncode == 0, 10,
                 what="the early Create processed")
        st = ok(k.ctl("federation", "activity", create["id"]))
        assert "state: rejected" in st and "members only" in st

        fails(k.ctl("community", "approve", "cats", q.actor), "no follow waiting")
        ok(k.ctl("community", "approve", "cats", p.actor))
        wait_for(lambda: p.activities("Accept"), 10, what="the Accept after approval")
        acc = p.activities("Accept")[0]
        assert acc["object"]["type"] == "Follow" and acc["object"]["id"] == f"{p.base}/follows/1"
        assert p.actor not in k.ctl("community", "pending", "cats").stdout

        ok(k.ctl("user", "add", "alice"))
        fails(k.ctl("act", "alice", "post", "cats", "--title", "T", "--body", "B"), "private")
        url = ok(k.ctl("act", "admin", "post", "cats", "--title", "Members only", "--body", "Hi"))
        wait_for(lambda: announced(p, "Create", url), 10, what="the private post announced")
        a = announced(p, "Create", url)
        assert PUBLIC not in json.dumps(a), a  # followers only
        assert a["to"] == [f"{base}/c/cats/followers"]
        # Served only to signed fetches from members' servers.
        assert k.http("GET", path_of(url), headers=AP).status == 401
        r = k.http("GET", path_of(url), headers=p.sign_get(k.port, path_of(url)))
        assert r.status == 200 and r.json()["id"] == url, r
        r = k.http("GET", path_of(url), headers=q.sign_get(k.port, path_of(url)))
        assert r.status == 403, r
        bad = p.sign_get(k.port, path_of(url))
        bad["Date"] = "Mon, 01 Jan 2001 00:00:00 GMT"
        assert k.http("GET", path_of(url), headers=bad).status == 401

        # A second follower is refused.
        assert to_inbox(q, k, follow(q, k)).status == 202
        wait_for(lambda: k.ctl("federation", "activity", f"{q.base}/follows/1").returncode == 0,
                 10, what="q's follow processed")
        assert q.actor in k.ctl("community", "pending", "cats").stdout, (
            k.ctl("federation", "activity", f"{q.base}/follows/1").stdout)
        ok(k.ctl("community", "reject", "cats", q.actor))
        wait_for(lambda: q.activities("Reject"), 10, what="the Reject")
        k.stop()
    finally:
        p.close()
        q.close()


def test_notes_mentions_and_direct_messages(make_kithd, tmp_path):
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    p = Peer(tmp_path / "p1")
    stranger = Peer(tmp_path / "p2")
    try:
        k = start_kith(make_kithd)
        base = f"http://127.0.0.1:{k.port}"
        alice, bob = f"{base}/u/alice", f"{base}/u/bob"
        ok(k.ctl("user", "add", "alice"))
        ok(k.ctl("user", "add", "bob"))

        # alice follows the peer's person; the peer accepts.
        ok(k.ctl("act", "alice", "follow", p.actor))
        wait_for(lambda: p.activities("Follow"), 10, what="alice's Follow")
        f = p.activities("Follow")[0]
        accept = {"@context": "https://www.w3.org/ns/activitystreams",
                  "id": f"{p.base}/accept/1", "type": "Accept", "actor": p.actor, "object": f}
        body = json.dumps(accept).encode()
        assert k.http("POST", "/inbox", headers=p.sign(k.port, "/inbox", body),
                      body=body).status == 202
        wait_for(lambda: "accepted" in k.ctl("act", "alice", "following").stdout, 10,
                 what="the follow accepted")

        def send(peer, act):
            b = json.dumps(act).encode()
            assert k.http("POST", "/inbox", headers=peer.sign(k.port, "/inbox", b),
                          body=b).status == 202
            wait_for(lambda: k.ctl("federation", "activity", act["id"]).returncode == 0, 10,
                     what=f"{act['id']} processed")
            return ok(k.ctl("federation", "activity", act["id"]))

        def create(peer, n, to, cc, text, extra=None):
            note = {"id": f"{peer.base}/notes/{n}", "type": "Note", "attributedTo": peer.actor,
                    "to": to, "cc": cc, "content": f"<p>{text}</p>", **(extra or {})}
            return {"@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{peer.base}/create/{n}", "type": "Create", "actor": peer.actor,
                    "to": to, "cc": cc, "object": note}

        pub = create(p, 1, [PUBLIC], [f"{p.actor}/followers"], "hello world",
                     {"attachment": [{"type": "Document", "mediaType": "image/png",
                                      "url": f"{p.base}/cat.png", "name": "a cat",
                                      "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                                      "width": 640, "height": 480},
                                     {"type": "Document", "url": "javascript:alert(1)"}]})
        assert "state: applied" in send(p, pub)
        tl = ok(k.ctl("act", "alice", "timeline"))
        assert f"{p.base}/notes/1\t{p.actor}\tpublic\thello world" in tl
        obj = ok(k.ctl("federation", "object", f"{p.base}/notes/1"))
        assert "kind: note" in obj and "attachments: 1" in obj
        assert "hello world" not in ok(k.ctl("act", "bob", "timeline"))  # bob follows nobody

        dm = create(p, 2, [alice], [], f'<a href="{alice}">@alice</a> secret')
        assert "state: applied" in send(p, dm)
        assert f"{p.base}/notes/2\t{p.actor}\tdirect" in ok(k.ctl("act", "alice", "timeline"))
        assert f"mention\t{p.actor}\t{p.base}/notes/2" in ok(k.ctl("act", "alice",
                                                                   "notifications"))
        assert "notes/2" not in ok(k.ctl("act", "bob", "timeline"))
        assert "notes/2" not in ok(k.ctl("act", "bob", "notifications"))
        # Unlisted and followers-only notes of a followed person.
        send(p, create(p, 3, [f"{p.actor}/followers"], [PUBLIC], "quiet"))
        send(p, create(p, 4, [f"{p.actor}/followers"], [], "friends only"))
        tl = ok(k.ctl("act", "alice", "timeline"))
        assert "notes/3\t" + p.actor + "\tunlisted" in tl
        assert "notes/4\t" + p.actor + "\tfollowers" in tl

        # Nobody here follows the stranger or is addressed: kept for inspection only.
        st = send(stranger, create(stranger, 1, [PUBLIC], [], "spam"))
        assert "state: stored" in st
        assert k.ctl("federation", "object", f"{stranger.base}/notes/1").returncode == 1
        # A note claiming someone else's authorship is refused.
        forged = create(stranger, 2, [alice], [], "forged")
        forged["object"]["attributedTo"] = p.actor
        assert "state: rejected" in send(stranger, forged)

        # The author edits and deletes.
        upd = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/update/1",
               "type": "Update", "actor": p.actor,
               "object": {**pub["object"], "content": "<p>hello again</p>"}}
        assert "state: applied" in send(p, upd)
        assert "hello again" in ok(k.ctl("federation", "object", f"{p.base}/notes/1"))
        dele = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/delete/1",
                "type": "Delete", "actor": p.actor,
                "object": {"id": f"{p.base}/notes/1", "type": "Tombstone"}}
        assert "state: applied" in send(p, dele)
        assert "deleted: yes" in ok(k.ctl("federation", "object", f"{p.base}/notes/1"))
        assert "notes/1\t" not in ok(k.ctl("act", "alice", "timeline"))

        # alice writes: a direct note reaches only its recipient's inbox.
        n_before = len(p.received)
        d = ok(k.ctl("act", "alice", "note", "--body", "just us", "--visibility", "direct",
                     "--to", p.actor))
        assert d.startswith(f"{base}/note/")
        wait_for(lambda: len(p.received) > n_before, 10, what="the direct note")
        c = [a for a in p.activities("Create") if a["object"]["id"] == d][0]
        assert c["to"] == [p.actor] and c["cc"] == [] and PUBLIC not in json.dumps(c)
        assert c["object"]["tag"][0] == {"type": "Mention", "href": p.actor, "name":
                                         f"@bob@127.0.0.1:{p.port}"}
        # Served only to the recipient's server.
        assert k.http("GET", path_of(d), headers=AP).status == 401
        assert k.http("GET", path_of(d), headers=p.sign_get(k.port, path_of(d))).status == 200
        assert k.http("GET", path_of(d),
                      headers=stranger.sign_get(k.port, path_of(d))).status == 403
        # bob mentioned locally hears of it.
        hi = ok(k.ctl("act", "alice", "note", "--body", "hi bob", "--to", "bob"))
        assert f"mention\t{alice}" in ok(k.ctl("act", "bob", "notifications"))
        # alice's outbox lists her public note, never the direct one.
        box = k.http("GET", "/u/alice/outbox", headers=AP).json()
        ids = [c["object"]["id"] for c in box["orderedItems"]]
        assert box["type"] == "OrderedCollection" and box["totalItems"] == 1 and ids == [hi]
        assert box["orderedItems"][0]["type"] == "Create" and d not in ids

        # The peer favourites alice's note; a boost of her public note
        # notifies her too; a direct one cannot be boosted.
        like = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/like/1",
                "type": "Like", "actor": p.actor, "object": d}
        assert "state: applied" in send(p, like)
        boost = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/boost/1",
                 "type": "Announce", "actor": p.actor, "object": hi}
        assert "state: applied" in send(p, boost)
        boost_dm = dict(boost, id=f"{p.base}/boost/2", object=d)
        assert "state: rejected" in send(p, boost_dm)
        notes = ok(k.ctl("act", "alice", "notifications"))
        assert f"favourite\t{p.actor}\t{d}" in notes and f"reblog\t{p.actor}\t{hi}" in notes
        assert f"reblog\t{p.actor}\t{d}" not in notes

        # Moderation and unknown types: stored, acknowledged, nothing else.
        flag = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/flag/1",
                "type": "Flag", "actor": p.actor, "object": [alice]}
        assert "state: stored" in send(p, flag)
        odd = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/odd/1",
               "type": "Wiggle", "actor": p.actor, "object": alice}
        st = send(p, odd)
        assert "state: stored" in st and '"Wiggle"' in st

        # The person deletes itself: follows go.
        gone = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{p.base}/gone",
                "type": "Delete", "actor": p.actor, "object": p.actor}
        assert "state: applied" in send(p, gone)
        assert p.actor not in k.ctl("act", "alice", "following").stdout
        k.stop()
    finally:
        p.close()
        stranger.close()


class Site:
    """A remote server with a Group (its key made with openssl) and whatever
    documents a test puts in `docs` (path -> JSON)."""

    def __init__(self, root):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from conftest import free_port
        from test_federation import openssl
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.group = f"{self.base}/c/dogs"
        self.key = root / "group.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", str(self.key))
        pub = openssl("pkey", "-in", str(self.key), "-pubout").decode()
        self.docs = {"/c/dogs": {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.group, "type": "Group", "preferredUsername": "dogs", "name": "Dogs",
            "inbox": f"{self.group}/inbox", "followers": f"{self.group}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{self.group}#main-key", "owner": self.group,
                          "publicKeyPem": pub}}}
        self.received = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                doc = site.docs.get(self.path.split("#")[0])
                body = json.dumps(doc).encode() if doc else b""
                self.send_response(200 if doc else 404)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                site.received.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, kith_port, path, body):
        from test_federation import Peer
        return Peer.sign(self, kith_port, path, body, key=self.key,
                         key_id=f"{self.group}#main-key")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_kith_follows_a_remote_community(make_kithd, tmp_path):
    s = Site(tmp_path)
    try:
        k = start_kith(make_kithd)
        base = f"http://127.0.0.1:{k.port}"
        ok(k.ctl("user", "add", "alice"))
        ok(k.ctl("act", "alice", "follow", s.group))
        wait_for(lambda: s.received, 10, what="alice's Follow")
        f = s.received[0][1]
        assert f["type"] == "Follow" and f["object"] == s.group

        def send(act):
            act = {"@context": "https://www.w3.org/ns/activitystreams", **act}
            b = json.dumps(act).encode()
            r = k.http("POST", "/inbox", headers=s.sign(k.port, "/inbox", b), body=b)
            assert r.status == 202, r
            wait_for(lambda: k.ctl("federation", "activity", act["id"]).returncode == 0, 10,
                     what=f"{act['id']} processed")
            return ok(k.ctl("federation", "activity", act["id"]))

        send({"id": f"{s.base}/a/1", "type": "Accept", "actor": s.group, "object": f})
        assert "accepted" in ok(k.ctl("act", "alice", "following"))

        author = f"{s.base}/u/rex"
        page = {"id": f"{s.base}/post/1", "type": "Page", "attributedTo": author,
                "name": "Walkies", "to": [s.group, PUBLIC], "audience": s.group,
                "content": "<p>Park at 5</p>",
                "attachment": [{"type": "Link", "href": "https://example.org/park"}]}
        create = {"id": f"{s.base}/create/1", "type": "Create", "actor": author,
                  "to": [PUBLIC], "cc": [s.group], "audience": s.group, "object": page}

        def announce(n, obj):
            return {"id": f"{s.base}/announce/{n}", "type": "Announce", "actor": s.group,
                    "to": [PUBLIC], "cc": [f"{s.group}/followers"], "object": obj}

        assert "state: applied" in send(announce(1, create))
        obj = ok(k.ctl("federation", "object", page["id"]))
        assert f"community: {s.group}" in obj and f"author: {author}" in obj
        assert "link: https://example.org/park" in obj
        assert f"{page['id']}\t{author}\tpublic\tWalkies" in ok(k.ctl("act", "alice", "timeline"))
        # The same Create, again or directly: applied once.
        send(announce(2, create))
        assert ok(k.ctl("act", "alice", "timeline")).count("Walkies") == 1

        # An Announce naming its object by id: fetched from its origin.
        s.docs["/post/2"] = {**page, "id": f"{s.base}/post/2", "name": "By id"}
        assert "state: applied" in send(announce(3, f"{s.base}/post/2"))
        assert "title: By id" in ok(k.ctl("federation", "object", f"{s.base}/post/2"))

        # The group vouches only for its own posts.
        other = {**create, "id": f"{s.base}/create/9",
                 "object": {**page, "id": f"{s.base}/post/9", "to": [PUBLIC],
                            "audience": f"{s.base}/c/other"}}
        other["audience"] = f"{s.base}/c/other"
        other["cc"] = [f"{s.base}/c/other"]
        send(announce(9, other))
        assert "state: rejected" in ok(k.ctl("federation", "activity", other["id"]))
        assert k.ctl("federation", "object", f"{s.base}/post/9").returncode == 1

        like = {"id": f"{s.base}/like/1", "type": "Like", "actor": f"{s.base}/u/fido",
                "object": page["id"], "audience": s.group}
        send(announce(4, like))
        assert "upvotes: 1" in ok(k.ctl("federation", "object", page["id"]))
        dele = {"id": f"{s.base}/delete/1", "type": "Delete", "actor": author,
                "object": page["id"], "audience": s.group}
        send(announce(5, dele))
        assert "deleted: yes" in ok(k.ctl("federation", "object", page["id"]))
        undo = {"id": f"{s.base}/undo/1", "type": "Undo", "actor": author, "object": dele,
                "audience": s.group}
        send(announce(6, undo))
        assert "deleted: no" in ok(k.ctl("federation", "object", page["id"]))

        # alice answers and votes: both go to the community's inbox.
        n = len(s.received)
        c = ok(k.ctl("act", "alice", "comment", page["id"], "--body", "Coming!"))
        ok(k.ctl("act", "alice", "vote", page["id"], "up"))
        wait_for(lambda: len(s.received) >= n + 2, 10, what="the comment and the vote")
        sent = [a for _, a in s.received[n:]]
        cr = [a for a in sent if a["type"] == "Create"][0]
        assert cr["actor"] == f"{base}/u/alice" and cr["object"]["id"] == c
        assert cr["object"]["inReplyTo"] == page["id"] and cr["object"]["audience"] == s.group
        lk = [a for a in sent if a["type"] == "Like"][0]
        assert lk["object"] == page["id"] and lk["audience"] == s.group
        assert all(path == "/inbox" for path, _ in s.received[n:])  # the shared inbox
        k.stop()
    finally:
        s.close()


def test_stored_actors_are_refreshed_when_old(make_kithd, tmp_path):
    p = Peer(tmp_path)
    try:
        k = start_kith(make_kithd, extra=["actor_refresh_after = 2s"])
        joined(p, k)  # the actor is fetched once, for its key
        assert len(p.gets) == 1

        def like(n):
            body = json.dumps({"id": f"{p.base}/like/{n}", "type": "Like", "actor": p.actor,
                               "object": f"http://127.0.0.1:{k.port}/post/1"}).encode()
            assert to_inbox(p, k, body).status == 202

        like(1)  # fresh: no fetch
        assert len(p.gets) == 1
        import time
        time.sleep(2.2)
        like(2)  # older than actor_refresh_after: fetched again, in the background
        wait_for(lambda: len(p.gets) == 2, 5, what="the actor fetched again")
        like(3)  # refreshed just now: not again
        time.sleep(0.3)
        assert len(p.gets) == 2
        k.stop()
    finally:
        p.close()
