// The Fedify scenarios against a running kithd and a running peer.mjs, both
// started by conformance/run, which passes what they need in the environment:
//
//   KITH_URL      kith's public_url (http://127.0.0.1:PORT)
//   KITH_CONF     its config file, for kithctl -c
//   KITHCTL       the kithctl binary
//   KITHD_LOG     kithd's stderr (the access log is read from it)
//   KITHD_PID     kithd's pid, PEER_PID the peer's (to notice an early exit)
//   PEER_URL      the peer's origin (http://127.0.0.1:PORT)
//
// Prints one "PASS name" or "FAIL name: why" line per scenario, then
// "N passed, N failed"; exits 1 when any failed.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`scenarios.mjs: ${k} is not set (run it through conformance/run)`);
  return v;
};
const KITH = env("KITH_URL");
const CONF = env("KITH_CONF");
const KITHCTL = env("KITHCTL");
const KITHD_LOG = env("KITHD_LOG");
const KITHD_PID = Number(env("KITHD_PID"));
const PEER = env("PEER_URL");
const PEER_PID = Number(env("PEER_PID"));
const VERBOSE = !!process.env.VERBOSE;

const CATS = `${KITH}/c/cats`;
const ALICE = `${KITH}/u/alice`;
const PUBLIC_FORMS = ["https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"];

// ---- helpers ------------------------------------------------------------------
class Pending extends Error {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function checkAlive() {
  if (!alive(KITHD_PID)) throw new Error(`kithd (pid ${KITHD_PID}) is no longer running`);
  if (!alive(PEER_PID)) throw new Error(`the Fedify peer (pid ${PEER_PID}) is no longer running`);
}

async function waitFor(what, fn, timeoutMs = 15000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e instanceof Pending) throw e;
      last = e;
    }
    checkAlive();
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await sleep(intervalMs);
  }
}

function ctl(...args) {
  return new Promise((resolve) => {
    execFile(KITHCTL, ["-c", CONF, ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function ctlOk(r, what) {
  if (r.code !== 0) {
    const msg = `${what}: kithctl exited ${r.code}: ${(r.stderr || r.stdout).trim()}`;
    if (/act takes/.test(r.stderr)) throw new Pending(msg);
    throw new Error(msg);
  }
  return r.stdout;
}

async function peerGet(path) {
  const r = await fetch(PEER + path);
  if (r.status !== 200) throw new Error(`peer GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function peerPost(path, body) {
  const r = await fetch(PEER + path, { method: "POST", body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`peer ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function kithGet(path) {
  const r = await fetch(KITH + path, { headers: { accept: "application/activity+json" } });
  if (r.status !== 200) throw new Error(`kith GET ${path}: ${r.status}`);
  return r.json();
}

// The access log: kithd's stderr lines "TIME access CLIENT "METHOD URI" STATUS BYTES ...".
// Lines from different threads may be written out of order: select by time.
const ACCESS_RE = /^(\S+) access (\S+) "(\S+) (.*)" (\d+) (\d+) /;
function accessLog() {
  return readFileSync(KITHD_LOG, "utf8")
    .split("\n")
    .map((line) => {
      const m = ACCESS_RE.exec(line);
      return m && { line, time: Date.parse(m[1]), method: m[3], uri: m[4], status: Number(m[5]) };
    })
    .filter(Boolean);
}
// POST lines logged in [from, to), once at least `count` are there and the
// log had a moment to catch up.
async function accessPosts(from, to, count) {
  const pick = () => accessLog().filter((e) => e.method === "POST" && e.time >= from && e.time < to);
  await waitFor(`${count} POST line(s) in kithd's access log`, () => pick().length >= count, 5000);
  await sleep(300);
  return pick();
}

function kithdLogTail(n = 15) {
  try {
    return readFileSync(KITHD_LOG, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no kithd log)";
  }
}

const ids = (x) => [].concat(x ?? []).map((v) => (typeof v === "string" ? v : v?.id));
const isPublic = (x) => ids(x).some((v) => PUBLIC_FORMS.includes(v));
const idOf = (x) => (typeof x === "string" ? x : x?.id);
const sha256 = (s) => "sha-256=:" + createHash("sha256").update(s).digest("base64") + ":";

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// What the peer received that matches pred; each entry has path, headers,
// body, json, verified, keyId, keyOwner, reason.
async function received(pred) {
  return (await peerGet("/_control/inbox")).filter((e) => e.json && pred(e.json, e));
}
// The first such entry, or null (for waitFor).
async function receivedOne(pred) {
  return (await received(pred))[0] ?? null;
}

function assertSignedBy(entry, actor) {
  assert(entry, `nothing from ${actor} arrived at the peer`);
  assert(entry.verified, `POST ${entry.path} (${entry.json?.type}) was not verified: ${JSON.stringify(entry.reason)}`);
  assert(entry.keyId === `${actor}#main-key`, `${entry.json.type} signed with key ${entry.keyId}, expected ${actor}#main-key`);
  assert(entry.keyOwner === actor, `${entry.json.type} key owned by ${entry.keyOwner}, expected ${actor}`);
}

// The POSTs the peer sent (to kith) carrying the activity with this id.
async function sentPosts(activityId) {
  return (await peerGet("/_control/outgoing")).filter((o) => {
    if (o.method !== "POST" || !o.body) return false;
    try {
      return JSON.parse(o.body).id === activityId;
    } catch {
      return false;
    }
  });
}

function rawPost(url, headers, body) {
  // Sends exactly these headers (Host included) with node:http, so a replay
  // is byte-for-byte what Fedify signed, apart from what a test changes.
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const h = { ...headers, "content-length": String(Buffer.byteLength(body)) };
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: "POST", headers: h },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// ---- set-up -------------------------------------------------------------------
async function setup() {
  await waitFor("kithd to answer /health", async () => (await fetch(`${KITH}/health`)).status === 200, 20000);
  await waitFor("the peer to answer", async () => (await fetch(`${PEER}/_control/state`)).status === 200, 20000);
  ctlOk(await ctl("community", "add", "cats", "--owner", "admin", "--title", "Cats"), "community add cats");
  ctlOk(await ctl("user", "add", "alice"), "user add alice");
  const state = await peerGet("/_control/state");
  return state.actor;
}

// ---- scenarios ----------------------------------------------------------------
let PEER_ACTOR;

async function followCommunity() {
  const { sent } = await peerPost("/_control/follow", { target: CATS });
  const [post] = await sentPosts(sent.id);
  assert(post, "the peer sent no Follow to kith");
  assert(post.status === 202, `kith answered ${post.status} to the Follow: ${post.response}`);
  await waitFor("the community's Accept", async () => (await peerGet("/_control/state")).following[CATS]?.accepted);
  const accept = await receivedOne((j) => j.type === "Accept" && j.actor === CATS);
  assertSignedBy(accept, CATS);
  assert(idOf(accept.json.object) === sent.id, `Accept's object is ${JSON.stringify(accept.json.object)}, expected the Follow ${sent.id}`);
  const followers = await kithGet("/c/cats/followers");
  assert(followers.totalItems === 2, `/c/cats/followers totalItems is ${followers.totalItems}, expected 2 (owner and the peer)`);
}

async function postIntoCommunity() {
  const host = new URL(KITH).host;
  const content =
    `<p><span class="h-card"><a href="${CATS}" class="u-url mention">@<span>cats</span></a></span>` +
    ` Hello cats, from Fedify</p>`;
  const { sent } = await peerPost("/_control/note", {
    content,
    to: ["Public"],
    cc: [CATS, "followers"],
    audience: CATS,
    mentions: [{ href: CATS, name: `@cats@${host}` }],
    deliverTo: [CATS],
  });
  const [post] = await sentPosts(sent.id);
  assert(post, "the peer sent no Create to kith");
  assert(post.status === 202, `kith answered ${post.status} to the Create: ${post.response}`);
  const noteId = sent.object.id;
  const announce = await waitFor("the community's Announce of the post", () =>
    receivedOne((j) => j.type === "Announce" && j.actor === CATS && idOf(j.object) === sent.id),
  );
  assertSignedBy(announce, CATS);
  const inner = announce.json.object;
  assert(typeof inner === "object", `the Announce's object is a bare id ${inner}, expected the Create itself`);
  assert(inner.type === "Create" && inner.actor === PEER_ACTOR, `announced ${inner.type} by ${inner.actor}`);
  assert(idOf(inner.object) === noteId, `announced Create's object is ${idOf(inner.object)}, expected ${noteId}`);
  assert(typeof inner.object === "object" && inner.object.content === content, "the announced Note's content differs from what was sent");
  assert(isPublic(announce.json.to), `the Announce's to is ${JSON.stringify(announce.json.to)}, expected Public`);
  assert(idOf(announce.json.audience) === CATS, `the Announce's audience is ${JSON.stringify(announce.json.audience)}`);
  // The peer's own check is no formality: the same Announce with a changed
  // body is refused, whether its Digest is kept or made to match.
  const forged = announce.body.replace("Hello cats", "Hello dogs");
  assert(forged !== announce.body, "could not change the Announce's body");
  const headers = { ...announce.headers, "x-conformance-forged": "1" };
  const digest = "SHA-256=" + createHash("sha256").update(forged).digest("base64");
  for (const [how, h] of [["Digest kept", headers], ["Digest matching", { ...headers, digest }]]) {
    const r = await rawPost(PEER + announce.path, h, forged);
    assert(r.status === 401, `the peer accepted a forged Announce (${how}): ${r.status}: its signature check is broken`);
  }
}

async function rfc9421FirstKnock() {
  const t0 = Date.now();
  const content = "<p>RFC 9421 first knock</p>";
  const { sent } = await peerPost("/_control/note", {
    content,
    to: ["Public"],
    cc: [CATS],
    audience: CATS,
    deliverTo: [CATS],
  });
  const posts = await sentPosts(sent.id);
  const attempts = posts.map((p) => `${p.scheme} -> ${p.status}`).join(", ");
  assert(posts.length === 1, `the peer made ${posts.length} POSTs for one Create: ${attempts} (a fallback to cavage?)`);
  const [post] = posts;
  assert(post.scheme === "rfc9421", `the first knock was signed with ${post.scheme}, expected rfc9421`);
  assert(post.status === 202, `kith answered ${post.status} to the RFC 9421-signed POST: ${post.response}`);
  const input = post.headers["signature-input"];
  for (const c of ['"@method"', '"@target-uri"', '"content-digest"'])
    assert(input.includes(c), `Signature-Input ${input} does not cover ${c}`);
  assert(!post.headers.digest && !post.headers.signature.includes("keyId="), "the RFC 9421 request also carried cavage headers");
  // kith's side: one POST, answered 202, no refused attempt before it.
  const inboxPath = new URL(post.url).pathname;
  const t1 = Date.now();
  const lines = await accessPosts(t0, t1, 1);
  assert(lines.length === 1 && lines[0].status === 202 && lines[0].uri === inboxPath,
    `kithd logged ${lines.length} POST(s) for one delivery: ${lines.map((l) => l.line).join(" | ")}`);
  // Every POST the peer ever made to kith (its very first contact was the
  // Follow of scenario 1) was RFC 9421 and accepted at once.
  const all = (await peerGet("/_control/outgoing")).filter((o) => o.method === "POST" && o.url.startsWith(KITH + "/"));
  const bad = all.filter((o) => o.scheme !== "rfc9421" || o.status !== 202);
  assert(!bad.length, `POSTs to kith not RFC 9421 or not 202: ${bad.map((o) => `${o.url} ${o.scheme} ${o.status}`).join(", ")}`);
  // The same request with its body tampered with (same id, still JSON).
  const tampered = post.body.replace("RFC 9421 first knock", "RFC 9421 tampered knock");
  assert(tampered !== post.body, "could not tamper with the body");
  let r = await rawPost(post.url, post.headers, tampered);
  assert(r.status === 401, `tampered body, Content-Digest kept: kith answered ${r.status} ${r.body.trim()}, expected 401`);
  r = await rawPost(post.url, { ...post.headers, "content-digest": sha256(tampered) }, tampered);
  assert(r.status === 401, `tampered body with a matching Content-Digest: kith answered ${r.status} ${r.body.trim()}, expected 401`);
  // Control: the untampered replay passes (kith acknowledges a duplicate id).
  r = await rawPost(post.url, post.headers, post.body);
  assert(r.status === 202, `the untampered replay got ${r.status} ${r.body.trim()}, expected 202`);
  const replays = (await accessPosts(t1, Infinity, 3)).map((l) => l.status);
  assert(replays.join() === "401,401,202", `kithd logged the replays as ${replays.join()}, expected 401,401,202`);
}

async function kithFollowsPeer() {
  const out = ctlOk(await ctl("act", "alice", "follow", PEER_ACTOR), "act alice follow");
  if (VERBOSE) process.stdout.write(out);
  const follow = await waitFor("alice's Follow at the peer", () => receivedOne((j) => j.type === "Follow" && j.actor === ALICE));
  assertSignedBy(follow, ALICE);
  assert(idOf(follow.json.object) === PEER_ACTOR, `alice's Follow has object ${JSON.stringify(follow.json.object)}`);
  await waitFor("the peer's Accept to be sent", async () => {
    const sentAccepts = (await peerGet("/_control/outgoing")).filter((o) => o.method === "POST" && o.body?.includes('"Accept"'));
    const a = sentAccepts.find((o) => o.url.startsWith(KITH + "/"));
    if (a && a.status !== 202) throw new Error(`kith answered ${a.status} to the Accept: ${a.response}`);
    return a;
  });
  await waitFor("act alice following to say accepted", async () => {
    const text = ctlOk(await ctl("act", "alice", "following"), "act alice following");
    return text.split("\n").some((l) => l.split(/\s+/)[0] === PEER_ACTOR && /\baccepted$/.test(l.trim()));
  });
  const text = "Hello followers, from Fedify";
  const { sent } = await peerPost("/_control/note", {
    content: `<p>${text}</p>`,
    to: ["Public"],
    cc: ["followers"],
    deliverTo: "followers",
  });
  const [post] = await sentPosts(sent.id);
  assert(post, "the peer sent the Create to none of its followers");
  assert(post.status === 202, `kith answered ${post.status} to the Create: ${post.response}`);
  const noteId = sent.object.id;
  await waitFor("the note in act alice timeline", async () => {
    const out = ctlOk(await ctl("act", "alice", "timeline"), "act alice timeline");
    const line = out.split("\n").find((l) => l.split("\t")[0] === noteId);
    if (!line) return false;
    const [, author, visibility, body] = line.split("\t");
    assert(author === PEER_ACTOR, `timeline line author ${author}, expected ${PEER_ACTOR}: ${line}`);
    assert(visibility === "public", `timeline line visibility ${visibility}, expected public: ${line}`);
    assert(body?.includes(text), `timeline line text ${JSON.stringify(body)} lacks ${JSON.stringify(text)}`);
    return true;
  });
}

async function peerFollowsPerson() {
  const { sent } = await peerPost("/_control/follow", { target: ALICE });
  const [post] = await sentPosts(sent.id);
  assert(post, "the peer sent no Follow to alice");
  assert(post.status === 202, `kith answered ${post.status} to the Follow: ${post.response}`);
  await waitFor("alice's Accept", async () => (await peerGet("/_control/state")).following[ALICE]?.accepted);
  const accept = await receivedOne((j) => j.type === "Accept" && j.actor === ALICE);
  assertSignedBy(accept, ALICE);
  assert(idOf(accept.json.object) === sent.id, `Accept's object is ${JSON.stringify(accept.json.object)}, expected ${sent.id}`);
  ctlOk(await ctl("act", "alice", "note", "--body", "hello fedify"), "act alice note");
  const create = await waitFor("alice's Create(Note) at the peer", () =>
    receivedOne((j) => j.type === "Create" && j.actor === ALICE && j.object?.type === "Note" && String(j.object.content).includes("hello fedify")),
  );
  assertSignedBy(create, ALICE);
  const note = create.json.object;
  assert(idOf(note.attributedTo) === ALICE, `the Note's attributedTo is ${JSON.stringify(note.attributedTo)}`);
  assert(isPublic(create.json.to) && isPublic(note.to), `not public: Create to ${JSON.stringify(create.json.to)}, Note to ${JSON.stringify(note.to)}`);
}

// ---- main ---------------------------------------------------------------------
const scenarios = [
  ["1 follow-community: the peer follows c/cats and gets a signed Accept", followCommunity],
  ["2 post-into-community: the peer's Create(Note) comes back in the community's signed Announce", postIntoCommunity],
  ["3 rfc9421-first-knock: one RFC 9421 POST is accepted (202, no cavage retry); tampered body 401", rfc9421FirstKnock],
  ["4 kith-follows-peer: alice follows the peer, Accept, its public note is in alice's timeline", kithFollowsPeer],
  ["5 peer-follows-person: the peer follows u/alice, Accept, alice's note arrives signed and public", peerFollowsPerson],
];

const overall = setTimeout(() => {
  console.log("FAIL: the scenarios took longer than 150 s");
  process.exit(1);
}, 150000);

let passed = 0;
let failed = 0;
try {
  PEER_ACTOR = await setup();
} catch (e) {
  console.log(`FAIL set-up: ${e.message}\n--- kithd log (tail)\n${kithdLogTail()}`);
  process.exit(1);
}
for (const [name, fn] of scenarios) {
  const before = (await peerGet("/_control/inbox")).length;
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  // Any POST the peer could not verify during the scenario fails it.
  const unverified = (await peerGet("/_control/inbox")).slice(before).filter((e) => !e.verified && !e.headers["x-conformance-forged"]);
  if (!err && unverified.length)
    err = new Error(
      `the peer received ${unverified.length} POST(s) it could not verify: ` +
        unverified.map((e) => `${e.path} ${e.json?.type} ${e.scheme} ${JSON.stringify(e.reason)}`).join("; "),
    );
  if (!err) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    const tag = err instanceof Pending ? " [pending: kithctl command not implemented yet]" : "";
    console.log(`FAIL ${name}${tag}\n     ${err.message}`);
    if (VERBOSE || !(err instanceof Pending)) console.log(`     --- kithd log (tail)\n${kithdLogTail().replace(/^/gm, "     ")}`);
  }
}
clearTimeout(overall);
console.log(`fedify: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
