"""Three kithd instances on loopback, each under its own host name and behind
its own TLS listener, with certificates from a CA this module makes with the
openssl CLI. Outbound requests reach the other two through `resolve` lines and
trust the CA through `ca_file`; nothing is faked: WebFinger, actor fetches,
signatures, deliveries and retries all go through kith's ordinary paths.

- A (a.test) has the community cats; bob (B, b.test) and carol (C, c.test)
  join it, then post, comment, vote, edit and delete; A, B and C converge.
- bob and erin on B follow dana on C and get her public and followers-only
  notes; a direct note to bob reaches only bob (not erin, not carol, not A).
- B goes down; meanwhile A and C have things for it; B comes back and
  catches up through the retried deliveries.

The tests share one set of instances and run in file order: each step builds
on the ones before it.
"""

import json
import shutil
import subprocess
import time

import pytest

from conftest import Kithd, free_port, tls_context, wait_for

AP = "application/activity+json"
SYNC = 20  # seconds allowed for anything to travel between instances


# ------------------------------------------------------------ certificates


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(map(str, args))}:\n{r.stderr}"
    return r.stdout


def make_ca(d):
    """A CA key and self-signed certificate in d: (ca.pem, ca.key)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=kith test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash", cwd=d)
    return d / "ca.pem", d / "ca.key"


def make_cert(d, host):
    """A server certificate for host (and localhost, for the readiness check),
    signed by the CA in d: (cert.pem, key.pem)."""
    ext = d / f"{host}.ext"
    ext.write_text(
        "basicConstraints = CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        f"subjectAltName = DNS:{host}, DNS:localhost\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{host}.key",
            "-out", f"{host}.csr", "-subj", f"/CN={host}", cwd=d)
    openssl("x509", "-req", "-in", f"{host}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{host}.pem", "-days", "2", "-extfile", ext.name, cwd=d)
    return d / f"{host}.pem", d / f"{host}.key"


# ---------------------------------------------------------------- helpers


class Node:
    """One instance: its Kithd, host name, port and base URL."""

    def __init__(self, name, kithd, host, port, ctx):
        self.name = name
        self.k = kithd
        self.host = host  # a.test
        self.port = port
        self.domain = f"{host}:{port}"
        self.url = f"https://{host}:{port}"
        self.ctx = ctx

    def acct(self, name):
        return f"{name}@{self.domain}"

    def user(self, name):
        return f"{self.url}/u/{name}"

    def ctl(self, *args, ok=True):
        r = self.k.ctl(*args, timeout=60)
        if ok:
            assert r.returncode == 0, (
                f"[{self.name}] kithctl {' '.join(map(str, args))} -> {r.returncode}\n"
                f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def act(self, user, *args):
        """kithctl act USER ARGS...; returns the first line of stdout."""
        return self.ctl("act", user, *args).stdout.strip()

    def obj(self, uri):
        """`federation object URI` as a dict, or None when kith holds no such object."""
        r = self.k.ctl("federation", "object", uri, timeout=60)
        if r.returncode == 1 and "holds no object" in r.stderr:
            return None
        assert r.returncode == 0, (
            f"[{self.name}] kithctl federation object {uri} -> {r.returncode}\n"
            f"stdout: {r.stdout}\nstderr: {r.stderr}")
        out = {}
        for line in r.stdout.splitlines():
            key, sep, value = line.partition(": ")
            if not sep and line.endswith(":"):
                key, value = line[:-1], ""
            out[key] = value
        return out

    def timeline(self, user):
        """[(url, author, visibility, text)] of USER's home timeline."""
        rows = []
        for line in self.ctl("act", user, "timeline").stdout.splitlines():
            f = line.split("\t")
            assert len(f) == 4, f"[{self.name}] unparsable timeline line {line!r}"
            rows.append(tuple(f))
        return rows

    def notifications(self, user):
        rows = []
        for line in self.ctl("act", user, "notifications").stdout.splitlines():
            f = line.split("\t")
            assert len(f) == 3, f"[{self.name}] unparsable notification line {line!r}"
            rows.append(tuple(f))
        return rows

    def following(self, user):
        """{uri: state} of what USER follows."""
        out = {}
        for line in self.ctl("act", user, "following").stdout.splitlines()[1:]:
            f = line.split()
            if len(f) == 2:
                out[f[0]] = f[1]
        return out

    def queued(self, host=None):
        """Deliveries queued in all, or for one destination host."""
        st = self.ctl("federation", "status").stdout
        if host is None:
            for line in st.splitlines():
                if line.startswith("deliveries queued:"):
                    return int(line.split(":")[1])
            raise AssertionError(f"[{self.name}] no 'deliveries queued' in:\n{st}")
        for line in st.splitlines():
            f = line.split()
            if f and f[0] == host:
                return int(f[1])
        return 0

    def status(self):
        return self.ctl("federation", "status").stdout

    def get(self, path, headers=None):
        h = {"Host": self.domain, "Accept": AP, **(headers or {})}
        return self.k.http("GET", path, headers=h, timeout=10, tls_ctx=self.ctx)


# Fields of `federation object` that every instance must agree on. "url" is the
# object's id (where it is served); "uri" is the remote id the record was stored
# under, empty on the instance the object was written on, so it differs.
SHARED = ("url", "kind", "community", "author", "title", "content", "visibility", "upvotes",
          "downvotes", "replies", "deleted", "attachments")


def views(nodes, uri):
    return {n.name: n.obj(uri) for n in nodes}


def converged(nodes, uri, **expect):
    """Waits until every node holds uri with the same SHARED fields, matching
    expect (field -> value, or a predicate); returns the common view."""
    last = {}

    def check():
        v = views(nodes, uri)
        last.clear()
        last.update(v)
        if any(x is None for x in v.values()):
            return None
        for field, want in expect.items():
            for x in v.values():
                got = x.get(field)
                if not (want(got) if callable(want) else got == str(want)):
                    return None
        first = next(iter(v.values()))
        if any({f: x.get(f) for f in SHARED} != {f: first.get(f) for f in SHARED}
               for x in v.values()):
            return None
        return first

    try:
        return wait_for(check, SYNC, interval=0.3, what=f"{uri} converged on "
                        f"{','.join(n.name for n in nodes)} with {expect}")
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast views:\n{json.dumps(last, indent=1)}") from None


def held(node, uri, timeout=SYNC):
    return wait_for(lambda: node.obj(uri), timeout, interval=0.3,
                    what=f"{node.name} to hold {uri}")


def wait_queue(node, pred, what, host=None):
    """Waits until pred(deliveries queued at node [for host]); on time-out the
    error carries node's `federation status` as it is then."""
    try:
        wait_for(lambda: pred(node.queued(host)), SYNC, interval=0.3, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}\n[{node.name}] federation status:\n{node.status()}") from None


def drained(*nodes):
    for n in nodes:
        wait_queue(n, lambda q: q == 0, f"{n.name}'s delivery queue to empty")


def in_timeline(node, user, url):
    return next((row for row in node.timeline(user) if row[0] == url), None)


def need(net, *keys):
    """The state earlier steps left, or skip when a step before failed to make it."""
    missing = [k for k in keys if k not in net["state"]]
    if missing:
        pytest.skip(f"an earlier step did not produce {missing}")
    return [net["state"][k] for k in keys]


def own_copy(node, uri):
    """On the instance an object was written on, `federation object` must find
    the local record itself (no remote id stored: `uri:` empty), not a second,
    remote copy stored when the community's Announce brought the object back."""
    v = node.obj(uri)
    assert v is not None, f"{node.name} does not hold its own {uri}"
    assert v["url"] == uri and v["uri"] == "", (
        f"{node.name} answers for its own {uri} with a record stored under the remote id "
        f"{v['uri']!r}: it stored the object again when the community's Announce echoed it "
        f"back\n{v}")
    return v


# --------------------------------------------------------------- the three


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not installed")
    root = tmp_path_factory.mktemp("three")
    pki = root / "pki"
    pki.mkdir()
    ca, _ = make_ca(pki)
    ctx = tls_context(ca)
    names = ("a", "b", "c")
    ports = {n: free_port() for n in names}
    nodes = {}
    for n in names:
        host = f"{n}.test"
        crt, key = make_cert(pki, host)
        others = [f"resolve = {m}.test:{ports[m]}:127.0.0.1" for m in names if m != n]
        k = Kithd(root / n, listens=[f"127.0.0.1:{ports[n]} tls"], extra=[
            f"domain = {host}:{ports[n]}",
            f"public_url = https://{host}:{ports[n]}",
            f"tls_cert = {crt}",
            f"tls_key = {key}",
            f"ca_file = {ca}",
            *others,
            "allow_private_addresses = true",
            "delivery_retry_base = 200ms",
        ])
        k.ready_tls = ctx
        nodes[n] = Node(n.upper(), k, host, ports[n], ctx)
    try:
        for node in nodes.values():
            node.k.start(ready_timeout=30)
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        a.ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats")
        b.ctl("user", "add", "bob")
        b.ctl("user", "add", "erin")
        c.ctl("user", "add", "carol")
        c.ctl("user", "add", "dana")
        yield {"a": a, "b": b, "c": c, "all": (a, b, c), "state": {}}
    finally:
        for node in nodes.values():
            node.k.cleanup()


# ------------------------------------------------------------------ tests


def test_members_on_b_and_c_join_the_community_on_a(net):
    a, b, c = net["a"], net["b"], net["c"]
    cats = f"{a.url}/c/cats"
    # By handle (WebFinger over https, through resolve and the test CA) and by URL.
    assert "pending" in b.act("bob", "follow", a.acct("cats"))
    assert "pending" in c.act("carol", "follow", cats)
    wait_for(lambda: b.following("bob").get(cats) == "accepted", SYNC, interval=0.3,
             what="bob's follow of cats accepted")
    wait_for(lambda: c.following("carol").get(cats) == "accepted", SYNC, interval=0.3,
             what="carol's follow of cats accepted")
    r = a.get("/c/cats/followers")
    assert r is not None and r.status == 200, r
    assert r.json()["totalItems"] == 3  # admin, bob, carol
    # The WebFinger lookups went over TLS to A: A's access log has them.
    assert any(e["method"] == "GET" and e["uri"].startswith("/.well-known/webfinger")
               for e in a.k.access()), "no WebFinger request in A's access log"


def test_a_post_from_b_reaches_a_and_c(net):
    a, b, c, every = net["a"], net["b"], net["c"], net["all"]
    cats = f"{a.url}/c/cats"
    bob = b.user("bob")
    # bob posts into cats from B: Create to A, A announces to its followers (B, C).
    post = b.act("bob", "post", a.acct("cats"), "--title", "Three cats",
                 "--body", "One on each instance.")
    assert post.startswith(f"{b.url}/post/"), post
    net["state"]["post"] = post
    v = converged(every, post, title="Three cats", kind="post", community=cats, author=bob,
                  deleted="no", content=lambda s: "One on each instance." in (s or ""))
    assert v["replies"] == "0" and v["upvotes"] == "0" and v["downvotes"] == "0", v
    # The post is served at its URL on B, as ActivityPub JSON.
    r = b.get(post[len(b.url):])
    assert r is not None and r.status == 200, r
    doc = r.json()
    assert doc["id"] == post and doc["name"] == "Three cats", doc
    assert doc["attributedTo"] == bob, doc
    # Both members see it in their home timelines.
    assert in_timeline(b, "bob", post), b.timeline("bob")
    wait_for(lambda: in_timeline(c, "carol", post), SYNC, interval=0.3,
             what="bob's post in carol's timeline on C")
    # A's Announce has reached B too by now (C got its copy): B still answers
    # for its own post with the local record.
    drained(*every)
    own_copy(b, post)


def test_a_comment_from_c_reaches_a_and_b(net):
    a, b, c, every = net["a"], net["b"], net["c"], net["all"]
    (post,) = need(net, "post")
    comment = c.act("carol", "comment", post, "--body", "Mine is orange.")
    assert comment.startswith(f"{c.url}/comment/"), comment
    net["state"]["comment"] = comment
    converged(every, comment, kind="comment", community=f"{a.url}/c/cats",
              author=c.user("carol"), deleted="no",
              content=lambda s: "Mine is orange." in (s or ""))
    converged(every, post, replies=1)
    own_copy(c, comment)


def test_votes_converge(net):
    b, c, every = net["b"], net["c"], net["all"]
    post, comment = need(net, "post", "comment")
    # bob likes carol's comment (from B); carol dislikes bob's post, then takes it back.
    assert b.act("bob", "vote", comment, "up") == comment
    converged(every, comment, upvotes=1, downvotes=0)
    c.act("carol", "vote", post, "down")
    converged(every, post, upvotes=0, downvotes=1)
    c.act("carol", "vote", post, "none")
    converged(every, post, upvotes=0, downvotes=0)


def test_the_author_edits_his_post(net):
    b, every = net["b"], net["all"]
    (post,) = need(net, "post")
    assert b.act("bob", "edit", post, "--title", "Three cats, edited",
                 "--body", "Edited: one on each instance.") == post
    net["state"]["edited"] = True
    converged(every, post, title="Three cats, edited",
              content=lambda s: "Edited: one on each instance." in (s or "")
              and "One on each" not in (s or ""))


def test_the_author_deletes_her_comment(net):
    c, every = net["c"], net["all"]
    (comment,) = need(net, "comment")
    assert c.act("carol", "delete", comment) == comment
    converged(every, comment, deleted="yes")
    # A deleted comment is served as a Tombstone (or gone) at its URL.
    r = c.get(comment[len(c.url):])
    assert r is not None and r.status in (200, 404, 410), r
    if r.status == 200:
        assert r.json().get("type") == "Tombstone", r.json()


def test_every_instance_converged(net):
    every = net["all"]
    post, comment = need(net, "post", "comment")
    # A, the community's home, is the reference; B and C hold the same.
    p = converged(every, post, title="Three cats, edited", deleted="no", upvotes=0,
                  downvotes=0)
    cm = converged(every, comment, deleted="yes", upvotes=1, downvotes=0)
    assert p["author"] == net["b"].user("bob") and cm["author"] == net["c"].user("carol")
    own_copy(net["b"], post)
    own_copy(net["c"], comment)
    # Once done, nobody has anything left to deliver.
    drained(*every)


def test_a_person_follows_another_and_gets_her_notes(net):
    a, b, c = net["a"], net["b"], net["c"]
    dana = c.user("dana")
    assert "pending" in b.act("bob", "follow", c.acct("dana"))
    assert "pending" in b.act("erin", "follow", dana)
    for who in ("bob", "erin"):
        wait_for(lambda: b.following(who).get(dana) == "accepted", SYNC, interval=0.3,
                 what=f"{who}'s follow of dana accepted")
    r = c.get("/u/dana/followers")
    assert r is not None and r.status == 200 and r.json()["totalItems"] == 2, r

    public = c.act("dana", "note", "--body", "Public hello from dana")
    followers = c.act("dana", "note", "--visibility", "followers",
                      "--body", "Only for my followers")
    for note in (public, followers):
        assert note.startswith(f"{c.url}/note/"), note
    net["state"]["notes"] = (public, followers)
    for who in ("bob", "erin"):
        row = wait_for(lambda: in_timeline(b, who, public), SYNC, interval=0.3,
                       what=f"dana's public note in {who}'s timeline on B")
        assert row[1] == dana and row[2] == "public" and row[3] == "Public hello from dana", row
        row = wait_for(lambda: in_timeline(b, who, followers), SYNC, interval=0.3,
                       what=f"dana's followers-only note in {who}'s timeline on B")
        assert row[1] == dana and row[2] == "followers" and row[3] == "Only for my followers", row
    v = b.obj(followers)
    assert v["visibility"] == "followers" and v["author"] == dana, v
    # A has no follower of dana: it never gets her notes.
    assert a.obj(public) is None and a.obj(followers) is None
    # carol, on dana's own instance but not a follower, does not see the
    # followers-only note in her timeline.
    assert not in_timeline(c, "carol", followers), c.timeline("carol")


def test_a_direct_message_reaches_only_its_recipient(net):
    a, b, c = net["a"], net["b"], net["c"]
    dana = c.user("dana")
    drained(*net["all"])  # nothing left over from the steps before
    a_posts_before = sum(1 for e in a.k.access() if e["method"] == "POST")
    dm = c.act("dana", "note", "--visibility", "direct", "--to", b.acct("bob"),
               "--body", "Psst, bob: a secret")
    assert dm.startswith(f"{c.url}/note/"), dm
    net["state"]["dm"] = dm
    row = wait_for(lambda: in_timeline(b, "bob", dm), SYNC, interval=0.3,
                   what="the direct note in bob's timeline on B")
    assert row[1] == dana and row[2] == "direct" and "a secret" in row[3], row
    note = wait_for(lambda: [n for n in b.notifications("bob") if n[2] == dm], SYNC,
                    interval=0.3, what="bob's mention notification for the direct note")
    assert note[0][:2] == ("mention", dana), note
    v = b.obj(dm)
    assert v["visibility"] == "direct", v
    # Nobody else: erin follows dana on the same instance as bob.
    time.sleep(1.0)  # let anything else that might arrive arrive
    assert not in_timeline(b, "erin", dm), b.timeline("erin")
    assert not any(n[2] == dm for n in b.notifications("erin")), b.notifications("erin")
    assert not in_timeline(c, "carol", dm), c.timeline("carol")
    # A never received it (nothing was delivered to A meanwhile).
    assert a.obj(dm) is None
    a_posts = [e for e in a.k.access() if e["method"] == "POST"][a_posts_before:]
    assert not a_posts, f"A received POSTs after the direct note: {a_posts}"
    # Its URL does not reveal it to an unsigned fetch.
    r = c.get(dm[len(c.url):])
    assert r is not None, "no answer for the direct note's URL"
    assert b"a secret" not in r.body, (r.status, r.body[:300])


def test_b_goes_down_and_catches_up(net):
    a, b, c, every = net["a"], net["b"], net["c"], net["all"]
    cats = f"{a.url}/c/cats"
    (post,) = need(net, "post")
    bhost = b.domain

    b.k.stop()
    down_at = time.monotonic()
    # While B is away: carol posts into cats and comments on bob's post (both
    # through A, which must announce them to B), and dana writes a note (C
    # delivers it to bob and erin on B).
    new_post = c.act("carol", "post", cats, "--title", "While B was away",
                     "--body", "B will see this later.")
    reply = c.act("carol", "comment", post, "--body", "Are you there, bob?")
    note = c.act("dana", "note", "--body", "A note while B sleeps")
    held(a, new_post)
    held(a, reply)
    # A and C keep jobs for B and retry them.
    for n in (a, c):
        wait_queue(n, lambda q: q > 0, f"{n.name} to hold deliveries for {bhost}", host=bhost)
    time.sleep(max(0.0, 3.0 - (time.monotonic() - down_at)))  # down for a while
    assert b.obj(new_post) is None  # kithctl works offline: B indeed has nothing yet

    b.k.start(ready_timeout=30)
    up_at = time.monotonic()
    converged(every, new_post, title="While B was away", author=c.user("carol"),
              community=cats, deleted="no")
    converged(every, reply, kind="comment", deleted="no",
              content=lambda s: "Are you there, bob?" in (s or ""))
    held(b, note)
    caught_up = time.monotonic() - up_at
    wait_for(lambda: in_timeline(b, "bob", new_post), SYNC, interval=0.3,
             what="carol's new post in bob's timeline")
    wait_for(lambda: in_timeline(b, "bob", note), SYNC, interval=0.3,
             what="dana's note in bob's timeline")
    # The deliveries arrived as POSTs to B's inboxes in its second run.
    posts = [e for e in b.k.access() if e["method"] == "POST" and e["uri"].endswith("inbox")]
    assert posts and all(e["status"] == 202 for e in posts), posts
    drained(a, c)
    assert caught_up < SYNC, f"B took {caught_up:.1f}s to catch up"
    # And the earlier state survived B's restart.
    if net["state"].get("edited"):
        converged(every, post, title="Three cats, edited", deleted="no")
    own_copy(b, post)
    own_copy(c, new_post)
    own_copy(c, reply)
