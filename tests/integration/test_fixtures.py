"""Every fixture in ../shared/fixtures/activitypub/ (activities, objects and
collections captured from Lemmy, Mastodon, Mbin, Pleroma, Friendica, Discourse
and NodeBB) through kith's real path: one kithd for the module, the remote
servers played by fixture_peer.Stub, the fixture body signed (draft-cavage,
keys made with the openssl CLI) and POSTed to an inbox, kith's effect read back
with kithctl.

Hosts: every remote URL ``https://HOST/PATH`` of a fixture is rewritten, on a
deep copy (the files stay unedited), to ``http://HOST.test:STUB/tN/PATH``
(``lemmy-alpha:8541`` becomes ``lemmy-alpha-8541.test``); kithd gets one
``resolve = HOST.test:STUB:127.0.0.1`` line per host and
``allow_private_addresses = true``. ``tN`` is a namespace per test, so every
test has its own remote actors and objects in the shared kithd. See
fixture_peer.py for what the stub serves.

How each fixture reaches kith, as kith would really get it:

- an activity for a remote community arrives inside that community's
  Announce, signed by the community, POSTed to kith's shared inbox, after the
  local user alice has followed the community (and the stub, playing the
  community, has accepted); an Announce fixture is delivered as it is;
- an activity addressed to a person is re-addressed: a Follow of a community
  to the local community club, a Follow of a person, a private message or a
  warning to the local user bob, an Accept to alice (with the id of the Follow
  kith really sent); the copy is POSTed to that local actor's inbox;
- a public note of a person (Mastodon) arrives at the shared inbox after alice
  has followed its author;
- a bare note or private message object (no activity around it, e.g.
  Mastodon's private message, which is a Note) arrives inside a Create by its
  attributedTo;
- an Undo (and a Resolve) is preceded by the activity it embeds, delivered the
  same way; a vote, edit, deletion or comment is preceded by what it refers to:
  the fixture that creates it when there is one (create_page before
  create_comment), else a minimal synthetic Page or Note with the referenced
  id, served by the stub;
- a post or comment object fixture is named by id in its community's
  Announce (as PieFed and Mbin send them): kith fetches it from the stub;
- actor fixtures are followed by alice (kith fetches and parses the document,
  then verifies the Accept signed with its key); instance actors
  (Application) sign an Update of themselves, which kith can only verify by
  fetching and parsing their document; collection fixtures are served at their
  ids, referenced by the actor alice follows, and checked to parse on the
  harness side (kith fetches no remote collection yet: each test logs whether
  it did).

Test-data slips the fixture README warns about are fixed on the copy (an
``audience`` naming a user or another community than the activity's own is set
to the activity's community); each fix is next to its fixture below.

Expected effects use the kithctl contract: `federation activity ID`,
`federation object URI`, `act USER timeline|notifications|following`,
`stats` and the followers collections. The moderation family (Block, Add,
Remove, Lock, Flag, Warn, Resolve, a moderator's Delete, and their Undo) must
be stored (state stored), acknowledged (202) and change nothing else (a
snapshot of counts, timelines, notifications, follows and the objects involved
before and after). A community's post must also show in alice's home
timeline, a private message in bob's (and not in alice's). After every test
kithd must still run, its access log must hold no 5xx and its log no
"dropped" activity of the test.

Run: KITH_BUILD=build /usr/bin/python3 -m pytest -q -p no:cacheprovider
tests/integration/test_fixtures.py (about 30 s). A failure prints the test's
namespace, every POST and kith's record of it, kithd's warnings and what kith
fetched from and delivered to the stub.
"""

import itertools
import time

import pytest

from conftest import Kithd, free_port, serve, wait_for
from fixture_peer import (AS_PUBLIC, FIXTURES, OBJECT_TYPES, Missing, Scenario, Stub, World,
                          fixture_files, id_of, replace_strings)

ALL = fixture_files()

E = "https://enterprise.lemmy.ml"
D = "https://ds9.lemmy.ml"
ENT_MAIN = E + "/c/main"
DS9_MAIN = D + "/c/main"
TESTCOM = D + "/c/testcom"
TENFWD = E + "/c/tenforward"
LEMMY_ALPHA = D + "/u/lemmy_alpha"
LEMMY_BETA = E + "/u/lemmy_beta"
POST1 = D + "/post/1"
COMMENT1 = D + "/comment/1"
POST7 = E + "/post/7"
POST55143 = E + "/post/55143"
FELIX = "https://mastodon.madrid/users/felix"
HELUECHT = "https://pirati.ca/profile/heluecht"
F_PARENT = "https://pirati.ca/objects/ec054ce7-2062-3bfa-8687-ca8313624820"
F_COMMENT = "https://pirati.ca/objects/ec054ce7-4762-3c1c-3c25-0cc665717210"

_ns = itertools.count(1)


# ------------------------------------------------------------------ module


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixtures")
    stub = Stub(root)
    port = free_port()
    k = Kithd(root / "kith", listens=[f"127.0.0.1:{port}"], threads=2,
              extra=[f"domain = 127.0.0.1:{port}", f"public_url = http://127.0.0.1:{port}",
                     "allow_private_addresses = true", "delivery_retry_base = 200ms",
                     *stub.resolve_lines()])
    stub.kith_port = port
    try:
        for k_ in serve(k):
            for args in (("user", "add", "alice"), ("user", "add", "bob"),
                         ("community", "add", "club", "--owner", "admin", "--title", "Club")):
                r = k.ctl(*args)
                assert r.returncode == 0, r.stderr
            yield World(k, stub)
    finally:
        stub.close()


@pytest.fixture
def scn(world):
    """A Scenario in a fresh namespace; kithd restarted first if an earlier
    test killed it. Fails the test if kithd dies or answers 5xx meanwhile."""
    k = world.k
    if not k.running():
        k.start()
    run, n = k.runs, len(k.access())
    s = Scenario(world, f"t{next(_ns)}")
    yield s
    if not k.running():
        rc = k.proc.returncode
        tail = "\n".join(k.stderr().splitlines()[-30:])
        k.start()
        pytest.fail(f"kithd died during this test (exit {rc}):\n{tail}")
    if k.runs == run:
        bad = [e for e in k.access()[n:] if e["status"] >= 500]
        assert not bad, f"kithd answered 5xx: {bad}"


def kith_log_since(k, n_lines):
    return [l for l in k.stderr().splitlines()[n_lines:]
            if " access " not in l and (" warn " in l or " error " in l)]


@pytest.mark.parametrize("rel", ALL, ids=ALL)
def test_fixture(scn, rel):
    assert (FIXTURES / rel).exists()
    handler = HANDLERS.get(rel)
    assert handler is not None, f"no scenario for the fixture {rel}: add one to test_fixtures.py"
    k = scn.w.k
    start = len(k.stderr().splitlines())
    try:
        handler(scn, rel)
    except Missing as e:
        pytest.fail(f"waiting on the lead: {e}", pytrace=False)
    finally:
        print(f"namespace {scn.ns}")
        for line in scn.notes:
            print("  " + line)
        for line in kith_log_since(k, start):
            print("  kithd: " + line)
        for url, status in scn.stub.gets_in(scn.ns):
            print(f"  kith GET {url} -> {status}")
        for url, _, body in scn.stub.posts_in(scn.ns):
            print(f"  kith POST {url} {body.get('type') if isinstance(body, dict) else body!r}")
    assert k.running(), "kithd died"
    # An entry the inbox processor could not apply is dropped with a warning: lost work.
    dropped = [l for l in kith_log_since(k, start) if "dropped" in l and scn.ns in l]
    assert not dropped, f"kithd dropped activities of this test: {dropped}"


def test_every_fixture_has_a_scenario():
    assert sorted(set(ALL) - set(HANDLERS)) == []
    assert sorted(set(HANDLERS) - set(ALL)) == []


# ------------------------------------------------------------ expectations


def has(text):
    return lambda v: v is not None and text in v


def check_fields(got, want, what):
    for key, exp in want.items():
        val = got.get(key)
        ok = exp(val) if callable(exp) else val == str(exp)
        assert ok, f"{what}: {key} is {val!r}, expected {exp if not callable(exp) else 'match'}" \
                   f"\nall fields: {got}"


def expect_object(scn, uri, timeout=5, **want):
    got = scn.object(uri, timeout=timeout)
    check_fields(got, {k: (scn.u(v) if isinstance(v, str) and v.startswith("http") else v)
                       for k, v in want.items()}, f"object {scn.u(uri)}")
    if got.get("kind") == "post" and got.get("community"):
        in_timeline(scn, got)  # a post of a community alice is a member of
    return got


def in_timeline(scn, obj, user=None):
    user = user or scn.w.alice
    tl = scn.kith.timeline(user)
    assert any(l[0] in (obj["url"], obj["uri"]) and l[1] == obj["author"] for l in tl), \
        f"{obj['uri']} (url {obj['url']}) is not in {user}'s home timeline: {tl[:5]}..."


def wait_field(scn, uri, key, value, timeout=5):
    uri = scn.u(uri)

    def ok():
        o = scn.kith.object(uri)
        return o is not None and o.get(key) == str(value)

    try:
        wait_for(ok, timeout, what=f"{key} of {uri}")
    except AssertionError:
        raise AssertionError(f"object {uri}: {key} stayed {(scn.kith.object(uri) or {}).get(key)!r}"
                             f", expected {value!r}; all fields: {scn.kith.object(uri)}") from None


def expect_state(rec, state, what):
    states = (state,) if isinstance(state, str) else state
    assert rec.get("state") in states, f"{what}: kith's record is {rec}, expected state {state}"


def via_group(scn, group, act, state="applied"):
    ann = scn.announce(group, act)
    rec = scn.inner_record(ann)
    scn.log(f"  record of {act['type']} {act['id']}: {dict(rec, raw='...')}")
    check_fields(rec, {"type": act["type"], "actor": act["actor"]}, f"record of {act['id']}")
    if state:
        expect_state(rec, state, f"{act['type']} {act['id']} announced by {scn.u(group)}")
    return rec


def direct(scn, act, path, state="applied"):
    scn.send(act["actor"], act, path=path)
    rec = scn.record(act["id"])
    scn.log(f"  record of {act['type']} {act['id']}: {dict(rec, raw='...')}")
    check_fields(rec, {"type": act["type"], "actor": act["actor"]}, f"record of {act['id']}")
    if state:
        expect_state(rec, state, f"{act['type']} {act['id']} at {path}")
    return rec


def optional(fn):
    try:
        return fn()
    except Missing as e:
        return f"n/a: {e}"


def snapshot(scn):
    """What 'nothing else changed' compares."""
    w, kith = scn.w, scn.kith
    st = kith.stats()
    snap = {"stats": {k: st.get(k) for k in ("users", "communities", "posts+comments", "votes",
                                            "follows")}}
    for user in (w.alice, w.bob):
        snap[f"timeline of {user}"] = optional(
            lambda: [l for l in kith.timeline(user) if scn.ns in "\t".join(l)])
        snap[f"notifications of {user}"] = optional(
            lambda: [l for l in kith.notifications(user) if scn.ns in "\t".join(l)])
    snap["alice follows"] = {u: s for u, s in kith.following(w.alice).items() if scn.ns in u}
    snap["club followers"] = kith.total("/c/club/followers")
    snap["bob followers"] = kith.total("/u/bob/followers")
    snap["objects"] = {u: optional(lambda: kith.object(u)) for u in scn.objects}
    return snap


def assert_unchanged(before, after):
    diff = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    assert not diff, f"something else changed (before, after): {diff}"


# ------------------------------------------------------------ prerequisites


def synth_post(scn, obj_id, author, group, title="Synthetic parent", reply_to=None,
               type_="Page", content="<p>a parent for a fixture</p>", to_followers=False):
    """A minimal post (or, with reply_to, comment) with a fixture's id, served
    by the stub and delivered in group's Announce (or, with group None, to the
    shared inbox after alice followed the author)."""
    def make():
        obj = {"id": scn.u(obj_id), "type": type_, "attributedTo": scn.u(author),
               "content": content, "mediaType": "text/html",
               "published": "2022-01-01T00:00:00Z"}
        if group:
            obj.update(to=[scn.u(group), AS_PUBLIC], audience=scn.u(group))
        else:
            obj.update(to=[AS_PUBLIC], cc=[scn.u(author) + "/followers"])
        if reply_to:
            obj["inReplyTo"] = scn.u(reply_to)
        elif type_ == "Page":
            obj["name"] = title
        scn.stub.put(obj)
        act = scn.create_of(obj)
        if group:
            via_group(scn, group, act)
        else:
            scn.ensure_following(author)
            direct(scn, act, "/inbox")
        got = scn.object(obj["id"])
        scn.log(f"prerequisite {obj['id']}: kind {got.get('kind')}")
        return obj["id"]

    return scn.once(("synth", obj_id), make)


def pre_post1(scn):
    """ds9 post/1 in enterprise c/main (create_page.json)."""
    def make():
        via_group(scn, ENT_MAIN, scn.load("lemmy/activities/create_or_update/create_page.json"))
        scn.object(POST1)
    scn.once("post1", make)


def pre_comment1(scn):
    """ds9 comment/1 on post/1 (create_comment.json)."""
    def make():
        pre_post1(scn)
        via_group(scn, ENT_MAIN,
                  scn.load("lemmy/activities/create_or_update/create_comment.json"))
        scn.object(COMMENT1)
    scn.once("comment1", make)


def pre_post7(scn):
    """enterprise post/7 (announce_create_page.json)."""
    def make():
        ann = scn.load("lemmy/activities/community/announce_create_page.json")
        ann["object"]["object"]["audience"] = scn.u(ENT_MAIN)  # slip: audience named a user
        scn.ensure_following(ENT_MAIN)
        scn.send(ENT_MAIN, ann)
        scn.inner_record(ann)
        scn.object(POST7)
    scn.once("post7", make)


def pre_post55143(scn):
    """enterprise post/55143 in c/tenforward (objects/page.json)."""
    def make():
        obj = scn.load("lemmy/objects/page.json")
        via_group(scn, TENFWD, scn.create_of(obj))
        scn.object(POST55143)
    scn.once("post55143", make)


def pre_pm1(scn):
    """enterprise private_message/1 from lemmy_beta to bob (create_private_message.json)."""
    def make():
        act = scn.load("lemmy/activities/create_or_update/create_private_message.json")
        act = readdress(scn, act, LEMMY_ALPHA, scn.w.bob_url)
        direct(scn, act, "/u/bob/inbox")
        scn.object(E + "/private_message/1")
    scn.once("pm1", make)


def pre_friendica_thread(scn, comment=False):
    synth_post(scn, F_PARENT, "https://pirati.ca/profile/test8", TESTCOM,
               title="A Friendica thread")
    if comment:
        def make():
            upd = scn.load("friendica/activities/update_note.json")
            obj = dict(upd["object"])
            obj.pop("updated", None)
            obj["content"] = "This is a comment."
            obj["source"] = {"content": "This is a comment.", "mediaType": "text/bbcode"}
            scn.stub.put(obj)
            act = scn.create_of(obj)
            act["@context"] = upd["@context"]
            via_group(scn, TESTCOM, act)
            scn.object(F_COMMENT)
        scn.once("fcomment", make)


def readdress(scn, doc, remote, local):
    return replace_strings(doc, {scn.u(remote): local})


# --------------------------------------------------------------- scenarios

HANDLERS = {}


def handler(*rels):
    def deco(fn):
        for r in rels:
            assert r not in HANDLERS, r
            HANDLERS[r] = fn
        return fn

    return deco


def on(rel, fn, *args, **kw):
    """Registers fn(scn, rel, *args, **kw) for one fixture."""
    assert rel not in HANDLERS, rel
    HANDLERS[rel] = lambda scn, r: fn(scn, r, *args, **kw)


# ---- follows and their undo


def follow_fixture(scn, rel, local):
    """A Follow re-addressed to a local community (club) or person (bob):
    membership or follow recorded, Accept delivered to the follower."""
    w = scn.w
    act = scn.load(rel)
    undo = act["type"] == "Undo"
    target = id_of(act["object"]["object"] if undo else act["object"])
    url, path = (w.club_url, "/c/club") if local == "c" else (w.bob_url, "/u/bob")
    if undo:
        follow = dict(readdress(scn, act["object"], target, url))
        follow.setdefault("@context", act.get("@context", "https://www.w3.org/ns/activitystreams"))
        before = do_follow(scn, follow, url, path)
        act = readdress(scn, act, target, url)
        direct(scn, act, path + "/inbox")
        wait_for(lambda: w.kith.total(path + "/followers") == before, 5,
                 what=f"{path} followers back to {before} after the Undo")
        return
    act = readdress(scn, act, target, url)
    do_follow(scn, act, url, path)


def do_follow(scn, follow, url, path):
    w = scn.w
    before = w.kith.total(path + "/followers")
    direct(scn, follow, path + "/inbox")
    wait_for(lambda: w.kith.total(path + "/followers") == before + 1, 5,
             what=f"{path} followers {before} -> {before + 1}")
    _, _, accept = scn.stub.wait_post(
        scn.ns, lambda u, b: b.get("type") == "Accept" and id_of(b.get("object")) == follow["id"],
        what=f"kith's Accept of {follow['id']} at the stub")
    assert accept["actor"] == url, accept
    if path.startswith("/u/"):
        notes = w.kith.notifications(w.bob)
        assert any(n[0] == "follow" and n[1] == follow["actor"] for n in notes), \
            f"no follow notification for bob from {follow['actor']}: {notes}"
    return before


on("lemmy/activities/following/follow.json", follow_fixture, "c")
on("lemmy/activities/following/undo_follow.json", follow_fixture, "c")
on("mastodon/activities/follow.json", follow_fixture, "c")
on("mastodon/activities/undo_follow.json", follow_fixture, "c")
on("pleroma/activities/follow.json", follow_fixture, "u")


def accept_fixture(scn, rel, group, follower):
    """The community answers the Follow alice really sent."""
    w = scn.w
    g = scn.u(group)
    scn.stub.no_accept.add(g)
    r = w.k.ctl("act", w.alice, "follow", g)
    assert r.returncode == 0, r.stdout + r.stderr
    _, _, follow = scn.stub.wait_post(
        scn.ns, lambda u, b: b.get("type") == "Follow" and id_of(b.get("object")) == g,
        what=f"kith's Follow of {g}")
    assert w.kith.following(w.alice).get(g) == "pending"
    act = readdress(scn, scn.load(rel), follower, w.alice_url)
    act["object"]["id"] = follow["id"]
    direct(scn, act, f"/u/{w.alice}/inbox")
    wait_for(lambda: w.kith.following(w.alice).get(g) == "accepted", 5,
             what=f"alice's follow of {g} accepted")


on("lemmy/activities/following/accept.json", accept_fixture, ENT_MAIN, LEMMY_ALPHA)
on("mbin/activities/accept.json", accept_fixture, "https://some-mbin.instance/m/someMag",
   "https://some-other.instance/u/someUser")


# ---- posts, comments, notes, private messages


@handler("lemmy/activities/create_or_update/create_page.json")
def _(scn, rel):
    act = scn.load(rel)
    via_group(scn, ENT_MAIN, act)
    # Lemmy's attachment [{"type": "Link"}] is the post's link, not a media attachment.
    expect_object(scn, POST1, kind="post", title="test post", community=ENT_MAIN,
                  author=LEMMY_ALPHA, visibility="public", content=has("test body"),
                  link="https://lemmy.ml/pictrs/image/xl8W7FZfk9.jpg", attachments=0,
                  deleted="no", upvotes=0, downvotes=0, replies=0)


@handler("lemmy/activities/create_or_update/create_comment.json")
def _(scn, rel):
    pre_post1(scn)
    via_group(scn, ENT_MAIN, scn.load(rel))
    expect_object(scn, COMMENT1, kind="comment", community=ENT_MAIN, author=LEMMY_ALPHA,
                  content=has("hello"), visibility="public", deleted="no")
    wait_field(scn, POST1, "replies", 1)


@handler("lemmy/activities/community/announce_create_page.json")
def _(scn, rel):
    ann = scn.load(rel)
    ann["object"]["object"]["audience"] = scn.u(ENT_MAIN)  # slip: audience named a user
    scn.ensure_following(ENT_MAIN)
    scn.send(ENT_MAIN, ann)
    rec = scn.inner_record(ann)
    expect_state(rec, "applied", "the Create inside the Announce")
    expect_object(scn, POST7, kind="post", title="post 4", community=ENT_MAIN,
                  author=LEMMY_BETA, visibility="public", deleted="no")


def private_message(scn, rel, recipient, bare=False, sender=None):
    w = scn.w
    doc = scn.load(rel)
    act = scn.create_of(doc) if bare else doc
    act = readdress(scn, act, recipient, w.bob_url)
    assert w.bob_url in act["object"]["to"], act["object"]["to"]
    direct(scn, act, "/u/bob/inbox")
    oid = act["object"]["id"]
    expect_object(scn, oid, kind="note", visibility="direct", author=act["actor"],
                  deleted="no")
    notes = w.kith.notifications(w.bob)
    got = scn.object(oid)
    assert any(n[0] == "mention" and n[1] == act["actor"] and n[2] in (oid, got["url"])
               for n in notes), \
        f"bob has no mention notification for {oid}: {notes}"
    in_timeline(scn, got, user=w.bob)
    assert not any(l[0] in (oid, got["url"]) for l in w.kith.timeline(w.alice)), \
        "a private message to bob shows in alice's timeline"


on("lemmy/activities/create_or_update/create_private_message.json", private_message,
   LEMMY_ALPHA)
on("lemmy/activities/create_or_update/create_private_message_0.19.json", private_message,
   "https://voyager.lemmy.ml/u/nutomic")
on("mastodon/activities/private_message.json", private_message, "https://ds9.lemmy.ml/u/nutomic",
   bare=True)
on("lemmy/objects/private_message.json", private_message,
   "https://queer.hacktivis.me/users/lanodan", bare=True)
on("pleroma/objects/chat_message.json", private_message, "https://enterprise.lemmy.ml/u/picard",
   bare=True)


def person_note(scn, rel, author, needle, visibility, bare=False):
    """A note of a person alice follows, at the shared inbox: in her timeline."""
    w = scn.w
    doc = scn.load(rel)
    act = scn.create_of(doc) if bare else doc
    scn.ensure_following(author)
    direct(scn, act, "/inbox")
    oid = act["object"]["id"]
    expect_object(scn, oid, kind="note", author=author, visibility=visibility,
                  content=has(needle), deleted="no")
    tl = w.kith.timeline(w.alice)
    assert any(l[1] == scn.u(author) and needle in l[-1] for l in tl), \
        f"the note is not in alice's timeline: {tl}"


on("mastodon/activities/create_note.json", person_note, FELIX, "thinkpad", "unlisted")
on("mastodon/objects/note_1.json", person_note, FELIX, "thinkpad", "unlisted", bare=True)


def community_object(scn, rel, group, pre=None, **want):
    """A post or comment object, named by id in the community's Announce: kith
    fetches it from the stub (which serves the fixture at its id) and parses it."""
    if pre:
        pre(scn)
    obj = scn.load(rel)
    ann = scn.announce_ref(group, obj["id"])
    rec = scn.record(ann["id"])
    scn.log(f"  record of the Announce {ann['id']}: {dict(rec, raw='...')}")
    fetched = [s for u, s in scn.stub.gets_in(scn.ns) if u == obj["id"]]
    assert fetched == [200], f"kith did not fetch the announced object {obj['id']}: {fetched}"
    expect_state(rec, "applied", f"Announce of {obj['id']} by id")
    try:
        return expect_object(scn, obj["id"], community=group,
                             author=id_of(obj["attributedTo"]), deleted="no", **want)
    except AssertionError as e:
        as_activity = scn.kith.activity(obj["id"])
        if as_activity:
            raise AssertionError(f"{e}\nkith recorded the object as an activity: "
                                 f"{dict(as_activity, raw='...')}") from None
        raise


def community_activity(scn, rel, group, oid, pre=None, **want):
    if pre:
        pre(scn)
    act = scn.load(rel)
    via_group(scn, group, act)
    return expect_object(scn, oid, community=group, author=act["actor"], deleted="no", **want)


# Lemmy: an attachment of type Link is the post's link; an Image is a media attachment.
on("lemmy/objects/page.json", community_object, TENFWD, kind="post", title="Post title",
   link=E + "/pictrs/image/eOtYb9iEiB.png", attachments=0, visibility="public")
on("lemmy/objects/page_image_and_link.json", community_object, TENFWD, kind="post",
   title="Post with image and link", link="https://example.com/some-article", attachments=1)
on("friendica/objects/page_1.json", community_object, TESTCOM, kind="post",
   title="ISS astronauts perform final spacewalk of Expedition 66")
on("friendica/objects/page_2.json", community_object, TESTCOM, kind="post",
   title="From Friendica to Lemmy", content=has("Hello Lemmy"))
on("friendica/activities/create_page_2.json", community_activity, TESTCOM,
   "https://pirati.ca/objects/ec054ce7-5162-3bf2-504c-16d024994850", kind="post",
   title="From Friendica to Lemmy", content=has("Hello Lemmy"))
on("friendica/activities/create_page_1.json", community_activity,
   "https://lemmy.qa.urbanwildlife.biz/c/lemmy_community",
   "https://masto.qa.urbanwildlife.biz/users/mastodon/statuses/110435994705014161",
   kind="post", title="Test post to community")
on("mastodon/objects/page.json", community_object, TENFWD, kind="post")
on("nodebb/objects/page.json", community_object, "https://bb.devnull.land/category/2",
   kind="post", title="Welcome to your NodeBB!")
on("discourse/objects/page.json", community_object,
   "https://socialhub.activitypub.rocks/ap/actor/797217cf18c0e819dfafc52425590146",
   kind="post", title="Our next meeting")


@handler("lemmy/objects/comment.json")
def _(scn, rel):
    community_object(scn, rel, TENFWD, pre=pre_post55143, kind="comment")
    wait_field(scn, POST55143, "replies", 1)


@handler("pleroma/objects/note.json")
def _(scn, rel):
    community_object(scn, rel, TENFWD, pre=pre_post55143, kind="comment")
    wait_field(scn, POST55143, "replies", 1)


@handler("pleroma/activities/create_note.json")
def _(scn, rel):
    community_activity(scn, rel, TENFWD,
                       "https://greenish.red/objects/1a522f2e-d5ab-454b-93d7-e58bc0650c2a",
                       pre=pre_post55143, kind="comment", content=has("test"))
    wait_field(scn, POST55143, "replies", 1)


SCHUERZ_POST = "https://lemmy.schuerz.at/post/25360"


def pre_schuerz(scn):
    synth_post(scn, SCHUERZ_POST, "https://lemmy.schuerz.at/u/jakob",
               "https://lemmy.schuerz.at/c/test")


@handler("friendica/activities/create_note.json")
def _(scn, rel):
    community_activity(scn, rel, "https://lemmy.schuerz.at/c/test",
                       "https://soc.schuerz.at/objects/4edd2508-4361-edb8-c4d8-b45181083984",
                       pre=pre_schuerz, kind="comment", content=has("test"))
    wait_field(scn, SCHUERZ_POST, "replies", 1)


@handler("friendica/objects/note_1.json")
def _(scn, rel):
    community_object(scn, rel, "https://lemmy.schuerz.at/c/test", pre=pre_schuerz,
                     kind="comment")
    wait_field(scn, SCHUERZ_POST, "replies", 1)


@handler("friendica/objects/note_2.json")
def _(scn, rel):
    group = "https://lemmy.ml/c/fediversefutures"

    def pre(scn):
        synth_post(scn, "https://lemmy.ml/post/243881", "https://lemmy.ml/u/humanetech", group)
        synth_post(scn, "https://lemmy.ml/comment/167904", "https://lemmy.ml/u/Liwott", group,
                   reply_to="https://lemmy.ml/post/243881", type_="Note")

    community_object(scn, rel, group, pre=pre, kind="comment")
    wait_field(scn, "https://lemmy.ml/comment/167904", "replies", 1)


@handler("mastodon/objects/note_2.json")
def _(scn, rel):
    group = "https://lemmy.kde.social/c/kde"
    parent = "https://floss.social/users/kde/statuses/113306824627995724"

    def pre(scn):
        synth_post(scn, parent, "https://floss.social/users/kde", group, type_="Note",
                   content="<p>KDE's fundraiser thread</p>")

    community_object(scn, rel, group, pre=pre, kind="comment", attachments=1)
    wait_field(scn, parent, "replies", 1)


# ---- votes and their undo


def vote(scn, rel, group, target, pre, fix_audience=False):
    """A Like/Dislike (or its Undo, after the vote it undoes) in the
    community's Announce: the target's counts move, and back."""
    pre(scn)
    act = scn.load(rel)
    if fix_audience:  # slip: the audience names c/tenforward, the post is in c/main
        act["audience"] = scn.u(group)
        if isinstance(act["object"], dict):
            act["object"]["audience"] = scn.u(group)
    before = scn.object(target)
    assert "upvotes" in before and "downvotes" in before, f"no vote counts for {target}: {before}"
    if act["type"] == "Undo":
        inner = act["object"]
        field = "upvotes" if inner["type"] == "Like" else "downvotes"
        via_group(scn, group, inner)
        wait_field(scn, target, field, int(before[field]) + 1)
        via_group(scn, group, act)
        wait_field(scn, target, field, int(before[field]))
    else:
        field = "upvotes" if act["type"] == "Like" else "downvotes"
        via_group(scn, group, act)
        wait_field(scn, target, field, int(before[field]) + 1)


on("lemmy/activities/voting/dislike_page.json", vote, ENT_MAIN, POST1, pre_post1,
   fix_audience=True)
on("lemmy/activities/voting/undo_dislike_page.json", vote, ENT_MAIN, POST1, pre_post1,
   fix_audience=True)
on("lemmy/activities/voting/like_note.json", vote, ENT_MAIN, COMMENT1, pre_comment1,
   fix_audience=True)
on("lemmy/activities/voting/undo_like_note.json", vote, ENT_MAIN, COMMENT1, pre_comment1,
   fix_audience=True)


def pre_post147(scn):
    synth_post(scn, D + "/post/147", D + "/u/nutomic", TESTCOM)


on("mastodon/activities/like_page.json", vote, TESTCOM, D + "/post/147", pre_post147)
on("mastodon/activities/undo_like_page.json", vote, TESTCOM, D + "/post/147", pre_post147)
on("friendica/activities/like_page.json", vote, TESTCOM, F_PARENT, pre_friendica_thread)
on("friendica/activities/dislike_page.json", vote, TESTCOM, F_PARENT, pre_friendica_thread)
on("friendica/activities/undo_dislike_page.json", vote, TESTCOM, F_PARENT,
   pre_friendica_thread)


# ---- updates


@handler("lemmy/activities/create_or_update/update_page.json")
def _(scn, rel):
    pre_post1(scn)
    via_group(scn, ENT_MAIN, scn.load(rel))
    wait_field(scn, POST1, "title", "test post 1")
    expect_object(scn, POST1, kind="post", content=has("test body"), deleted="no")


@handler("friendica/activities/update_note.json")
def _(scn, rel):
    pre_friendica_thread(scn, comment=True)
    before = scn.object(F_COMMENT)
    assert "edited" not in before.get("content", ""), before
    via_group(scn, TESTCOM, scn.load(rel))
    wait_for(lambda: "This is an edited comment." in (scn.kith.object(scn.u(F_COMMENT)) or {})
             .get("content", ""), 5, what="the comment's new content")
    expect_object(scn, F_COMMENT, kind="comment", deleted="no")


@handler("lemmy/activities/community/update_community.json")
def _(scn, rel):
    """A moderator's Update of the remote community, announced by it: applied,
    and the community still verifies afterwards. (The new title itself is not
    visible through the kithctl contract.)"""
    act = scn.load(rel)
    g = scn.u(ENT_MAIN)
    act["audience"] = g
    act["object"]["publicKey"] = scn.stub.lookup(g)["publicKey"]  # the stub's key, not Lemmy's
    # Lemmy sends a community's Update from the moderator who made it, inside the
    # community's own Announce: the community vouches for it, so it is applied.
    via_group(scn, ENT_MAIN, act, state="applied")
    # The community still announces: its key was not replaced by something else.
    synth_post(scn, E + "/post/after-update", LEMMY_BETA, ENT_MAIN, title="after the update")


@handler("lemmy/objects/instance.json", "mbin/objects/instance.json")
def _(scn, rel):
    """An instance actor (Application) kith has never seen signs an Update
    of itself: kith must fetch and parse its document to verify it."""
    doc = scn.load(rel)
    served = scn.stub.lookup(doc["id"])
    upd = {"@context": "https://www.w3.org/ns/activitystreams",
           "id": doc["id"].rstrip("/") + "/activities/update/1", "type": "Update",
           "actor": doc["id"], "to": [AS_PUBLIC], "object": served}
    rec = direct(scn, upd, "/inbox", state=None)
    expect_state(rec, ("applied", "stored"), "Update of an instance actor by itself")
    assert any(u.startswith(doc["id"].split("#")[0]) and s == 200
               for u, s in scn.stub.gets_in(scn.ns)), "kith never fetched the instance actor"


# ---- deletions and their undo


def expect_deleted(scn, uri, timeout=5):
    uri = scn.u(uri)

    def gone():
        o = scn.kith.object(uri)
        return o is None or o.get("deleted") == "yes"

    try:
        wait_for(gone, timeout, what=f"{uri} deleted")
    except AssertionError:
        raise AssertionError(f"{uri} is not deleted: {scn.kith.object(uri)}") from None


@handler("lemmy/activities/deletion/delete_page.json")
def _(scn, rel):
    pre_post1(scn)
    via_group(scn, ENT_MAIN, scn.load(rel))
    wait_field(scn, POST1, "deleted", "yes")


@handler("lemmy/activities/deletion/undo_delete_page.json")
def _(scn, rel):
    pre_post1(scn)
    act = scn.load(rel)
    via_group(scn, ENT_MAIN, act["object"])
    wait_field(scn, POST1, "deleted", "yes")
    via_group(scn, ENT_MAIN, act)
    wait_field(scn, POST1, "deleted", "no")
    expect_object(scn, POST1, title="test post")


@handler("lemmy/activities/deletion/delete_private_message.json")
def _(scn, rel):
    pre_pm1(scn)
    act = scn.load(rel)  # addressed to its own sender, as Lemmy does; sent to bob's inbox
    direct(scn, act, "/u/bob/inbox")
    expect_deleted(scn, E + "/private_message/1")


@handler("lemmy/activities/deletion/undo_delete_private_message.json")
def _(scn, rel):
    pre_pm1(scn)
    act = readdress(scn, scn.load(rel), LEMMY_ALPHA, scn.w.bob_url)
    direct(scn, act["object"], "/u/bob/inbox")
    wait_field(scn, E + "/private_message/1", "deleted", "yes")
    direct(scn, act, "/u/bob/inbox")
    wait_field(scn, E + "/private_message/1", "deleted", "no")


@handler("lemmy/activities/deletion/delete_user.json")
def _(scn, rel):
    """The person deletes their account, with removeData: their content goes."""
    pre_post1(scn)
    act = scn.load(rel)
    direct(scn, act, "/inbox")
    wait_field(scn, POST1, "deleted", "yes")


@handler("mastodon/activities/delete.json")
def _(scn, rel):
    status = "https://mastodon.madrid/users/felix/statuses/107773559874184870"
    synth_post(scn, status, FELIX, None, type_="Note", content="<p>soon gone</p>")
    direct(scn, scn.load(rel), "/inbox")
    expect_deleted(scn, status)
    tl = scn.kith.timeline(scn.w.alice)
    assert not any(l[0] == scn.u(status) or "soon gone" in l[-1] for l in tl if scn.ns in l[1]), tl


@handler("pleroma/activities/delete.json")
def _(scn, rel):
    group = "https://voyager.lemmy.ml/c/main"
    oid = "https://greenish.red/objects/38e2b983-ebf5-4387-9bc2-3b80305469c9"
    synth_post(scn, oid, "https://greenish.red/users/vpzom", group, type_="Note",
               content="<p>@main a note for the community</p>")
    via_group(scn, group, scn.load(rel))
    expect_deleted(scn, oid)


@handler("friendica/activities/delete.json")
def _(scn, rel):
    pre_friendica_thread(scn, comment=True)
    via_group(scn, TESTCOM, scn.load(rel))
    expect_deleted(scn, F_COMMENT)


@handler("lemmy/objects/tombstone.json")
def _(scn, rel):
    """The Tombstone as the object of its author's Delete of a comment kith holds."""
    group, author = "https://lemmy.ml/c/lemmy", "https://lemmy.ml/u/someone"
    synth_post(scn, "https://lemmy.ml/post/1", author, group)
    synth_post(scn, "https://lemmy.ml/comment/110273", author, group,
               reply_to="https://lemmy.ml/post/1", type_="Note")
    tomb = scn.load(rel)
    act = {"@context": "https://www.w3.org/ns/activitystreams",
           "id": scn.u("https://lemmy.ml/activities/delete/tombstone"), "type": "Delete",
           "actor": scn.u(author), "to": [AS_PUBLIC], "cc": [scn.u(group)],
           "audience": scn.u(group), "object": tomb}
    via_group(scn, group, act)
    expect_deleted(scn, "https://lemmy.ml/comment/110273")


# ---- the moderation family: stored, acknowledged, nothing else changed


def moderation(scn, rel, group=None, path=None, pre=None, fix=None):
    """Delivers the activity (after the one it embeds, for Undo and Resolve):
    each is recorded with state stored, gets 202, and nothing else changes."""
    if pre:
        pre(scn)
    act = scn.load(rel)
    if fix:
        fix(scn, act)
    if group:
        scn.ensure_following(group)
    steps = []
    if act["type"] in ("Undo", "Resolve") and isinstance(act.get("object"), dict):
        steps.append(act["object"])
    steps.append(act)
    for step in steps:
        before = snapshot(scn)
        if group:
            via_group(scn, group, step, state="stored")
        else:
            direct(scn, step, path, state="stored")
        assert_unchanged(before, snapshot(scn))


def audience(value):
    """Fixes an audience slip on the activity and on an embedded activity."""
    def fix(scn, act):
        for a in (act, act.get("object")):
            if isinstance(a, dict) and "audience" in a:
                a["audience"] = scn.u(value)
    return fix


def pre_ds9_post2(scn):
    """ds9 post/2 (the featured collection's "test 2") in ds9 c/main."""
    def make():
        obj = scn.stub.lookup(scn.u(D + "/post/2"))
        assert obj and obj.get("name") == "test 2", obj
        via_group(scn, DS9_MAIN, scn.create_of(obj))
        scn.object(D + "/post/2")
    scn.once("ds9post2", make)


def pre_alpha_comment(scn):
    g = "https://lemmy-alpha/c/test"
    synth_post(scn, "https://lemmy-alpha/post/1", "https://lemmy-alpha/u/lemmy_alpha", g)
    synth_post(scn, "https://lemmy-alpha/comment/1", "https://lemmy-alpha/u/lemmy_alpha", g,
               reply_to="https://lemmy-alpha/post/1", type_="Note")


def pre_alpha_8541_post(scn):
    synth_post(scn, "http://lemmy-alpha:8541/post/2", "http://lemmy-alpha:8541/u/lemmy_alpha",
               "http://lemmy-alpha:8541/c/main")


for _rel in ("lemmy/activities/block/block_user.json",
             "lemmy/activities/block/undo_block_user.json",
             "lemmy/activities/community/add_mod.json",
             "lemmy/activities/community/remove_mod.json"):
    on(_rel, moderation, ENT_MAIN, fix=audience(ENT_MAIN))  # slip: audience named u/main
for _rel in ("lemmy/activities/community/add_featured_post.json",
             "lemmy/activities/community/remove_featured_post.json"):
    on(_rel, moderation, DS9_MAIN, pre=pre_ds9_post2, fix=audience(DS9_MAIN))
for _rel in ("lemmy/activities/community/lock_note.json",
             "lemmy/activities/community/undo_lock_note.json"):
    # slip: audience http://lemmy-alpha/c/main, the comment is in c/test (to, cc)
    on(_rel, moderation, "https://lemmy-alpha/c/test", pre=pre_alpha_comment,
       fix=audience("https://lemmy-alpha/c/test"))
for _rel in ("lemmy/activities/community/lock_page.json",
             "lemmy/activities/community/undo_lock_page.json"):
    on(_rel, moderation, "http://lemmy-alpha:8541/c/main", pre=pre_alpha_8541_post)
for _rel in ("lemmy/activities/community/report_page.json",
             "lemmy/activities/community/resolve_report_page.json"):
    on(_rel, moderation, ENT_MAIN, pre=pre_post7, fix=audience(ENT_MAIN))
for _rel in ("lemmy/activities/deletion/remove_note.json",
             "lemmy/activities/deletion/undo_remove_note.json"):
    on(_rel, moderation, ENT_MAIN, pre=pre_comment1)


@handler("lemmy/activities/community/warn.json")
def _(scn, rel):
    """A moderator's warning, addressed to the warned person: re-addressed to bob."""
    def fix(scn, act):
        act.update(readdress(scn, act, "http://voyager.lemmy.ml/u/lemmy_alpha", scn.w.bob_url))
    moderation(scn, rel, path="/u/bob/inbox", fix=fix)


@handler("mastodon/activities/flag.json")
def _(scn, rel):
    """A report from an instance actor (Application) about a person (re-addressed
    to bob) and two posts, to kith's shared inbox."""
    def fix(scn, act):
        act.update(readdress(scn, act, "https://example.com/users/1", scn.w.bob_url))
    moderation(scn, rel, path="/inbox", fix=fix)


@handler("mbin/activities/flag.json")
def _(scn, rel):
    group = "https://lemmy-test/c/test_mag"

    def pre(scn):
        synth_post(scn, "https://lemmy-test/post/4", "https://lemmy-test/u/BentiGorlich", group)

    moderation(scn, rel, group, pre=pre)


# ---- actors and collections


def follow_actor(scn, rel):
    """alice follows the actor: kith fetches and parses the document, and
    verifies the Accept signed with the key it carries."""
    doc = scn.load(rel)
    served = scn.stub.lookup(doc["id"])
    assert served["id"] == doc["id"] and served["type"] == doc["type"]
    scn.ensure_following(doc["id"])


for _rel in ("lemmy/objects/person.json", "lemmy/objects/group.json",
             "mastodon/objects/person.json", "friendica/objects/person_1.json",
             "friendica/objects/person_2.json", "pleroma/objects/person.json",
             "nodebb/objects/person.json", "nodebb/objects/group.json",
             "discourse/objects/person.json", "discourse/objects/group.json"):
    on(_rel, follow_actor)


def collection(scn, rel, owner, key):
    """The collection is served at its id, from the document of an actor alice
    follows (actor[key] names it), and parses as a collection."""
    coll = scn.load(rel)
    served = scn.stub.lookup(coll["id"])
    assert served == coll, "the stub does not serve the collection at its id"
    assert coll["type"] in ("Collection", "OrderedCollection"), coll["type"]
    items = coll.get("orderedItems", coll.get("items"))
    assert isinstance(items, list)
    if "totalItems" in coll:
        assert isinstance(coll["totalItems"], int) and coll["totalItems"] >= len(items)
    for it in items:
        assert isinstance(it, str) or isinstance(it.get("id"), str), it
        inner = it
        while isinstance(inner, dict) and inner.get("type") not in OBJECT_TYPES:
            inner = inner.get("object")  # Announce(Create(Page)) in an outbox
        if isinstance(inner, dict):  # embedded objects are served at their ids too
            assert scn.stub.lookup(inner["id"]) is not None, inner["id"]
    actor = scn.stub.lookup(scn.u(owner))
    assert actor[key] == coll["id"], (actor[key], coll["id"])
    scn.ensure_following(owner)
    time.sleep(0.3)
    fetched = [(u, s) for u, s in scn.stub.gets_in(scn.ns) if u.split("?")[0] == coll["id"]]
    scn.log(f"kith fetched the collection: {fetched or 'no'}")


on("lemmy/collections/group_featured_posts.json", collection, DS9_MAIN, "featured")
on("lemmy/collections/group_followers.json", collection, ENT_MAIN, "followers")
on("lemmy/collections/group_moderators.json", collection, TENFWD, "attributedTo")
on("lemmy/collections/group_outbox.json", collection, TESTCOM, "outbox")
on("lemmy/collections/person_outbox.json", collection, LEMMY_ALPHA, "outbox")
on("mastodon/collections/featured.json", collection, "https://mastodon.social/users/LemmyDev",
   "featured")
