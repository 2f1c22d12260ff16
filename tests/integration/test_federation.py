"""Federation through the real path, against an independent stub peer: a
remote person (keys and HTTP signatures made with the openssl CLI, not with
kith's code) follows a kith community, kith fetches her key, verifies the
signature, stores the Follow durably, answers 202, and delivers a correctly
signed Accept to her inbox; refusals, duplicates, Undo and delivery retries."""

import base64
import hashlib
import json
import subprocess
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import free_port, wait_for


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=True).stdout


class Peer:
    """A remote ActivityPub server with one person, on loopback."""

    def __init__(self, root, fail_first=0):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.actor = f"{self.base}/users/bob"
        self.key_id = f"{self.actor}#main-key"
        self.key = root / "bob.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", str(self.key))
        self.pub = openssl("pkey", "-in", str(self.key), "-pubout").decode()
        self.received = []  # (path, headers, body) of POSTs
        self.gets = []  # paths of GETs
        self.fail_first = fail_first
        self.docs = {}  # path -> a document served as activity+json (besides /users/bob)
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                peer.gets.append(self.path)
                if self.path in peer.docs:
                    body = json.dumps(peer.docs[self.path]).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/activity+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.split("#")[0] != "/users/bob":
                    self.send_response(404)
                    self.end_headers()
                    return
                doc = {
                    "@context": ["https://www.w3.org/ns/activitystreams",
                                 "https://w3id.org/security/v1"],
                    "id": peer.actor, "type": "Person", "preferredUsername": "bob",
                    "name": "Bob", "inbox": f"{peer.actor}/inbox",
                    "endpoints": {"sharedInbox": f"{peer.base}/inbox"},
                    "publicKey": {"id": peer.key_id, "owner": peer.actor,
                                  "publicKeyPem": peer.pub},
                }
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with peer.lock:
                    fail = peer.fail_first > 0
                    if fail:
                        peer.fail_first -= 1
                    peer.received.append((self.path, dict(self.headers), body, fail))
                self.send_response(503 if fail else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def sign(self, kith_port, path, body, key=None, key_id=None, date=None):
        """draft-cavage rsa-sha256 over (request-target) host date digest."""
        date = date or formatdate(usegmt=True)
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        host = f"127.0.0.1:{kith_port}"
        text = (f"(request-target): post {path}\nhost: {host}\ndate: {date}\n"
                f"digest: {digest}").encode()
        sig = base64.b64encode(openssl("dgst", "-sha256", "-sign", str(key or self.key),
                                       input=text)).decode()
        return {
            "Host": host, "Date": date, "Digest": digest,
            "Content-Type": "application/activity+json",
            "Signature": (f'keyId="{key_id or self.key_id}",algorithm="rsa-sha256",'
                          f'headers="(request-target) host date digest",signature="{sig}"'),
        }

    def sign_get(self, kith_port, path, key=None, key_id=None):
        """A signed fetch: cavage rsa-sha256 over (request-target) host date."""
        date = formatdate(usegmt=True)
        host = f"127.0.0.1:{kith_port}"
        text = f"(request-target): get {path}\nhost: {host}\ndate: {date}".encode()
        sig = base64.b64encode(openssl("dgst", "-sha256", "-sign", str(key or self.key),
                                       input=text)).decode()
        return {
            "Host": host, "Date": date, "Accept": "application/activity+json",
            "Signature": (f'keyId="{key_id or self.key_id}",algorithm="rsa-sha256",'
                          f'headers="(request-target) host date",signature="{sig}"'),
        }

    def activities(self, type_=None):
        """The JSON of every POST received, optionally of one type."""
        out = [json.loads(b) for _, _, b, _ in list(self.received)]
        return [a for a in out if type_ is None or a.get("type") == type_]


def verify_cavage(headers, path, body, pub_pem, tmp):
    """Checks a cavage signature kith sent, with openssl."""
    sig = headers["Signature"]
    params = dict(p.split("=", 1) for p in sig.split(","))
    params = {k: v.strip('"') for k, v in params.items()}
    names = params["headers"].split()
    assert names == ["(request-target)", "host", "date", "digest"], names
    lower = {k.lower(): v for k, v in headers.items()}
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert lower["digest"] == digest
    lines = []
    for n in names:
        lines.append(f"(request-target): post {path}" if n == "(request-target)"
                     else f"{n}: {lower[n]}")
    (tmp / "pub.pem").write_text(pub_pem)
    (tmp / "sig.bin").write_bytes(base64.b64decode(params["signature"]))
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp / "pub.pem"),
                        "-signature", str(tmp / "sig.bin")], input="\n".join(lines).encode(),
                       capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return params["keyId"]


@pytest.fixture
def peer(tmp_path):
    p = Peer(tmp_path)
    yield p
    p.close()


def start_kith(make_kithd, extra=(), name="k"):
    port = free_port()
    k = make_kithd(name=name, listens=[f"127.0.0.1:{port}"],
                   extra=[f"domain = 127.0.0.1:{port}", f"public_url = http://127.0.0.1:{port}",
                          "allow_private_addresses = true", "delivery_retry_base = 200ms",
                          *extra])
    k.start()
    assert k.ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats").returncode == 0
    return k


def followers(k):
    r = k.http("GET", "/c/cats/followers", headers={"Accept": "application/activity+json"})
    return r.json()["totalItems"]


def follow(peer, k, n=1):
    return json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                       "id": f"{peer.base}/follows/{n}", "type": "Follow", "actor": peer.actor,
                       "object": f"http://127.0.0.1:{k.port}/c/cats"}).encode()


def to_inbox(peer, k, body):
    """POSTs body to the community's inbox, signed by peer."""
    return k.http("POST", "/c/cats/inbox", headers=peer.sign(k.port, "/c/cats/inbox", body),
                  body=body)


def test_remote_follow_is_verified_stored_and_accepted(make_kithd, peer, tmp_path):
    k = start_kith(make_kithd)
    body = follow(peer, k)
    r = to_inbox(peer, k, body)
    assert r.status == 202, r.body
    # The Accept arrives at Bob's inbox, signed by the community.
    wait_for(lambda: any(b"Accept" in x[2] for x in peer.received), 15, what="Accept delivered")
    path, headers, got, _ = next(x for x in peer.received if b"Accept" in x[2])
    assert path == "/users/bob/inbox"
    accept = json.loads(got)
    cats = f"http://127.0.0.1:{k.port}/c/cats"
    assert accept["type"] == "Accept" and accept["actor"] == cats
    assert accept["object"]["id"] == f"{peer.base}/follows/1"
    group = k.http("GET", "/c/cats", headers={"Accept": "application/activity+json"}).json()
    key_id = verify_cavage(headers, path, got, group["publicKey"]["publicKeyPem"], tmp_path)
    assert key_id == f"{cats}#main-key"
    assert followers(k) == 2  # the owner and Bob

    # The same activity again: acknowledged, applied once, no second Accept.
    r = to_inbox(peer, k, body)
    assert r.status == 202
    time.sleep(1.5)
    assert sum(b"Accept" in x[2] for x in peer.received) == 1
    assert followers(k) == 2

    # Undo: Bob leaves.
    undo = json.dumps({"id": f"{peer.base}/undo/1", "type": "Undo", "actor": peer.actor,
                       "object": json.loads(body)}).encode()
    r = k.http("POST", "/inbox", headers=peer.sign(k.port, "/inbox", undo), body=undo)
    assert r.status == 202
    wait_for(lambda: followers(k) == 1, 10, what="Undo applied")
    st = k.ctl("federation", "status")
    assert st.returncode == 0 and "deliveries queued: 0" in st.stdout, st.stdout
    assert f"127.0.0.1:{peer.port}" in st.stdout


def test_bad_signatures_get_401_and_store_nothing(make_kithd, peer, tmp_path):
    k = start_kith(make_kithd)
    body = follow(peer, k)
    # Unsigned.
    assert k.http("POST", "/c/cats/inbox", body=body).status == 401
    # The body changed after signing.
    h = peer.sign(k.port, "/c/cats/inbox", body)
    assert k.http("POST", "/c/cats/inbox", headers=h, body=body.replace(b"follows/1",
                                                                         b"follows/9")).status == 401
    # Signed by another key that claims Bob's key id.
    other = tmp_path / "other.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(other))
    h = peer.sign(k.port, "/c/cats/inbox", body, key=other)
    assert k.http("POST", "/c/cats/inbox", headers=h, body=body).status == 401
    # Signed for another path (replayed to another inbox).
    h = peer.sign(k.port, "/inbox", body)
    assert k.http("POST", "/c/cats/inbox", headers=h, body=body).status == 401
    # A stale Date.
    h = peer.sign(k.port, "/c/cats/inbox", body, date=formatdate(time.time() - 13 * 3600,
                                                                  usegmt=True))
    assert k.http("POST", "/c/cats/inbox", headers=h, body=body).status == 401
    # A key id kith cannot fetch.
    h = peer.sign(k.port, "/c/cats/inbox", body, key_id=f"{peer.base}/nobody#main-key")
    assert k.http("POST", "/c/cats/inbox", headers=h, body=body).status == 401
    # Signed by Bob, for an activity whose actor is someone else.
    forged = json.dumps({"id": f"{peer.base}/f/2", "type": "Follow",
                         "actor": f"{peer.base}/users/eve",
                         "object": f"http://127.0.0.1:{k.port}/c/cats"}).encode()
    h = peer.sign(k.port, "/c/cats/inbox", forged)
    assert k.http("POST", "/c/cats/inbox", headers=h, body=forged).status == 401
    time.sleep(1)
    assert followers(k) == 1
    assert not peer.received


def test_deliveries_are_retried_after_server_errors(make_kithd, tmp_path):
    p = Peer(tmp_path, fail_first=3)
    try:
        k = start_kith(make_kithd)
        body = follow(p, k)
        r = to_inbox(p, k, body)
        assert r.status == 202
        # 503, 503, 503, then 202: four attempts, with growing back-off.
        wait_for(lambda: sum(not x[3] for x in p.received) == 1, 30, what="delivered at last")
        assert len(p.received) == 4
        # The outcome is written with its batch, a moment after the reply.
        wait_for(lambda: "deliveries queued: 0" in k.ctl("federation", "status").stdout, 5,
                 what="the delivery recorded")
        st = k.ctl("federation", "status").stdout
        assert "3 retried" in st, st
    finally:
        p.close()


def test_pending_deliveries_survive_kill9(make_kithd, tmp_path):
    """A delivery scheduled but not yet made is on disk: kill -9, restart, it goes out."""
    p = Peer(tmp_path, fail_first=10 ** 6)  # refuses everything for now
    try:
        k = start_kith(make_kithd, extra=["delivery_retry_base = 300ms"])
        body = follow(p, k)
        r = to_inbox(p, k, body)
        assert r.status == 202
        wait_for(lambda: len(p.received) >= 1, 15, what="a first (refused) attempt")
        k.kill9()
        with p.lock:
            p.fail_first = 0  # the peer recovers while kith is down
        n = len(p.received)
        k.start()
        wait_for(lambda: any(not x[3] for x in p.received[n:]), 20,
                 what="the Accept delivered after the restart")
        accepted = [x for x in p.received if not x[3]]
        assert json.loads(accepted[0][2])["type"] == "Accept"
        wait_for(lambda: "deliveries queued: 0" in k.ctl("federation", "status").stdout, 10,
                 what="an empty schedule")
    finally:
        p.close()


def test_dead_host_is_marked_then_revived(make_kithd, tmp_path):
    p = Peer(tmp_path, fail_first=10 ** 6)
    try:
        k = start_kith(make_kithd, extra=["delivery_retry_base = 200ms",
                                          "delivery_dead_after = 1s"])
        body = follow(p, k)
        assert to_inbox(p, k, body).status == 202
        host = f"127.0.0.1:{p.port}"

        def dead():
            line = next((l for l in k.ctl("federation", "status").stdout.splitlines()
                         if l.startswith(host)), "")
            parts = line.split()
            return len(parts) >= 4 and parts[3] != "-"

        wait_for(dead, 20, what="the host marked dead")
        # Dead hosts are tried only every delivery_dead_after (here 1 s); one success revives.
        with p.lock:
            p.fail_first = 0
        wait_for(lambda: any(not x[3] for x in p.received), 20, what="delivered to the dead host")
        wait_for(lambda: not dead(), 10, what="the host revived")
    finally:
        p.close()


def test_deliveries_are_given_up_after_the_limit(make_kithd, tmp_path):
    p = Peer(tmp_path, fail_first=10 ** 6)
    try:
        k = start_kith(make_kithd, extra=["delivery_retry_base = 200ms",
                                          "delivery_give_up_after = 2s"])
        body = follow(p, k)
        assert to_inbox(p, k, body).status == 202
        # The Accept is scheduled once the processor applied the Follow.
        wait_for(lambda: p.received, 10, what="a first delivery attempt")
        wait_for(lambda: "deliveries queued: 0" in k.ctl("federation", "status").stdout, 20,
                 what="the job given up")
        st = k.ctl("federation", "status").stdout
        assert "1 dropped" in st, st
        n = len(p.received)
        assert n >= 2  # it was retried before giving up
        time.sleep(1.5)
        assert len(p.received) == n  # and never again
    finally:
        p.close()


def test_two_kith_instances_follow_each_other(make_kithd):
    """alice on A follows the community cats and the person bob on B; B accepts,
    A records the acceptance; then alice unfollows both."""
    a = start_kith(make_kithd, name="a")
    b = start_kith(make_kithd, name="b")
    assert a.ctl("user", "add", "alice").returncode == 0
    assert b.ctl("user", "add", "bob").returncode == 0
    cats = f"http://127.0.0.1:{b.port}/c/cats"
    bob = f"http://127.0.0.1:{b.port}/u/bob"
    for target in (cats, bob):
        r = a.ctl("act", "alice", "follow", target)
        assert r.returncode == 0 and "pending" in r.stdout, r.stdout + r.stderr

    def following():
        return a.ctl("act", "alice", "following").stdout

    wait_for(lambda: following().count("accepted") == 2, 20, what="both follows accepted")
    assert followers(b) == 2  # admin and alice
    assert b.http("GET", "/u/bob/followers", headers={"Accept": "application/activity+json"}
                  ).json()["totalItems"] == 1
    for target in (cats, bob):
        r = a.ctl("act", "alice", "unfollow", target)
        assert r.returncode == 0, r.stderr
    wait_for(lambda: followers(b) == 1, 20, what="the Undo applied on B")
    wait_for(lambda: b.http("GET", "/u/bob/followers",
                            headers={"Accept": "application/activity+json"}).json()["totalItems"] == 0,
             20, what="bob unfollowed")
    assert "accepted" not in following() and "pending" not in following()
    # Errors.
    assert a.ctl("act", "nobody", "follow", cats).returncode == 1
    r = a.ctl("act", "alice", "unfollow", cats)
    assert r.returncode == 1 and "does not follow" in r.stderr
    r = a.ctl("act", "alice", "follow", f"http://127.0.0.1:{b.port}/c/none")
    assert r.returncode == 1 and "cannot fetch" in r.stderr
    a.stop()
    r = a.ctl("act", "alice", "following")
    assert r.returncode == 1 and "needs kithd running" in r.stderr


def test_community_announces_posts_and_comments_to_followers(make_kithd, tmp_path):
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    p1, p2 = Peer(tmp_path / "p1"), Peer(tmp_path / "p2")
    try:
        k = start_kith(make_kithd)
        cats = f"http://127.0.0.1:{k.port}/c/cats"
        for n, p in enumerate((p1, p2)):
            body = follow(p, k, n + 1)
            assert to_inbox(p, k, body).status == 202
        wait_for(lambda: all(any(b"Accept" in x[2] for x in p.received) for p in (p1, p2)), 15,
                 what="both follows accepted")
        page = {"id": f"{p1.base}/post/1", "type": "Page", "attributedTo": p1.actor,
                "name": "Hello cats", "to": [cats, "https://www.w3.org/ns/activitystreams#Public"],
                "audience": cats,
                "content": "<p>Meow <script>alert(1)</script><b>bold</b></p>",
                "source": {"content": "Meow **bold**", "mediaType": "text/markdown"}}
        create = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                             "id": f"{p1.base}/create/1", "type": "Create", "actor": p1.actor,
                             "to": [cats], "object": page}).encode()
        assert to_inbox(p1, k, create).status == 202

        def announced(p, oid):
            for path, headers, body, _ in p.received:
                a = json.loads(body)
                o = a.get("object")
                if (a.get("type") == "Announce" and isinstance(o, dict)
                        and isinstance(o.get("object"), dict) and o["object"].get("id") == oid):
                    return path, headers, body, a
            return None

        def announced_plain(p, oid):  # Announce(Page), for microblogs
            for path, headers, body, _ in p.received:
                a = json.loads(body)
                o = a.get("object")
                if a.get("type") == "Announce" and isinstance(o, dict) and o.get("id") == oid:
                    return a
            return None

        wait_for(lambda: announced(p1, page["id"]) and announced(p2, page["id"]), 15,
                 what="the Announce of the post at both followers")
        path, headers, body, a = announced(p2, page["id"])
        wait_for(lambda: announced_plain(p2, page["id"]), 15, what="the plain Announce(Page)")
        assert announced_plain(p2, page["id"])["object"]["type"] == "Page"
        assert path == "/inbox"  # the shared inbox
        assert a["actor"] == cats and a["object"]["type"] == "Create"
        assert a["object"]["actor"] == p1.actor
        assert "https://www.w3.org/ns/activitystreams#Public" in a["to"]
        group = k.http("GET", "/c/cats", headers={"Accept": "application/activity+json"}).json()
        verify_cavage(headers, path, body, group["publicKey"]["publicKeyPem"], tmp_path)

        def outbox_ids():
            ob = k.http("GET", "/c/cats/outbox", headers={"Accept": "application/activity+json"})
            return [i["object"]["object"]["id"] for i in ob.json()["orderedItems"]]

        # The outbox lets a new follower backfill: Announce(Create(Page)), newest first.
        ob = k.http("GET", "/c/cats/outbox", headers={"Accept": "application/activity+json"}).json()
        assert ob["type"] == "OrderedCollection" and ob["totalItems"] == 1
        item = ob["orderedItems"][0]
        assert item["type"] == "Announce" and item["actor"] == cats
        assert item["object"]["type"] == "Create" and item["object"]["actor"] == p1.actor
        assert item["object"]["object"]["name"] == "Hello cats"
        assert "<script" not in item["object"]["object"]["content"]
        assert "<b>bold</b>" in item["object"]["object"]["content"]
        assert outbox_ids() == [page["id"]]

        # A comment by the other follower, replying to the post.
        note = {"id": f"{p2.base}/comment/1", "type": "Note", "attributedTo": p2.actor,
                "inReplyTo": page["id"], "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [cats], "content": "<p>purr</p>"}
        create2 = json.dumps({"id": f"{p2.base}/create/2", "type": "Create", "actor": p2.actor,
                              "object": note}).encode()
        assert k.http("POST", "/inbox", headers=p2.sign(k.port, "/inbox", create2),
                      body=create2).status == 202
        wait_for(lambda: announced(p1, note["id"]), 15, what="the Announce of the comment")
        # The same Create again is stored once and announced once.
        assert k.http("POST", "/inbox", headers=p2.sign(k.port, "/inbox", create2),
                      body=create2).status == 202
        time.sleep(1.5)
        assert sum(1 for x in p1.received if b"comment/1" in x[2]) == 1
        st = k.ctl("stats").stdout
        assert "posts+comments:  2" in st, st
        # A Create whose object is attributed to someone else is refused.
        forged = json.dumps({"id": f"{p1.base}/create/3", "type": "Create", "actor": p1.actor,
                             "object": dict(page, id=f"{p1.base}/post/3",
                                            attributedTo=p2.actor)}).encode()
        assert k.http("POST", "/inbox", headers=p1.sign(k.port, "/inbox", forged),
                      body=forged).status == 202
        time.sleep(1.5)
        assert not any(b"post/3" in x[2] for x in p2.received)
        assert "posts+comments:  2" in k.ctl("stats").stdout

        def announced_type(p, t, ref):
            return any(json.loads(x[2]).get("type") == "Announce" and
                       json.loads(x[2])["object"]["type"] == t and
                       ref in json.dumps(json.loads(x[2])["object"]) for x in p.received)

        def send(p, act):
            body = json.dumps(act).encode()
            assert k.http("POST", "/inbox", headers=p.sign(k.port, "/inbox", body),
                          body=body).status == 202

        # Votes, and taking one back.
        like = {"id": f"{p2.base}/like/1", "type": "Like", "actor": p2.actor,
                "object": page["id"]}
        send(p2, like)
        wait_for(lambda: announced_type(p1, "Like", f"{p2.base}/like/1"), 15, what="Like announced")
        send(p2, {"id": f"{p2.base}/undo/like/1", "type": "Undo", "actor": p2.actor,
                  "object": like})
        wait_for(lambda: announced_type(p1, "Undo", f"{p2.base}/undo/like/1"), 15,
                 what="Undo Like announced")
        send(p1, {"id": f"{p1.base}/dislike/1", "type": "Dislike", "actor": p1.actor,
                  "object": note["id"]})
        wait_for(lambda: announced_type(p2, "Dislike", f"{p1.base}/dislike/1"), 15,
                 what="Dislike announced")
        # The author edits, then deletes her post; someone else cannot.
        send(p1, {"id": f"{p1.base}/update/1", "type": "Update", "actor": p1.actor,
                  "object": dict(page, content="<p>edited</p>")})
        wait_for(lambda: announced_type(p2, "Update", f"{p1.base}/update/1"), 15,
                 what="Update announced")
        send(p2, {"id": f"{p2.base}/delete/x", "type": "Delete", "actor": p2.actor,
                  "object": page["id"]})
        send(p1, {"id": f"{p1.base}/delete/1", "type": "Delete", "actor": p1.actor,
                  "object": {"id": page["id"], "type": "Tombstone"}})
        wait_for(lambda: announced_type(p2, "Delete", f"{p1.base}/delete/1"), 15,
                 what="Delete announced")
        assert not announced_type(p1, "Delete", f"{p2.base}/delete/x")
        wait_for(lambda: outbox_ids() == [], 10, what="the deleted post gone from the outbox")
    finally:
        p1.close()
        p2.close()


def test_a_rotated_key_is_fetched_again(make_kithd, peer, tmp_path):
    k = start_kith(make_kithd)
    body = follow(peer, k)
    assert to_inbox(peer, k, body).status == 202
    wait_for(lambda: followers(k) == 2, 10, what="the follow applied")
    # The peer rotates its key; kith still holds the old one.
    new = tmp_path / "rotated.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(new))
    peer.key = new
    peer.pub = openssl("pkey", "-in", str(new), "-pubout").decode()
    undo = json.dumps({"id": f"{peer.base}/undo/r", "type": "Undo", "actor": peer.actor,
                       "object": json.loads(body)}).encode()
    r = k.http("POST", "/inbox", headers=peer.sign(k.port, "/inbox", undo), body=undo)
    assert r.status == 202, r.body  # verified after one fresh fetch of the key
    wait_for(lambda: followers(k) == 1, 10, what="the Undo applied")
    # The old key no longer verifies for this actor.
    old = tmp_path / "bob.pem"
    again = json.dumps({"id": f"{peer.base}/undo/r2", "type": "Undo", "actor": peer.actor,
                        "object": json.loads(body)}).encode()
    r = k.http("POST", "/inbox", headers=peer.sign(k.port, "/inbox", again, key=old), body=again)
    assert r.status == 401
    # A stream of bad signatures does not become a stream of key fetches:
    # the key was just fetched again, so it is not fetched again for a minute.
    gets = len(peer.gets)
    for _ in range(5):
        r = k.http("POST", "/inbox", headers=peer.sign(k.port, "/inbox", again, key=old),
                   body=again)
        assert r.status == 401
    assert len(peer.gets) == gets, peer.gets


def test_cavage_cross_checked_with_python3_httpsig(make_kithd, peer, tmp_path):
    """Debian's python3-httpsig, an independent implementation, signs what kith
    verifies and verifies what kith signs."""
    httpsig = pytest.importorskip("httpsig")
    k = start_kith(make_kithd)
    body = follow(peer, k)
    path = "/c/cats/inbox"
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    headers = {"Host": f"127.0.0.1:{k.port}", "Date": formatdate(usegmt=True),
               "Digest": digest, "Content-Type": "application/activity+json"}
    signer = httpsig.HeaderSigner(peer.key_id, peer.key.read_bytes(), algorithm="rsa-sha256",
                                  headers=["(request-target)", "host", "date", "digest"],
                                  sign_header="signature")
    signed = signer.sign(headers, host=headers["Host"], method="POST", path=path)
    r = k.http("POST", path, headers=signed, body=body)
    assert r.status == 202, r.body

    wait_for(lambda: any(b"Accept" in x[2] for x in peer.received), 15, what="Accept delivered")
    rpath, rheaders, rbody, _ = next(x for x in peer.received if b"Accept" in x[2])
    group = k.http("GET", "/c/cats", headers={"Accept": "application/activity+json"}).json()
    lower = {key.lower(): v for key, v in rheaders.items()}
    verifier = httpsig.HeaderVerifier(
        lower, group["publicKey"]["publicKeyPem"].encode(),
        required_headers=["(request-target)", "host", "date", "digest"], method="POST",
        path=rpath, host=lower["host"], sign_header="signature")
    assert verifier.verify()
    assert lower["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(rbody).digest()).decode()
