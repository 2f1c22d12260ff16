"""A stub fediverse for test_fixtures.py: every remote server the fixtures in
../shared/fixtures/activitypub/ name, played by one local HTTP server.

How the fixtures' hosts become local (the fixture files are never edited; all
of this happens on deep copies in memory):

- Every http(s) URL of a fixture whose host is not a vocabulary host
  (www.w3.org, w3id.org, ...) is rewritten from
  ``https://HOST[:PORT]/PATH`` to ``http://SLUG.test:STUB/NS/PATH``, where SLUG
  is the host in lower case with ':' turned into '-' (``lemmy-alpha:8541`` ->
  ``lemmy-alpha-8541.test``), STUB the stub's port, and NS a namespace unique
  to one test (``t17``). ``http://`` and ``https://`` spellings of one id map
  to the same URL, as they mean the same actor in the fixtures. ``@context``
  is left alone.
- kithd gets ``resolve = SLUG.test:STUB:127.0.0.1`` for every host and
  ``allow_private_addresses = true``, so it reaches the stub through its
  ordinary outbound path (name lookup override, SSRF guard, HTTP client).
- The namespace gives every test its own remote actors and objects in one
  kithd: ids never collide between tests, so "applied once per id" and counts
  stay per test, whatever order the tests run in.

What the stub serves (GET, by the requested URL with the namespace taken out):

1. documents a test registered for its namespace (synthetic parents, ...);
2. the object and collection fixtures at their ids, then objects, actors and
   collections embedded in other fixtures, at their ids (mapped into the
   requesting namespace);
3. an actor document for any URL shaped like an actor (``/u/X``, ``/c/X``,
   ``/users/X``, ``/profile/X``, ``/m/X``, ``/category/N``, ``/uid/N``,
   ``/actor``, ...), Group or Person (Application for instance actors), with
   inbox, outbox, followers, endpoints.sharedInbox and a publicKey;
4. an empty OrderedCollection for followers/following/outbox/featured/... URLs;
5. 404 for anything else.

Every actor document carries the public half of an RSA key generated with the
openssl CLI (a pool of a few keys, assigned per actor; served fixture actors
keep their own key id, e.g. NodeBB's ``#key``). POSTs to the stub are logged;
a Follow of a stub actor is answered with an Accept signed by that actor
(unless the test turned that off for it), as Lemmy, Mastodon and the others do.
Requests to kith are signed with draft-cavage (``(request-target) host date
digest``, rsa-sha256), like test_federation.py's peer.
"""

import base64
import copy
import hashlib
import json
import os
import re
import subprocess
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import ROOT, http_request, wait_for

FIXTURES = Path(os.environ.get("KITH_FIXTURES",
                               ROOT.parent / "shared" / "fixtures" / "activitypub")).resolve()

AS = "https://www.w3.org/ns/activitystreams"
AS_PUBLIC = AS + "#Public"

# Hosts of JSON-LD vocabularies: their URLs are names, never fetched as objects.
VOCAB_HOSTS = {"www.w3.org", "w3id.org", "joinmastodon.org", "schema.org", "purl.org",
               "litepub.social", "diasporafoundation.org", "ostatus.org", "join-lemmy.org"}

URL_RE = re.compile(r"https?://([A-Za-z0-9.-]+(?::\d+)?)([^\s\"'<>\[\]]*)")
NS_RE = re.compile(r"^/(t\d+)(/.*)?$")

OBJECT_TYPES = {"Page", "Note", "Article", "ChatMessage", "Question", "Video", "Event",
                "Tombstone"}
ACTOR_TYPES = {"Person", "Group", "Organization", "Application", "Service"}
COLLECTION_TYPES = {"Collection", "OrderedCollection", "CollectionPage",
                    "OrderedCollectionPage"}

GROUP_PATH = re.compile(r"^/(c|m)/[^/]+$|^/category/\d+$")
PERSON_PATH = re.compile(r"^/(u|users|profile|uid)/[^/]+$|^/ap/actor/[0-9a-f]+$")
APP_PATH = re.compile(r"^(/|/actor|/i/actor)?$")
COLLECTION_PATH = re.compile(
    r"/(followers|following|outbox|featured|moderators|liked)$|/collections/[a-z]+$|"
    r"^/(followers|following|outbox)/[^/]+$")


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True,
                          check=True).stdout


def fixture_files():
    """Every fixture, as a path relative to FIXTURES (posix), sorted."""
    return sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.json"))


def load_fixture(rel):
    """A fresh parsed copy of one fixture file (the file is only read)."""
    return json.loads((FIXTURES / rel).read_text())


def slug(host):
    return host.lower().replace(":", "-") + ".test"


def fixture_hosts():
    """Every host named by a URL in any fixture (vocabulary hosts excepted)."""
    hosts = set()

    def walk(v):
        if isinstance(v, str):
            for m in URL_RE.finditer(v):
                if m.group(1).lower() not in VOCAB_HOSTS:
                    hosts.add(m.group(1))
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                if k != "@context":
                    walk(x)

    for rel in fixture_files():
        walk(load_fixture(rel))  # parsed: some files escape slashes (https:\/\/fedia.io)
    return sorted(hosts)


class KeyPool:
    """A few RSA-2048 keys made with the openssl CLI; actors get one each by a
    stable hash of their (namespace-free) id."""

    def __init__(self, root, n=6):
        self.keys = []
        for i in range(n):
            path = Path(root) / f"key{i}.pem"
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(path))
            self.keys.append((path, openssl("pkey", "-in", str(path), "-pubout").decode()))

    def for_actor(self, template_url):
        h = int(hashlib.sha256(template_url.encode()).hexdigest(), 16)
        return self.keys[h % len(self.keys)]


class Mapper:
    """Rewrites fixture URLs into the stub's namespace (see the module doc)."""

    def __init__(self, port):
        self.port = port

    def text(self, s, ns):
        def one(m):
            host, path = m.group(1), m.group(2)
            if host.lower() in VOCAB_HOSTS or host.endswith(f".test:{self.port}") or \
                    host.startswith("127.0.0.1:"):
                return m.group(0)  # a vocabulary, an already mapped URL, or kith itself
            return f"http://{slug(host)}:{self.port}/{ns}{path or ''}"

        return URL_RE.sub(one, s)

    def doc(self, obj, ns):
        if isinstance(obj, str):
            return self.text(obj, ns)
        if isinstance(obj, list):
            return [self.doc(x, ns) for x in obj]
        if isinstance(obj, dict):
            return {k: (copy.deepcopy(v) if k == "@context" else self.doc(v, ns))
                    for k, v in obj.items()}
        return copy.deepcopy(obj)

    @staticmethod
    def template(url):
        """A mapped URL with its namespace replaced by '~' (namespace-free key)."""
        m = re.match(r"^(http://[^/]+)(/.*)?$", url)
        if not m:
            return url
        path = m.group(2) or "/"
        nm = NS_RE.match(path)
        if nm:
            path = "/~" + (nm.group(2) or "")
        return m.group(1) + path.split("#")[0]

    @staticmethod
    def split(url):
        """http://HOST/NS/REST -> (origin, ns, rest) or None."""
        m = re.match(r"^(http://[^/]+)(/.*)?$", url)
        if not m:
            return None
        nm = NS_RE.match(m.group(2) or "/")
        if not nm:
            return None
        return m.group(1), nm.group(1), (nm.group(2) or "")


class Catalogue:
    """The documents the stub serves from the fixtures, by namespace-free URL:
    object and collection fixtures first, then objects, actors and
    collections embedded in activities, then those embedded in collections."""

    def __init__(self, mapper):
        self.mapper = mapper
        self.table = {}  # template url -> (priority, rel, original sub-document)
        for rel in fixture_files():
            doc = load_fixture(rel)
            top = rel.split("/")[1] in ("objects", "collections")
            in_collection = rel.split("/")[1] == "collections"
            self._walk(doc, rel, top, in_collection, depth=0)

    def _walk(self, d, rel, top, in_collection, depth):
        if isinstance(d, list):
            for x in d:
                self._walk(x, rel, top, in_collection, depth + 1)
            return
        if not isinstance(d, dict):
            return
        t, i = d.get("type"), d.get("id")
        if isinstance(t, str) and isinstance(i, str) and (
                t in OBJECT_TYPES or t in ACTOR_TYPES or t in COLLECTION_TYPES):
            if depth == 0 and top:
                prio = 0
            elif in_collection:
                prio = 2
            else:
                prio = 1
            if t == "Tombstone" and prio:
                prio = 3  # only when nothing better is known at that id
            key = self.mapper.template(self.mapper.text(i, "~"))
            if key not in self.table or self.table[key][0] > prio:
                self.table[key] = (prio, rel, d)
        for k, v in d.items():
            if k != "@context":
                self._walk(v, rel, top, in_collection, depth + 1)

    def get(self, template_url):
        hit = self.table.get(template_url)
        return hit[2] if hit else None


def cavage_headers(key_path, key_id, host, path, body, date=None):
    """draft-cavage rsa-sha256 over (request-target) host date digest."""
    date = date or formatdate(usegmt=True)
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    text = (f"(request-target): post {path}\nhost: {host}\ndate: {date}\n"
            f"digest: {digest}").encode()
    sig = base64.b64encode(openssl("dgst", "-sha256", "-sign", str(key_path),
                                   input=text)).decode()
    return {
        "Host": host, "Date": date, "Digest": digest,
        "Content-Type": "application/activity+json",
        "Signature": (f'keyId="{key_id}",algorithm="rsa-sha256",'
                      f'headers="(request-target) host date digest",signature="{sig}"'),
    }


class Stub:
    """The remote servers (see the module doc). kith_port must be set before
    the stub posts anything to kith (Accepts)."""

    def __init__(self, root):
        self.keys = KeyPool(root)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.mapper = Mapper(self.port)
        self.catalogue = Catalogue(self.mapper)
        self.kith_port = None
        self.lock = threading.Lock()
        self.extra = {}  # mapped url (no fragment) -> document, per namespace
        self.no_accept = set()  # actor urls that do not answer Follows by themselves
        self.gets = []  # (url, status)
        self.posts = []  # (url, headers, parsed body or raw bytes)
        self.sent = []  # (what, kith path, status) of the stub's own POSTs to kith
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def resolve_lines(self):
        return [f"resolve = {slug(h)}:{self.port}:127.0.0.1" for h in fixture_hosts()]

    # -- documents

    def put(self, doc):
        """Serves doc (already mapped) at its id."""
        with self.lock:
            self.extra[doc["id"].split("#")[0]] = doc

    def lookup(self, url):
        """The document the stub serves at url (mapped, with namespace), or None."""
        url = url.split("#")[0].split("?")[0]
        with self.lock:
            if url in self.extra:
                return self.extra[url]
        parts = Mapper.split(url)
        if not parts:
            return None
        origin, ns, rest = parts
        tpl = Mapper.template(url)
        orig = self.catalogue.get(tpl)
        if orig is not None:
            doc = self.mapper.doc(orig, ns)
            if doc.get("type") in ACTOR_TYPES:
                self._own_key(doc, tpl)
            return doc
        path = rest or "/"
        if COLLECTION_PATH.search(path):
            return {"@context": AS, "id": url, "type": "OrderedCollection", "totalItems": 0,
                    "orderedItems": []}
        if GROUP_PATH.match(path):
            return self._actor(url, origin, ns, "Group", path)
        if PERSON_PATH.match(path):
            return self._actor(url, origin, ns, "Person", path)
        if APP_PATH.match(rest):
            return self._actor(url, origin, ns, "Application", path)
        return None

    def _own_key(self, doc, tpl):
        _, pub = self.keys.for_actor(tpl)
        pk = doc.get("publicKey")
        if not isinstance(pk, dict):
            pk = doc["publicKey"] = {"id": doc["id"] + "#main-key", "owner": doc["id"]}
        pk["publicKeyPem"] = pub

    def _actor(self, url, origin, ns, kind, path):
        name = path.rstrip("/").rsplit("/", 1)[-1] or origin.split("//")[1].split(":")[0]
        base = url.rstrip("/") if kind != "Application" else url
        featured = base + ("/collections/featured" if "/users/" in path else "/featured")
        doc = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": url, "type": kind, "preferredUsername": name, "name": name.title(),
            "inbox": base + "/inbox", "outbox": base + "/outbox",
            "followers": base + "/followers", "following": base + "/following",
            "featured": featured,
            "endpoints": {"sharedInbox": f"{origin}/{ns}/inbox"},
            "publicKey": {"id": url + "#main-key", "owner": url},
        }
        if kind == "Group":
            doc["attributedTo"] = base + "/moderators"
            doc["moderators"] = base + "/moderators"
            doc["postingRestrictedToMods"] = False
            doc["summary"] = f"<p>The {name} community</p>"
        self._own_key(doc, Mapper.template(url))
        return doc

    def key_of(self, actor_url):
        """(key file, key id) for a stub actor."""
        doc = self.lookup(actor_url)
        assert doc is not None and doc.get("type") in ACTOR_TYPES, \
            f"the stub serves no actor at {actor_url}"
        path, _ = self.keys.for_actor(Mapper.template(doc["id"]))
        return path, doc["publicKey"]["id"]

    # -- talking to kith

    def post_to_kith(self, actor_url, path, activity, what=None):
        """POSTs activity (a dict) to kith's path, signed by actor_url's key.
        Returns (Response, body bytes)."""
        body = json.dumps(activity).encode()
        key_path, key_id = self.key_of(actor_url)
        host = f"127.0.0.1:{self.kith_port}"
        r = http_request(self.kith_port, "POST", path,
                         headers=cavage_headers(key_path, key_id, host, path, body), body=body,
                         timeout=15)
        with self.lock:
            self.sent.append((what or activity.get("type"), path, r.status if r else None))
        return r, body

    def _accept(self, follow):
        target = follow.get("object")
        target = target.get("id") if isinstance(target, dict) else target
        follower = follow.get("actor")
        parts = Mapper.split(target)
        origin, ns = parts[0], parts[1]
        accept = {"@context": AS, "id": f"{origin}/{ns}/activities/accept/{uuid.uuid4()}",
                  "type": "Accept", "actor": target, "to": [follower], "object": follow}
        m = re.match(r"^http://127\.0\.0\.1:\d+(/.*)$", follower or "")
        path = (m.group(1) + "/inbox") if m else "/inbox"
        time.sleep(0.02)  # after kith has had its 202
        try:
            self.post_to_kith(target, path, accept, what="Accept (auto)")
        except Exception as e:  # noqa: BLE001 - recorded for the test to see
            with self.lock:
                self.sent.append(("Accept (auto)", path, repr(e)))

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _url(self):
                return f"http://{self.headers.get('Host', '').lower()}{self.path}"

            def _send(self, status, body=b"", ctype="application/activity+json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = self._url()
                doc = stub.lookup(url)
                with stub.lock:
                    stub.gets.append((url, 200 if doc is not None else 404))
                if doc is None:
                    self._send(404, b'{"error":"not found"}', "application/json")
                    return
                self._send(200, json.dumps(doc).encode())

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                url = self._url()
                with stub.lock:
                    stub.posts.append((url, dict(self.headers), body))
                self._send(202, b"{}", "application/json")
                if isinstance(body, dict) and body.get("type") == "Follow":
                    target = body.get("object")
                    target = target.get("id") if isinstance(target, dict) else target
                    if (isinstance(target, str) and target not in stub.no_accept and
                            stub.lookup(target) is not None):
                        threading.Thread(target=stub._accept, args=(body,), daemon=True).start()

        return Handler

    # -- what the stub saw

    def posts_in(self, ns, type_=None):
        with self.lock:
            out = [p for p in self.posts if f"/{ns}/" in p[0] or p[0].endswith(f"/{ns}")]
        if type_:
            out = [p for p in out if isinstance(p[2], dict) and p[2].get("type") == type_]
        return out

    def gets_in(self, ns):
        with self.lock:
            return [g for g in self.gets if f"/{ns}/" in g[0] or g[0].endswith(f"/{ns}")]

    def wait_post(self, ns, pred, timeout=10, what="a delivery at the stub"):
        def found():
            for p in self.posts_in(ns):
                if isinstance(p[2], dict) and pred(p[0], p[2]):
                    return p
            return None

        return wait_for(found, timeout, what=what)


# ---------------------------------------------------------------- kith side


class Missing(Exception):
    """A kithctl command of the contract that this kithd does not have yet."""


FIELD_RE = re.compile(r"^([a-z][a-z_ +-]*):(?: (.*))?$")


def parse_fields(text):
    """'key: value' lines -> dict; a line that is not 'key: value' continues
    the previous value (multi-line HTML content)."""
    out, last = {}, None
    for line in text.splitlines():
        m = FIELD_RE.match(line)
        if m and m.group(1) not in out:
            last = m.group(1)
            out[last] = m.group(2) or ""
        elif last is not None:
            out[last] += "\n" + line
    return out


class KithClient:
    """kithctl's contract, parsed. Raises Missing for a command kithctl does
    not know yet."""

    def __init__(self, k):
        self.k = k

    def _missing(self, what, r):
        raise Missing(f"`kithctl {what}` is not implemented in this build "
                      f"(exit {r.returncode}: {r.stderr.strip()!r})")

    def activity(self, activity_id):
        r = self.k.ctl("federation", "activity", activity_id)
        if r.returncode == 0:
            return parse_fields(r.stdout)
        if "no activity" in r.stderr:
            return None
        if "takes" in r.stderr or "usage" in r.stderr:
            self._missing("federation activity ID", r)
        raise AssertionError(f"kithctl federation activity {activity_id}: exit {r.returncode}, "
                             f"{r.stderr.strip()!r}")

    def object(self, uri):
        r = self.k.ctl("federation", "object", uri)
        if r.returncode == 0:
            return parse_fields(r.stdout)
        if "takes" in r.stderr or "usage" in r.stderr:
            self._missing("federation object URI", r)
        if r.returncode == 1:
            return None
        raise AssertionError(f"kithctl federation object {uri}: exit {r.returncode}, "
                             f"{r.stderr.strip()!r}")

    def _lines(self, user, what, nfields):
        r = self.k.ctl("act", user, what)
        if r.returncode != 0:
            if "act takes" in r.stderr or "usage" in r.stderr:
                self._missing(f"act USER {what}", r)
            raise AssertionError(f"kithctl act {user} {what}: exit {r.returncode}, "
                                 f"{r.stderr.strip()!r}")
        out = []
        for line in r.stdout.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            out.append(tuple(parts[:nfields - 1]) + ("\t".join(parts[nfields - 1:]),)
                       if len(parts) >= nfields else tuple(parts))
        return out

    def timeline(self, user):
        """[(url, author uri, visibility, text)]"""
        return self._lines(user, "timeline", 4)

    def notifications(self, user):
        """[(type, from uri, object uri)]"""
        return self._lines(user, "notifications", 3)

    def following(self, user):
        """{uri: 'accepted'|'pending'}"""
        r = self.k.ctl("act", user, "following")
        assert r.returncode == 0, r.stderr
        out = {}
        for line in r.stdout.splitlines()[1:]:
            f = line.split()
            if len(f) >= 2:
                out[f[0]] = f[-1]
        return out

    def stats(self):
        r = self.k.ctl("stats")
        assert r.returncode == 0, r.stderr
        out = {}
        for line in r.stdout.splitlines():
            k, _, v = line.partition(":")
            v = v.split()
            if v and v[0].isdigit():
                out[k.strip()] = int(v[0])
        return out

    def total(self, path):
        r = self.k.http("GET", path, headers={"Accept": "application/activity+json"})
        assert r is not None and r.status == 200, f"GET {path}: {r!r}"
        return r.json()["totalItems"]


def id_of(v):
    if isinstance(v, dict):
        return v.get("id")
    return v


def replace_strings(obj, mapping):
    """A copy of obj with every occurrence of each key of mapping, in every
    string, replaced by its value (re-addressing)."""
    if isinstance(obj, str):
        for a, b in mapping.items():
            obj = obj.replace(a, b)
        return obj
    if isinstance(obj, list):
        return [replace_strings(x, mapping) for x in obj]
    if isinstance(obj, dict):
        return {k: (v if k == "@context" else replace_strings(v, mapping)) for k, v in obj.items()}
    return obj


class World:
    """The module's kithd, its client, the stub and the local cast: alice
    follows remote actors, bob receives what is addressed to a person, the
    community club receives Follows of a community."""

    def __init__(self, k, stub):
        self.k = k
        self.stub = stub
        self.kith = KithClient(k)
        self.public_url = f"http://127.0.0.1:{k.port}"
        self.alice, self.bob, self.club = "alice", "bob", "club"
        self.alice_url = f"{self.public_url}/u/alice"
        self.bob_url = f"{self.public_url}/u/bob"
        self.club_url = f"{self.public_url}/c/club"


class Scenario:
    """One test's view: its namespace, and how things reach kith."""

    def __init__(self, world, ns):
        self.w = world
        self.stub = world.stub
        self.kith = world.kith
        self.ns = ns
        self.followed = set()
        self.memo = {}
        self.objects = []  # object uris this test made kith hold (for snapshots)
        self.notes = []  # lines for the test's report

    def log(self, msg):
        self.notes.append(msg)

    # -- fixtures on copies, in this namespace

    def u(self, url):
        return self.stub.mapper.text(url, self.ns)

    def map(self, doc):
        return self.stub.mapper.doc(doc, self.ns)

    def load(self, rel):
        return self.map(load_fixture(rel))

    def once(self, key, fn):
        if key not in self.memo:
            self.memo[key] = fn()
        return self.memo[key]

    # -- delivering

    def ensure_following(self, actor):
        """alice follows actor (a stub actor) and the stub's Accept arrived."""
        actor = self.u(actor)
        if actor in self.followed:
            return
        r = self.w.k.ctl("act", self.w.alice, "follow", actor)
        assert r.returncode == 0, (f"kith could not follow {actor}: exit {r.returncode}, "
                                   f"{r.stdout}{r.stderr}")
        wait_for(lambda: self.kith.following(self.w.alice).get(actor) == "accepted", 10,
                 what=f"alice's follow of {actor} accepted "
                      f"(stub sent: {[s for s in self.stub.sent if self.ns in str(s)]})")
        self.followed.add(actor)

    def send(self, actor, activity, path="/inbox", expect=202):
        """POSTs activity to kith's path, signed by actor (a stub actor)."""
        r, _ = self.stub.post_to_kith(self.u(actor), path, activity)
        assert r is not None, f"no answer from kith to {activity.get('type')} at {path}"
        self.log(f"POST {path} {activity.get('type')} {activity.get('id')} -> {r.status}")
        if expect is not None:
            assert r.status == expect, (f"kith answered {r.status} to {activity.get('type')} "
                                        f"{activity.get('id')} at {path}: {r.body[:300]!r}")
        return r

    def announce(self, group, inner):
        """inner inside group's Announce, signed by the group, to kith's shared
        inbox, after alice has followed the group."""
        group = self.u(group)
        self.ensure_following(group)
        inner = dict(inner)
        inner.pop("@context", None)
        ann = {"@context": [AS], "id": f"{group}/activities/announce/{uuid.uuid4()}",
               "type": "Announce", "actor": group, "to": [AS_PUBLIC],
               "cc": [f"{group}/followers"], "audience": group, "object": inner}
        self.send(group, ann)
        return ann

    def announce_ref(self, group, ref):
        """An Announce by group naming its object by id only (as PieFed and Mbin
        send them): kith must fetch the object from the stub."""
        group = self.u(group)
        self.ensure_following(group)
        ann = {"@context": [AS], "id": f"{group}/activities/announce/{uuid.uuid4()}",
               "type": "Announce", "actor": group, "to": [AS_PUBLIC],
               "cc": [f"{group}/followers"], "object": self.u(ref)}
        self.send(group, ann)
        return ann

    def create_of(self, obj):
        """A bare object, inside a Create by its attributedTo."""
        obj = dict(obj)
        ctx = obj.pop("@context", AS)
        act = {"@context": ctx, "id": f"{obj['id']}/activity", "type": "Create",
               "actor": id_of(obj.get("attributedTo")), "object": obj}
        for k in ("to", "cc", "audience"):
            if k in obj:
                act[k] = obj[k]
        return act

    # -- what kith made of it

    def record(self, activity_id, timeout=6):
        """kith's record of an activity, waiting until kith has processed it."""
        try:
            return wait_for(lambda: self.kith.activity(activity_id), timeout,
                            what=f"kith's record of {activity_id}")
        except AssertionError:
            raise AssertionError(f"kith has no record of activity {activity_id} after "
                                 f"{timeout}s (`kithctl federation activity` exits 1)") from None

    def inner_record(self, ann, timeout=6):
        """The record of the activity inside an Announce: waits for either
        record, then looks for the inner one."""
        inner_id = ann["object"]["id"]

        def either():
            return self.kith.activity(inner_id) or self.kith.activity(ann["id"])

        try:
            wait_for(either, timeout, what="the Announce processed")
        except AssertionError:
            raise AssertionError(f"kith has no record of the Announce {ann['id']} nor of the "
                                 f"{ann['object'].get('type')} {inner_id} inside it after "
                                 f"{timeout}s") from None
        rec = self.kith.activity(inner_id)
        if rec is None:
            time.sleep(0.3)
            rec = self.kith.activity(inner_id)
        outer = self.kith.activity(ann["id"])
        assert rec is not None, (f"kith recorded the Announce ({outer}) but not the "
                                 f"{ann['object'].get('type')} {inner_id} inside it")
        return rec

    def object(self, uri, timeout=5, present=True):
        """`kithctl federation object URI`, waiting until kith holds it."""
        uri = self.u(uri)
        if not present:
            return self.kith.object(uri)
        try:
            got = wait_for(lambda: self.kith.object(uri), timeout, what=f"object {uri}")
        except AssertionError:
            raise AssertionError(f"kith holds no object {uri} after {timeout}s "
                                 f"(`kithctl federation object` exits 1)") from None
        if uri not in self.objects:
            self.objects.append(uri)
        return got
