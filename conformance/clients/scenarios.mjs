// The Mastodon-client scenarios: masto.js and megalodon, two independent
// Mastodon API client libraries, against two running kithd started by
// conformance/run, "A" and "B", which federate with each other; run passes
// what they need in the environment:
//
//   KITH_URL      A's public_url (http://127.0.0.1:PORT)
//   KITH_CONF     A's config file, for kithctl -c
//   KITHCTL       the kithctl binary
//   KITHD_LOG     A's kithd stderr (its tail is printed with a failure)
//   KITHD_PID     A's kithd pid (to notice an early exit)
//   KITH_B_URL, KITH_B_PORT, KITH_B_CONF, KITHD_B_LOG, KITHD_B_PID
//                 the same for B
//
// On A the people are alice and carol; on B the people bob and dave and the
// community cats (owner admin). Scenarios 1 to 4 use A alone; 5 to 8 post,
// read timelines, search, follow across the two servers and read
// notifications, and build on one another in that order (alice's status of
// 6 is the one bob answers in 7). 9 uploads media, 10 polls (bob on B
// follows alice and votes), 11 to 13 stream over WebSocket (masto.js, then
// megalodon on A, then megalodon with bob's status from B), 14 follows a
// person of B seen only in a community's boost.
//
// The person signs in as a browser would: the sign-in form of
// /oauth/authorize, its session cookie, the consent page with its CSRF field,
// and the redirect back to the app, followed to a callback server of this
// process that takes the code. Nothing else goes around the libraries: each
// request to the API is made by masto.js or megalodon, and each answer is
// parsed by them (the exceptions: the RFC 8414 OAuth metadata, for which
// neither has a call; the uploaded file and its preview in 9, fetched as a
// browser loads an image; and, after a failed WebSocket connection only, one
// handshake made by hand to show what kith answered).
//
// Prints one "PASS name" or "FAIL name: why" line per scenario, then
// "clients: N passed, N failed"; exits 1 when any failed.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { deflateSync } from "node:zlib";

import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient, MastoHttpError } from "masto";
import generator, { detector } from "megalodon";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`clients/scenarios.mjs: ${k} is not set (run it through conformance/run)`);
  return v;
};
const KITH = env("KITH_URL");
const CONF = env("KITH_CONF");
const KITHCTL = env("KITHCTL");
const KITHD_LOG = env("KITHD_LOG");
const KITHD_PID = Number(env("KITHD_PID"));
const KITH_B = env("KITH_B_URL");
const KITH_B_PORT = env("KITH_B_PORT");
const CONF_B = env("KITH_B_CONF");
const KITHD_B_LOG = env("KITHD_B_LOG");
const KITHD_B_PID = Number(env("KITHD_B_PID"));
const HOST_A = new URL(KITH).host;
const HOST_B = new URL(KITH_B).host;
const VERBOSE = !!process.env.VERBOSE;

const USER = "alice";
const PASSWORD = randomBytes(12).toString("base64url");
const ALICE = { base: KITH, user: USER, password: PASSWORD };
const BOB = { base: KITH_B, user: "bob", password: randomBytes(12).toString("base64url") };
const CAROL = { base: KITH, user: "carol", password: randomBytes(12).toString("base64url") }; // on A
const DAVE = { base: KITH_B, user: "dave", password: randomBytes(12).toString("base64url") }; // on B
const COMMUNITY = "cats"; // on B
const VERSION_PREFIX = "4.2.0 (compatible; kith ";

// ---- helpers ------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kithdLogTail(n = 15, log = KITHD_LOG) {
  try {
    return readFileSync(log, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no kithd log)";
  }
}

// kithctl -c CONF ARGS..., with `input` on its standard input (conf: A's
// config unless told).
function ctl(args, input = "", conf = CONF) {
  return new Promise((resolve, reject) => {
    const child = spawn(KITHCTL, ["-c", conf, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that reads no input may exit before it is written: the
    // EPIPE is no failure of the command (its exit code says how it went).
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

// What a failed client call said: masto's MastoHttpError carries the status,
// megalodon's errors are axios errors with the response attached.
function describe(e) {
  if (e instanceof MastoHttpError) return `masto ${e.name} ${e.statusCode}: ${e.message}`;
  if (e?.isAxiosError || e?.response) {
    const r = e.response;
    const body = r ? (typeof r.data === "string" ? r.data : JSON.stringify(r.data)) : "";
    return `megalodon (axios) ${e.message}${r ? `: ${r.config?.method?.toUpperCase()} ${r.config?.url} -> ${r.status} ${body}` : ""}`;
  }
  return `${e?.name ?? "Error"}: ${e?.message ?? e}${e?.cause ? ` (cause: ${e.cause.message ?? e.cause})` : ""}`;
}

// Runs one client call; a throw becomes an error naming the call.
async function call(what, fn) {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${what} failed: ${describe(e)}`, { cause: e });
  }
}

// PKCE (RFC 7636): a fresh 43-character verifier and its S256 challenge.
function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

// ---- the app's redirect target ---------------------------------------------------
// A loopback server standing for the app's redirect_uri: the browser follows
// kith's 302 to it, and it records the query it was called with.
const callbacks = [];
const callbackServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  callbacks.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("signed in; you may close this window\n");
});
await new Promise((r) => callbackServer.listen(0, "127.0.0.1", r));
const CALLBACK_BASE = `http://127.0.0.1:${callbackServer.address().port}`;

// ---- a browser, in plain HTTP ---------------------------------------------------
// Keeps cookies per origin, does not follow redirects by itself (each 302 is
// looked at, then followed with a GET), and submits HTML forms the way a
// browser does: every named input with its value, plus the name and value of
// the button pressed, form-urlencoded, to the form's action.
const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'" };
function unescapeHtml(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attributes(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g))
    out[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? "");
  return out;
}

// The forms of a page: method, action, fields (named inputs) and buttons.
function forms(page) {
  const out = [];
  for (const m of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const form = attributes(m[1]);
    const fields = [];
    const buttons = [];
    for (const t of m[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const a = attributes(t[2].replace(/\/$/, ""));
      const type = (a.type ?? (t[1].toLowerCase() === "button" ? "submit" : "text")).toLowerCase();
      if (t[1].toLowerCase() === "button" || type === "submit") buttons.push({ name: a.name, value: a.value ?? "" });
      else if (a.name && !("disabled" in a)) fields.push({ type, name: a.name, value: a.value ?? "" });
    }
    out.push({ method: (form.method ?? "get").toLowerCase(), action: form.action ?? "", fields, buttons });
  }
  return out;
}

// A page in a line, for a failure message: its title and error paragraph as
// text, or the start of its text.
function pageSummary(page) {
  const text = (re) => {
    const m = re.exec(page.text);
    return m ? unescapeHtml(m[1].replace(/<[^>]*>/g, "")).replace(/\s+/g, " ").trim() : "";
  };
  const title = text(/<title>([\s\S]*?)<\/title>/i);
  const error = text(/<[a-z0-9]+ class="error"[^>]*>([\s\S]*?)<\/[a-z0-9]+>/i);
  const what = title || error ? [title, error].filter(Boolean).join(": ") : page.text.slice(0, 300);
  return `${page.status} "${what}"`;
}

class Browser {
  constructor() {
    this.jar = new Map(); // origin -> Map(name -> value)
    this.visited = [];
  }

  cookieHeader(url) {
    const c = this.jar.get(new URL(url).origin);
    return c && c.size ? [...c].map(([k, v]) => `${k}=${v}`).join("; ") : null;
  }

  keepCookies(url, res) {
    const origin = new URL(url).origin;
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair.indexOf("=");
      if (i < 1) continue;
      if (!this.jar.has(origin)) this.jar.set(origin, new Map());
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (/;\s*max-age=0\b/i.test(line) || value === "") this.jar.get(origin).delete(name);
      else this.jar.get(origin).set(name, value);
    }
  }

  async request(method, url, body) {
    const headers = { accept: "text/html,application/xhtml+xml", "user-agent": "kith-conformance-browser" };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(url, { method, headers, body, redirect: "manual" });
    this.keepCookies(url, res);
    const text = await res.text();
    const page = { url, status: res.status, headers: res.headers, text };
    this.visited.push(`${method} ${url} -> ${res.status}${res.headers.get("location") ? ` ${res.headers.get("location")}` : ""}`);
    return page;
  }

  get(url) {
    return this.request("GET", url);
  }

  // Submits the page's only form, pressing the button whose value is
  // `button` (or the only button), with `fill` typed into its fields.
  submit(page, fill = {}, button = null) {
    const all = forms(page.text);
    assert(all.length === 1, `expected one form at ${page.url}, found ${all.length}: ${pageSummary(page)}`);
    const [form] = all;
    const params = new URLSearchParams();
    const seen = new Set();
    for (const f of form.fields) {
      params.append(f.name, f.name in fill ? fill[f.name] : f.value);
      seen.add(f.name);
    }
    for (const name of Object.keys(fill))
      assert(seen.has(name), `the form at ${page.url} has no field ${name}: ${form.fields.map((f) => f.name).join(", ")}`);
    const pressed = button === null ? form.buttons[0] : form.buttons.find((b) => b.value === button);
    assert(pressed, `the form at ${page.url} has no ${button ?? "submit"} button: ${JSON.stringify(form.buttons)}`);
    if (pressed.name) params.append(pressed.name, pressed.value);
    const action = new URL(form.action || page.url, page.url).href;
    if (form.method === "post") return this.request("POST", action, params.toString());
    const u = new URL(action);
    u.search = params.toString();
    return this.get(u.href);
  }
}

// A person (`who`: alice on A unless told) signs in through kith's
// /oauth/authorize and approves a new app: opens `authorizeUrl`, fills in
// the sign-in form, approves on the consent page, and follows the redirect
// to the app's callback. Returns the query the callback got ({code, state})
// and the 302's Location.
async function browserSignIn(authorizeUrl, redirectUri, who = ALICE) {
  const b = new Browser();
  const trail = () => `\n       pages: ${b.visited.join("\n              ")}`;
  try {
    let page = await b.get(authorizeUrl);
    assert(page.status === 200, `GET ${authorizeUrl}: ${pageSummary(page)}`);
    assert(/type="password"/.test(page.text), "the authorize page shows no password field");
    page = await b.submit(page, { username: who.user, password: who.password });
    // A new app: the consent page, a form with its CSRF field and an
    // approve button, under the session cookie just set.
    assert(page.status === 200, `signing in answered ${pageSummary(page)}, expected the consent page`);
    assert(b.cookieHeader(authorizeUrl)?.includes("kith_session="), "signing in set no kith_session cookie");
    const [consent] = forms(page.text);
    assert(consent, `no consent form after signing in: ${pageSummary(page)}`);
    assert(consent.fields.some((f) => f.name === "csrf" && f.value.length >= 32),
      `the consent form has no CSRF field: ${consent.fields.map((f) => f.name).join(", ")}`);
    page = await b.submit(page, {}, "approve");
    assert(page.status === 302, `approving answered ${pageSummary(page)}, expected a 302 to the app`);
    const location = page.headers.get("location");
    assert(location && location.startsWith(redirectUri + "?"), `the 302 goes to ${location}, expected ${redirectUri}?...`);
    const before = callbacks.length;
    const landed = await b.get(new URL(location, page.url).href);
    assert(landed.status === 200 && callbacks.length === before + 1, `following the 302 to ${location} failed: ${landed.status}`);
    const got = callbacks[callbacks.length - 1].query;
    assert(got.code, `the app's callback got no code: ${JSON.stringify(got)}`);
    return { ...got, location };
  } catch (e) {
    e.message += trail();
    throw e;
  }
}

// ---- set-up -------------------------------------------------------------------
async function waitHealthy(base, pid, name) {
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      if ((await fetch(`${base}/health`)).status === 200) return;
    } catch {}
    if (!alive(pid)) throw new Error(`kithd ${name} (pid ${pid}) is no longer running`);
    if (Date.now() > deadline) throw new Error(`kithd ${name} did not answer /health within 20 s`);
    await sleep(100);
  }
}

async function ctlOk(args, input, conf, what) {
  const r = await ctl(args, input, conf);
  if (r.code !== 0) throw new Error(`${what}: kithctl ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r;
}

async function setup() {
  await waitHealthy(KITH, KITHD_PID, "A");
  await waitHealthy(KITH_B, KITHD_B_PID, "B");
  await ctlOk(["user", "add", USER, "--password-stdin"], PASSWORD + "\n", CONF, "on A");
  await ctlOk(["user", "add", CAROL.user, "--password-stdin"], CAROL.password + "\n", CONF, "on A");
  await ctlOk(["user", "add", BOB.user, "--password-stdin"], BOB.password + "\n", CONF_B, "on B");
  await ctlOk(["user", "add", DAVE.user, "--password-stdin"], DAVE.password + "\n", CONF_B, "on B");
  await ctlOk(["community", "add", COMMUNITY, "--owner", "admin", "--title", "Cats"], "", CONF_B, "on B");
}

// ---- sessions for the scenarios that use the API --------------------------------
// A masto.js client signed in as `who` on `who.base`: an app of its own, the
// browser sign-in with PKCE S256, the token.
async function mastoSession(who, label) {
  const redirectUri = `${CALLBACK_BASE}/${label}/callback`;
  const scope = "read write";
  const rest = createRestAPIClient({ url: who.base, timeout: 10000 });
  const app = await call(`masto v1.apps.create on ${who.base}`, () =>
    rest.v1.apps.create({ clientName: `kith conformance (${label})`, redirectUris: redirectUri, scopes: scope }),
  );
  const { verifier, challenge } = pkce();
  const authorize = new URL("/oauth/authorize", who.base);
  authorize.search = new URLSearchParams({
    response_type: "code", client_id: app.clientId, redirect_uri: redirectUri, scope,
    code_challenge: challenge, code_challenge_method: "S256",
  }).toString();
  const back = await browserSignIn(authorize.href, redirectUri, who);
  const oauth = createOAuthAPIClient({ url: who.base, timeout: 10000 });
  const token = await call(`masto oauth.token.create on ${who.base}`, () =>
    oauth.token.create({ grantType: "authorization_code", clientId: app.clientId, clientSecret: app.clientSecret, redirectUri, code: back.code, codeVerifier: verifier, scope }),
  );
  const masto = createRestAPIClient({ url: who.base, accessToken: token.accessToken, timeout: 10000 });
  const me = await call(`masto v1.accounts.verifyCredentials on ${who.base}`, () => masto.v1.accounts.verifyCredentials());
  assert(me.username === who.user, `verifyCredentials on ${who.base}: ${me.username}, expected ${who.user}`);
  return { masto, me, token: token.accessToken };
}

// A megalodon client signed in as `who`: registerApp, the browser sign-in
// with megalodon's own authorize URL, fetchAccessToken.
async function megalodonSession(who, label) {
  const redirectUri = `${CALLBACK_BASE}/${label}/callback`;
  const client = generator("mastodon", who.base);
  const app = await call(`megalodon registerApp on ${who.base}`, () =>
    client.registerApp(`kith conformance (${label})`, { scopes: ["read", "write"], redirect_uris: redirectUri }),
  );
  const back = await browserSignIn(await app.url, redirectUri, who);
  const token = await call(`megalodon fetchAccessToken on ${who.base}`, () =>
    client.fetchAccessToken(app.client_id, app.client_secret, back.code, redirectUri),
  );
  const mega = generator("mastodon", who.base, token.access_token);
  const me = await call(`megalodon verifyAccountCredentials on ${who.base}`, () => mega.verifyAccountCredentials());
  assert(me.data.username === who.user, `verifyAccountCredentials on ${who.base}: ${me.data.username}, expected ${who.user}`);
  return { mega, me: me.data };
}

// Polls `fn` until it returns a truthy value, every 200 ms, for at most
// `ms`; then fails naming `what` and the last thing `fn` saw (its `last`).
async function waitFor(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    const got = await fn((seen) => (last = seen));
    if (got) return got;
    if (!alive(KITHD_PID)) throw new Error(`waiting for ${what}: kithd A (pid ${KITHD_PID}) is no longer running`);
    if (!alive(KITHD_B_PID)) throw new Error(`waiting for ${what}: kithd B (pid ${KITHD_B_PID}) is no longer running`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s${last ? `; last seen: ${last}` : ""}`);
    await sleep(200);
  }
}

const isId = (id) => typeof id === "string" && /^[0-9]+$/.test(id);
const nonce = () => randomBytes(4).toString("hex");
const brief = (list) => JSON.stringify(list.map((s) => ({ id: s.id, uri: s.reblog ? `reblog of ${s.reblog.uri}` : s.uri, by: s.account?.acct })));

// What scenarios 5 to 8 hand on to one another.
const shared = {};
function needs(key, scenario) {
  assert(shared[key], `needs what scenario ${scenario} makes (${key}), and it failed`);
  return shared[key];
}

// ---- scenarios ----------------------------------------------------------------

// 1. masto.js: app, browser sign-in with PKCE S256, token, account, instance.
async function mastoSignIn() {
  const redirectUri = `${CALLBACK_BASE}/masto/callback`;
  const scope = "read write";
  const rest = createRestAPIClient({ url: KITH, timeout: 10000 });
  const app = await call("masto v1.apps.create", () =>
    rest.v1.apps.create({ clientName: "kith conformance (masto.js)", redirectUris: redirectUri, scopes: scope, website: "https://example.org/masto" }),
  );
  assert(app.clientId && app.clientSecret, `the app has no clientId/clientSecret: ${JSON.stringify(app)}`);
  assert(app.name === "kith conformance (masto.js)", `the app's name is ${JSON.stringify(app.name)}`);

  // Where to send the person: the server's RFC 8414 metadata, as current
  // Mastodon clients read it.
  const meta = await (await fetch(`${KITH}/.well-known/oauth-authorization-server`)).json();
  assert(meta.code_challenge_methods_supported?.includes("S256"), `the OAuth metadata does not offer S256: ${JSON.stringify(meta.code_challenge_methods_supported)}`);
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString("base64url");
  const authorize = new URL(meta.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  const back = await browserSignIn(authorize.href, redirectUri);
  assert(back.state === state, `the callback's state is ${JSON.stringify(back.state)}, expected ${state}`);

  const oauth = createOAuthAPIClient({ url: KITH, timeout: 10000 });
  // A wrong verifier is refused: the code is bound to the challenge.
  const wrong = await oauth.token
    .create({ grantType: "authorization_code", clientId: app.clientId, clientSecret: app.clientSecret, redirectUri, code: back.code, codeVerifier: pkce().verifier, scope })
    .then((t) => t, (e) => e);
  assert(wrong instanceof MastoHttpError && wrong.statusCode === 400,
    `a wrong code_verifier was not refused with 400: ${wrong instanceof Error ? describe(wrong) : JSON.stringify(wrong)}`);
  const token = await call("masto oauth.token.create (authorization_code)", () =>
    oauth.token.create({ grantType: "authorization_code", clientId: app.clientId, clientSecret: app.clientSecret, redirectUri, code: back.code, codeVerifier: verifier, scope }),
  );
  assert(token.accessToken, `no accessToken in ${JSON.stringify(token)}`);
  assert(/^bearer$/i.test(token.tokenType), `tokenType is ${token.tokenType}`);
  assert(token.scope === scope, `the token's scope is ${JSON.stringify(token.scope)}, expected ${scope}`);

  const masto = createRestAPIClient({ url: KITH, accessToken: token.accessToken, timeout: 10000 });
  const me = await call("masto v1.accounts.verifyCredentials", () => masto.v1.accounts.verifyCredentials());
  assert(me.username === USER && me.acct === USER, `verifyCredentials: username ${me.username}, acct ${me.acct}, expected ${USER}`);
  assert(typeof me.id === "string" && me.id, `verifyCredentials: id ${JSON.stringify(me.id)}`);
  assert(me.url?.startsWith(`${KITH}/`), `verifyCredentials: url ${me.url}, expected a page of ${KITH}`);
  assert(me.source && typeof me.source.privacy === "string", `verifyCredentials: no source.privacy (a CredentialAccount): ${JSON.stringify(me.source)}`);
  const byId = await call("masto v1.accounts.$select(id).fetch", () => masto.v1.accounts.$select(me.id).fetch());
  assert(byId.id === me.id && byId.username === USER, `accounts/${me.id}: ${byId.id} ${byId.username}`);
  const looked = await call("masto v1.accounts.lookup", () => masto.v1.accounts.lookup({ acct: USER }));
  assert(looked.id === me.id, `accounts/lookup?acct=${USER} gave id ${looked.id}, expected ${me.id}`);

  const host = new URL(KITH).host;
  const v2 = await call("masto v2.instance.fetch", () => masto.v2.instance.fetch());
  assert(v2.version?.startsWith(VERSION_PREFIX), `v2 instance version ${JSON.stringify(v2.version)}, expected "${VERSION_PREFIX}..."`);
  assert(v2.domain === host, `v2 instance domain ${v2.domain}, expected ${host}`);
  assert(v2.configuration?.urls && "streaming" in v2.configuration.urls, `v2 instance has no configuration.urls.streaming: ${JSON.stringify(v2.configuration?.urls)}`);
  const v1 = await call("masto v1.instance.fetch", () => masto.v1.instance.fetch());
  assert(v1.version === v2.version, `v1 instance version ${JSON.stringify(v1.version)}, v2 says ${JSON.stringify(v2.version)}`);
  assert(v1.uri === host, `v1 instance uri ${v1.uri}, expected ${host}`);
  assert(typeof v1.stats?.userCount === "number", `v1 instance stats ${JSON.stringify(v1.stats)}`);
  if (VERBOSE) console.log(`     masto.js: ${me.acct} (id ${me.id}) on ${v2.domain}, ${v2.version}`);
}

// 2. megalodon: registerApp, the same sign-in page, fetchAccessToken,
// verifyAccountCredentials, getInstance.
async function megalodonSignIn() {
  const redirectUri = `${CALLBACK_BASE}/megalodon/callback`;
  const client = generator("mastodon", KITH);
  const app = await call("megalodon registerApp", () =>
    client.registerApp("kith conformance (megalodon)", { scopes: ["read", "write"], redirect_uris: redirectUri, website: "https://example.org/megalodon" }),
  );
  assert(app.client_id && app.client_secret, `registerApp: no client_id/client_secret: ${JSON.stringify(app)}`);
  assert(app.redirect_uri === redirectUri, `registerApp: redirect_uri ${JSON.stringify(app.redirect_uri)}, expected ${redirectUri}`);
  // megalodon builds the authorize URL itself (no state, no PKCE): use it as is.
  const url = await app.url;
  assert(typeof url === "string" && url.startsWith(`${KITH}/oauth/authorize?`), `registerApp's url is ${JSON.stringify(url)}`);
  const back = await browserSignIn(url, redirectUri);
  const token = await call("megalodon fetchAccessToken", () => client.fetchAccessToken(app.client_id, app.client_secret, back.code, redirectUri));
  assert(token.access_token, `fetchAccessToken: no access_token in ${JSON.stringify(token)}`);
  assert(token.scope === "read write", `fetchAccessToken: scope ${JSON.stringify(token.scope)}, expected "read write"`);

  const authed = generator("mastodon", KITH, token.access_token);
  const me = await call("megalodon verifyAccountCredentials", () => authed.verifyAccountCredentials());
  assert(me.status === 200, `verifyAccountCredentials: status ${me.status}`);
  assert(me.data.username === USER && me.data.acct === USER, `verifyAccountCredentials: username ${me.data.username}, acct ${me.data.acct}`);
  assert(typeof me.data.id === "string" && me.data.id, `verifyAccountCredentials: id ${JSON.stringify(me.data.id)}`);
  const inst = await call("megalodon getInstance", () => authed.getInstance());
  assert(inst.status === 200, `getInstance: status ${inst.status}`);
  assert(inst.data.version?.startsWith(VERSION_PREFIX), `getInstance: version ${JSON.stringify(inst.data.version)}, expected "${VERSION_PREFIX}..."`);
  assert(inst.data.uri === new URL(KITH).host, `getInstance: uri ${inst.data.uri}`);
  assert(typeof inst.data.stats?.user_count === "number", `getInstance: stats ${JSON.stringify(inst.data.stats)}`);
  assert(inst.data.configuration?.statuses?.max_characters > 0,
    `getInstance: configuration.statuses.max_characters ${JSON.stringify(inst.data.configuration?.statuses)}`);
  if (VERBOSE) console.log(`     megalodon: ${me.data.acct} (id ${me.data.id}), ${inst.data.version}`);
}

// 3. megalodon's detector reads NodeInfo and says "mastodon".
async function megalodonDetector() {
  const sns = await call("megalodon detector", () => detector(KITH));
  assert(sns === "mastodon", `detector(${KITH}) answered ${JSON.stringify(sns)}, expected "mastodon"`);
}

// 4. A revoked token is refused: masto.js raises a 401 MastoHttpError.
async function mastoRevokedToken() {
  const redirectUri = `${CALLBACK_BASE}/revoke/callback`;
  const scope = "read";
  const rest = createRestAPIClient({ url: KITH, timeout: 10000 });
  const app = await call("masto v1.apps.create", () =>
    rest.v1.apps.create({ clientName: "kith conformance (revoke)", redirectUris: redirectUri, scopes: scope }),
  );
  const { verifier, challenge } = pkce();
  const authorize = new URL("/oauth/authorize", KITH);
  authorize.search = new URLSearchParams({
    response_type: "code", client_id: app.clientId, redirect_uri: redirectUri, scope,
    code_challenge: challenge, code_challenge_method: "S256",
  }).toString();
  const back = await browserSignIn(authorize.href, redirectUri);
  const oauth = createOAuthAPIClient({ url: KITH, timeout: 10000 });
  const token = await call("masto oauth.token.create (authorization_code)", () =>
    oauth.token.create({ grantType: "authorization_code", clientId: app.clientId, clientSecret: app.clientSecret, redirectUri, code: back.code, codeVerifier: verifier, scope }),
  );
  const masto = createRestAPIClient({ url: KITH, accessToken: token.accessToken, timeout: 10000 });
  const me = await call("masto v1.accounts.verifyCredentials (before revoking)", () => masto.v1.accounts.verifyCredentials());
  assert(me.username === USER, `verifyCredentials before revoking: ${me.username}`);

  await call("masto oauth.revoke", () => oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: token.accessToken }));
  const after = await masto.v1.accounts.verifyCredentials().then((a) => a, (e) => e);
  assert(!(after && after.username), `verifyCredentials with the revoked token still succeeded: ${after?.acct}`);
  assert(after instanceof MastoHttpError, `verifyCredentials with the revoked token raised ${describe(after)}, expected a MastoHttpError`);
  assert(after.statusCode === 401, `verifyCredentials with the revoked token: ${describe(after)}, expected 401`);
  assert(after.message && after.message !== "undefined", `masto found no error message in kith's 401 answer: ${describe(after)}`);
  // Revoking it again is still 200 (RFC 7009), and the token stays refused.
  await call("masto oauth.revoke (again)", () => oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: token.accessToken }));
  if (VERBOSE) console.log(`     refused: ${describe(after)}`);
}

// ---- scenarios 5 to 8: statuses, timelines, search, notifications, A and B ----

// The sessions of scenarios 5 to 8, each made once (a scenario that fails
// before making one leaves it to the next that needs it).
async function aliceMasto() {
  return (shared.aliceMasto ??= await mastoSession(ALICE, "masto-alice"));
}
async function aliceMegalodon() {
  return (shared.aliceMega ??= await megalodonSession(ALICE, "megalodon-alice"));
}
async function bobMasto() {
  return (shared.bobMasto ??= await mastoSession(BOB, "masto-bob"));
}
// carol: a second person on A (scenarios 10 and 11).
async function carolMasto() {
  return (shared.carolMasto ??= await mastoSession(CAROL, "masto-carol"));
}

// A Link header (RFC 8288, as Mastodon writes it) as {rel: url}.
function parseLink(header) {
  const out = {};
  for (const m of (header ?? "").matchAll(/<([^>]*)>\s*;\s*rel="?([^",;]+)"?/g)) out[m[2]] = m[1];
  return out;
}

// 5. masto.js: alice posts a status with a visibility, a content warning and
// a language, reads it back, favourites and bookmarks it, and finds it in
// her home timeline and her bookmarks.
async function mastoStatuses() {
  const { masto, me } = await aliceMasto();
  const n = nonce();
  const text = `Hello from masto.js ${n}`;
  const st = await call("masto v1.statuses.create", () =>
    masto.v1.statuses.create({ status: text, visibility: "unlisted", spoilerText: `cw ${n}`, language: "en" }),
  );
  const what = (s) => JSON.stringify({ id: s.id, uri: s.uri, visibility: s.visibility, spoilerText: s.spoilerText, language: s.language, content: s.content });
  assert(isId(st.id), `statuses.create: id ${JSON.stringify(st.id)}, expected a numeric string`);
  assert(st.visibility === "unlisted", `statuses.create: visibility ${JSON.stringify(st.visibility)}, expected "unlisted": ${what(st)}`);
  assert(st.spoilerText === `cw ${n}`, `statuses.create: spoilerText ${JSON.stringify(st.spoilerText)}, expected "cw ${n}"`);
  assert(st.language === "en", `statuses.create: language ${JSON.stringify(st.language)}, expected "en"`);
  assert(typeof st.content === "string" && st.content.includes(text), `statuses.create: content ${JSON.stringify(st.content)} lacks ${JSON.stringify(text)}`);
  assert(st.account?.id === me.id && st.account?.acct === USER, `statuses.create: account ${st.account?.id} ${st.account?.acct}, expected ${me.id} ${USER}`);
  assert(st.uri?.startsWith(`${KITH}/`), `statuses.create: uri ${st.uri}, expected one of ${KITH}`);
  assert(!Number.isNaN(Date.parse(st.createdAt)), `statuses.create: createdAt ${JSON.stringify(st.createdAt)}`);
  assert(st.inReplyToId === null && st.reblog === null, `statuses.create: inReplyToId ${st.inReplyToId}, reblog ${JSON.stringify(st.reblog)}, expected null`);
  assert(st.favourited === false && st.bookmarked === false && st.favouritesCount === 0,
    `statuses.create: favourited ${st.favourited}, bookmarked ${st.bookmarked}, favouritesCount ${st.favouritesCount}, expected false, false, 0`);
  for (const k of ["mentions", "mediaAttachments", "tags", "emojis"])
    assert(Array.isArray(st[k]), `statuses.create: ${k} is ${JSON.stringify(st[k])}, expected an array`);

  const got = await call("masto v1.statuses.$select(id).fetch", () => masto.v1.statuses.$select(st.id).fetch());
  assert(got.id === st.id && got.uri === st.uri && got.content === st.content, `statuses/${st.id} answered ${what(got)}, expected ${what(st)}`);
  assert(got.visibility === "unlisted" && got.spoilerText === st.spoilerText && got.language === "en", `statuses/${st.id} answered ${what(got)}`);

  const fav = await call("masto v1.statuses.$select(id).favourite", () => masto.v1.statuses.$select(st.id).favourite());
  assert(fav.id === st.id, `favourite answered status ${fav.id}, expected ${st.id}`);
  assert(fav.favourited === true && fav.favouritesCount === 1, `favourite: favourited ${fav.favourited}, favouritesCount ${fav.favouritesCount}, expected true, 1`);
  const bm = await call("masto v1.statuses.$select(id).bookmark", () => masto.v1.statuses.$select(st.id).bookmark());
  assert(bm.id === st.id && bm.bookmarked === true, `bookmark: status ${bm.id}, bookmarked ${bm.bookmarked}, expected ${st.id}, true`);
  const again = await call("masto v1.statuses.$select(id).fetch (after)", () => masto.v1.statuses.$select(st.id).fetch());
  assert(again.favourited === true && again.bookmarked === true && again.favouritesCount === 1,
    `statuses/${st.id} after favourite and bookmark: favourited ${again.favourited}, bookmarked ${again.bookmarked}, favouritesCount ${again.favouritesCount}`);
  const favBy = await call("masto v1.statuses.$select(id).favouritedBy.list", () => masto.v1.statuses.$select(st.id).favouritedBy.list());
  assert(favBy.length === 1 && favBy[0].id === me.id, `favourited_by: ${JSON.stringify(favBy.map((a) => a.acct))}, expected [${USER}]`);

  const home = await call("masto v1.timelines.home.list", () => masto.v1.timelines.home.list({ limit: 20 }));
  assert(Array.isArray(home) && home.length >= 1, `home timeline: ${JSON.stringify(home)}`);
  assert(home[0].id === st.id, `home timeline: newest is ${home[0].id}, expected the new status ${st.id}: ${brief(home)}`);
  assert(home[0].favourited === true && home[0].bookmarked === true, `home timeline: the status has favourited ${home[0].favourited}, bookmarked ${home[0].bookmarked}`);
  const marks = await call("masto v1.bookmarks.list", () => masto.v1.bookmarks.list());
  assert(marks.some((s) => s.id === st.id), `bookmarks: ${brief(marks)} lack ${st.id}`);
  shared.status5 = st;
  if (VERBOSE) console.log(`     status ${st.id} ${st.uri}`);
}

// 6. masto.js across servers: bob joins cats on B; alice finds
// @cats@B with search (resolve, WebFinger), follows it until B accepts,
// and posts into it; B holds the post (kithctl federation object) and bob
// sees the community's boost of it in his home timeline.
async function mastoCommunity() {
  const { masto: bob } = await bobMasto();
  const local = await call("masto v1.accounts.lookup (cats, on B)", () => bob.v1.accounts.lookup({ acct: COMMUNITY }));
  assert(local.group === true && local.username === COMMUNITY, `accounts/lookup?acct=${COMMUNITY} on B: group ${local.group}, username ${local.username}`);
  const joined = await call("masto v1.accounts.$select(cats).follow (bob, on B)", () => bob.v1.accounts.$select(local.id).follow());
  assert(joined.id === local.id && joined.following === true && joined.requested === false,
    `bob's follow of the public local community: ${JSON.stringify(joined)}, expected following true at once`);

  const { masto: alice } = await aliceMasto();
  const q = `@${COMMUNITY}@${HOST_B}`;
  const found = await call(`masto v2.search.list (${q}, resolve)`, () => alice.v2.search.list({ q, resolve: true }));
  const acct = `${COMMUNITY}@${HOST_B}`;
  const cats = found.accounts?.find((a) => a.acct === acct);
  assert(cats, `search ${q} (resolve) found no account ${acct}: ${JSON.stringify(found.accounts?.map((a) => a.acct))}`);
  assert(cats.group === true, `search ${q}: group ${cats.group}, expected true`);
  assert(isId(cats.id), `search ${q}: id ${JSON.stringify(cats.id)}`);
  assert(cats.url?.startsWith(`${KITH_B}/`), `search ${q}: url ${cats.url}, expected a page of B (${KITH_B})`);
  const rel = await call("masto v1.accounts.$select(cats@B).follow", () => alice.v1.accounts.$select(cats.id).follow());
  assert(rel.id === cats.id && (rel.following || rel.requested), `follow of ${acct}: ${JSON.stringify(rel)}, expected following or requested`);
  await waitFor(`B's Accept of alice's follow of ${acct} (relationships: following)`, async (seen) => {
    const [r] = await call("masto v1.accounts.relationships.fetch", () => alice.v1.accounts.relationships.fetch({ id: [cats.id] }));
    seen(JSON.stringify(r));
    return r?.id === cats.id && r.following === true;
  });

  const n = nonce();
  const title = `Kittens of the week ${n}`;
  const st = await call("masto v1.statuses.create (into cats@B)", () =>
    alice.v1.statuses.create({ status: `${title}\n\n@${acct} three of them in the garden today.`, visibility: "public" }),
  );
  assert(isId(st.id) && st.uri?.startsWith(`${KITH}/`), `statuses.create: id ${st.id}, uri ${st.uri}`);
  assert(st.content?.includes(n), `statuses.create: content ${JSON.stringify(st.content)} lacks ${n}`);
  shared.status6 = st;

  // kithctl federation object prints "field: value" lines.
  const held = await waitFor(`alice's post ${st.uri} on B (kithctl federation object, with its title)`, async (seen) => {
    const r = await ctl(["federation", "object", st.uri], "", CONF_B);
    seen(`exit ${r.code}: ${(r.stdout || r.stderr).trim().slice(0, 400)}`);
    return r.code === 0 && r.stdout.includes(title) ? r.stdout : null;
  });
  const line = (k) => held.match(new RegExp(`^${k}: (.*)$`, "m"))?.[1];
  assert(line("title") === title, `kithctl federation object on B: title ${JSON.stringify(line("title"))}, expected ${JSON.stringify(title)}`);
  assert(line("kind") === "post", `kithctl federation object on B: kind ${JSON.stringify(line("kind"))}, expected "post"`);
  assert(line("community") === `${KITH_B}/c/${COMMUNITY}`, `kithctl federation object on B: community ${JSON.stringify(line("community"))}, expected ${KITH_B}/c/${COMMUNITY}`);
  assert(line("author") === `${KITH}/u/${USER}`, `kithctl federation object on B: author ${JSON.stringify(line("author"))}, expected ${KITH}/u/${USER}`);
  const boost = await waitFor("the community's boost of alice's post in bob's home timeline on B", async (seen) => {
    const home = await call("masto v1.timelines.home.list (bob, on B)", () => bob.v1.timelines.home.list({ limit: 40 }));
    seen(brief(home));
    return home.find((s) => s.reblog?.uri === st.uri);
  });
  assert(boost.account?.acct === COMMUNITY && boost.account?.group === true,
    `bob's home: the boost is by ${boost.account?.acct} (group ${boost.account?.group}), expected the community ${COMMUNITY}`);
  assert(boost.reblog.account?.acct === `${USER}@${HOST_A}`, `bob's home: the boosted post is by ${boost.reblog.account?.acct}, expected ${USER}@${HOST_A}`);
  assert(boost.reblog.content?.includes(n), `bob's home: the boosted post's content ${JSON.stringify(boost.reblog.content)} lacks ${n}`);
  if (VERBOSE) console.log(`     ${st.uri} in ${acct}; bob's home has boost ${boost.id}`);
}

// 7. megalodon: bob on B finds alice's post by its URI (search, resolve)
// and replies to it; alice on A gets a mention notification of the reply.
async function megalodonReply() {
  const st = needs("status6", 6);
  const { mega: bob } = await megalodonSession(BOB, "megalodon-bob");
  const found = await call(`megalodon search (${st.uri}, resolve) on B`, () => bob.search(st.uri, { resolve: true }));
  assert(found.status === 200, `search on B: status ${found.status}`);
  const onB = found.data.statuses?.find((s) => s.uri === st.uri);
  assert(onB, `search ${st.uri} on B found no such status: ${JSON.stringify(found.data.statuses?.map((s) => s.uri))}`);
  assert(isId(onB.id) && onB.account?.acct === `${USER}@${HOST_A}`, `search on B: id ${onB.id}, account ${onB.account?.acct}`);

  const n = nonce();
  const posted = await call("megalodon postStatus (reply, on B)", () =>
    bob.postStatus(`@${USER}@${HOST_A} so many kittens! (${n})`, { in_reply_to_id: onB.id }),
  );
  assert(posted.status === 200, `postStatus on B: status ${posted.status}`);
  const reply = posted.data;
  assert(isId(reply.id) && reply.uri?.startsWith(`${KITH_B}/`), `postStatus on B: id ${reply.id}, uri ${reply.uri}`);
  assert(reply.in_reply_to_id === onB.id, `postStatus on B: in_reply_to_id ${reply.in_reply_to_id}, expected ${onB.id}`);
  assert(reply.mentions?.some((m) => m.acct === `${USER}@${HOST_A}`),
    `postStatus on B: mentions ${JSON.stringify(reply.mentions)}, expected ${USER}@${HOST_A}`);

  const { mega: alice, me: aliceMe } = await aliceMegalodon();
  const note = await waitFor("alice's mention notification of bob's reply on A", async (seen) => {
    const res = await call("megalodon getNotifications (alice, on A)", () => alice.getNotifications({ limit: 40 }));
    seen(JSON.stringify(res.data.map((x) => ({ type: x.type, by: x.account?.acct, status: x.status?.uri }))));
    return res.data.find((x) => x.type === "mention" && x.status?.uri === reply.uri);
  });
  assert(isId(note.id), `notification id ${JSON.stringify(note.id)}`);
  assert(note.account?.acct === `bob@${HOST_B}`, `the notification's account is ${note.account?.acct}, expected bob@${HOST_B}`);
  assert(note.status.account?.acct === `bob@${HOST_B}`, `the notification's status is by ${note.status.account?.acct}, expected bob@${HOST_B}`);
  assert(note.status.in_reply_to_id === st.id, `the notification's status answers ${note.status.in_reply_to_id}, expected alice's status ${st.id}`);
  assert(note.status.content?.includes(n), `the notification's status content ${JSON.stringify(note.status.content)} lacks ${n}`);
  const thread = await call("megalodon getStatusContext (alice, on A)", () => alice.getStatusContext(st.id));
  assert(thread.data.descendants?.some((s) => s.uri === reply.uri),
    `statuses/${st.id}/context on A: descendants ${JSON.stringify(thread.data.descendants?.map((s) => s.uri))} lack bob's reply ${reply.uri}`);
  // The reply names alice (its object has a Mention of her): as on Mastodon,
  // the status of her mention notification lists her in mentions.
  assert(note.status.mentions?.some((m) => m.id === aliceMe.id && m.acct === USER),
    `the notification's status (${note.status.uri}, in_reply_to_id ${note.status.in_reply_to_id}) has mentions ` +
      `${JSON.stringify(note.status.mentions)}, expected alice (id ${aliceMe.id}, acct ${USER}); its content: ${note.status.content}`);
}

// 8. megalodon: the home timeline paged two at a time by max_id from the
// Link header is newest first, without duplicates, and the same as one
// big page; min_id and since_id pages; masto.js's paginator agrees.
async function megalodonHomePaging() {
  const { mega: alice } = await aliceMegalodon();
  const n = nonce();
  const posted = [];
  for (let i = 1; i <= 5; i++) {
    const r = await call(`megalodon postStatus (${i} of 5)`, () => alice.postStatus(`paging ${i} of 5 (${n})`, { visibility: "private" }));
    assert(r.status === 200 && isId(r.data.id), `postStatus: status ${r.status}, id ${JSON.stringify(r.data?.id)}`);
    posted.push(r.data.id);
  }
  const home = async (opts, what) => {
    const r = await call(`megalodon getHomeTimeline ${what}`, () => alice.getHomeTimeline(opts));
    assert(r.status === 200, `getHomeTimeline ${what}: status ${r.status}`);
    return r;
  };
  const { masto } = await aliceMasto();
  for (let attempt = 1; ; attempt++) {
    const whole = (await home({ limit: 40 }, "(limit 40)")).data.map((s) => s.id);
    const pages = [];
    let maxId = null;
    for (let i = 1; ; i++) {
      assert(i <= 40, `getHomeTimeline paging did not end after 40 pages: ${pages.join(" ")}`);
      const what = `(page ${i}: limit 2${maxId ? `, max_id ${maxId}` : ""})`;
      const r = await home(maxId ? { limit: 2, max_id: maxId } : { limit: 2 }, what);
      const ids = r.data.map((s) => s.id);
      assert(ids.length <= 2, `getHomeTimeline ${what}: ${ids.length} statuses`);
      if (!ids.length) break;
      const link = parseLink(r.headers.link);
      assert(link.next && link.prev, `getHomeTimeline ${what}: Link ${JSON.stringify(r.headers.link)}, expected rel="next" and rel="prev"`);
      const next = new URL(link.next);
      const prev = new URL(link.prev);
      assert(`${next.origin}${next.pathname}` === `${KITH}/api/v1/timelines/home`, `getHomeTimeline ${what}: next is ${link.next}`);
      assert(next.searchParams.get("max_id") === ids.at(-1), `getHomeTimeline ${what}: next ${link.next}, expected max_id=${ids.at(-1)} (the page's oldest)`);
      assert(next.searchParams.get("limit") === "2", `getHomeTimeline ${what}: next ${link.next} drops limit=2`);
      assert(prev.searchParams.get("min_id") === ids[0], `getHomeTimeline ${what}: prev ${link.prev}, expected min_id=${ids[0]} (the page's newest)`);
      pages.push(...ids);
      maxId = next.searchParams.get("max_id");
    }
    const viaMasto = [];
    for await (const page of masto.v1.timelines.home.list({ limit: 2 })) {
      viaMasto.push(...page.map((s) => s.id));
      assert(viaMasto.length <= 200, "masto.js's home timeline paginator did not end");
    }
    const after = (await home({ limit: 40 }, "(limit 40, again)")).data.map((s) => s.id);
    // Federation may still bring something in while paging: look again.
    if (whole.join() !== after.join() && attempt < 3) continue;
    assert(whole.join() === after.join(), `the home timeline kept changing while paging: ${whole.join(" ")} then ${after.join(" ")}`);
    assert(new Set(pages).size === pages.length, `duplicates across pages: ${pages.join(" ")}`);
    for (let i = 1; i < pages.length; i++)
      assert(BigInt(pages[i]) < BigInt(pages[i - 1]), `not newest first: ${pages[i - 1]} then ${pages[i]} (pages: ${pages.join(" ")})`);
    assert(pages.join() === whole.join(), `pages of 2: ${pages.join(" ")}; one page of 40: ${whole.join(" ")}`);
    assert(viaMasto.join() === whole.join(), `masto.js's paginator (limit 2): ${viaMasto.join(" ")}; one page of 40: ${whole.join(" ")}`);
    const newestFirst = [...posted].reverse();
    const at = newestFirst.map((id) => pages.indexOf(id));
    assert(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])), `the 5 new statuses ${newestFirst.join(" ")} are not all in the pages, newest first: ${pages.join(" ")}`);
    assert(pages.length >= 7, `only ${pages.length} statuses in alice's home: ${pages.join(" ")}`);
    const m = (await home({ limit: 2, min_id: pages[3] }, `(limit 2, min_id ${pages[3]})`)).data.map((s) => s.id);
    assert(m.join() === [pages[1], pages[2]].join(), `min_id=${pages[3]}&limit=2 gave ${m.join(" ")}, expected ${pages[1]} ${pages[2]} (the two just newer, newest first)`);
    const since = (await home({ limit: 2, since_id: pages[3] }, `(limit 2, since_id ${pages[3]})`)).data.map((s) => s.id);
    assert(since.join() === [pages[0], pages[1]].join(), `since_id=${pages[3]}&limit=2 gave ${since.join(" ")}, expected ${pages[0]} ${pages[1]} (the newest two)`);
    if (VERBOSE) console.log(`     ${pages.length} statuses in ${Math.ceil(pages.length / 2)} pages`);
    break;
  }
}

// ---- scenarios 9 to 12: media, polls, streaming ----------------------------------

// A PNG made here, in memory: 8-bit RGB, no interlace, one IDAT (zlib by
// node), the CRC-32 of each chunk computed below. `pixel(x, y)` gives [r, g, b].
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function makePng(width, height, pixel) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "ascii");
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, filter 0, no interlace
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3); // raw[row] = 0: filter type None
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// Why `s` is no BlurHash (https://github.com/woltapp/blurhash: base 83, the
// first digit the number of components, the length 6 + 2 per AC component),
// or null when it is one.
const BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
function blurhashProblem(s) {
  if (typeof s !== "string" || s.length < 6) return `${JSON.stringify(s)} is not a BlurHash (a string of at least 6 characters)`;
  if ([...s].some((c) => !BASE83.includes(c))) return `${JSON.stringify(s)} has characters outside BlurHash's base 83`;
  const size = BASE83.indexOf(s[0]);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  const want = 4 + 2 * nx * ny;
  return s.length === want ? null : `${JSON.stringify(s)} is ${s.length} characters, its ${nx}x${ny} components make ${want}`;
}

// Rejects after `ms` naming `what`, unless `promise` settles first.
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms))),
  ]);
}

// For a failure message only: what kith answers to a WebSocket handshake
// at `url` with `headers` (the library gives no more than "it failed");
// `secret`, when given, is written <token> in the answer.
function wsProbe(url, headers = {}, secret = null) {
  const hide = (t) => (secret ? t.split(secret).join("<token>") : t);
  return new Promise((resolve) => {
    const req = http.request(new URL(url.replace(/^ws/, "http")), {
      headers: {
        connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"), ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(hide(`${res.statusCode} ${JSON.stringify(res.headers)}`));
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(hide(`${res.statusCode} ${JSON.stringify(res.headers)} ${body.slice(0, 300)}`)));
    });
    req.on("error", (e) => resolve(`error ${e.message}`));
    req.setTimeout(5000, () => {
      req.destroy();
      resolve("no answer within 5 s");
    });
    req.end();
  });
}

// 9. masto.js: alice uploads a PNG made here with v2.media.create (file,
// description, focus); the attachment, its file and preview as served, and
// a status carrying it.
async function mastoMedia() {
  const { masto } = await aliceMasto();
  const W = 64;
  const H = 48;
  const bytes = makePng(W, H, (x, y) => [x * 4, y * 5, x < W / 2 ? 200 : 40]);
  const n = nonce();
  const description = `A gradient, ${W} by ${H}, blue on the left (${n})`;
  // masto.js posts the multipart form, then waits (GET /api/v1/media/:id)
  // until the attachment has its url, as for Mastodon.
  const m = await call("masto v2.media.create", () =>
    masto.v2.media.create({ file: new Blob([bytes], { type: "image/png" }), description, focus: "0.25,-0.5" }),
  );
  const what = JSON.stringify(m);
  assert(isId(m.id), `media.create: id ${JSON.stringify(m.id)}, expected a numeric string: ${what}`);
  assert(m.type === "image", `media.create: type ${JSON.stringify(m.type)}, expected "image": ${what}`);
  assert(m.description === description, `media.create: description ${JSON.stringify(m.description)}, expected ${JSON.stringify(description)}`);
  const file = /^\/media\/([0-9a-f]{64})\.png$/.exec(new URL(m.url ?? "", KITH).pathname);
  assert(m.url?.startsWith(`${KITH}/media/`) && file, `media.create: url ${JSON.stringify(m.url)}, expected ${KITH}/media/<sha256>.png`);
  assert(typeof m.previewUrl === "string" && m.previewUrl.startsWith(`${KITH}/media/`) && m.previewUrl !== m.url,
    `media.create: previewUrl ${JSON.stringify(m.previewUrl)}, expected a file of its own under ${KITH}/media/`);
  assert(m.meta?.original?.width === W && m.meta?.original?.height === H,
    `media.create: meta.original ${JSON.stringify(m.meta?.original)}, expected width ${W}, height ${H}`);
  assert(m.meta?.focus?.x === 0.25 && m.meta?.focus?.y === -0.5, `media.create: meta.focus ${JSON.stringify(m.meta?.focus)}, expected {x: 0.25, y: -0.5}`);
  const bad = blurhashProblem(m.blurhash);
  assert(!bad, `media.create: blurhash ${bad}`);

  // The file and its preview, fetched as anyone would (no token).
  const got = await fetch(m.url);
  const body = Buffer.from(await got.arrayBuffer());
  const headers = (r) => `content-type ${r.headers.get("content-type")}, x-content-type-options ${r.headers.get("x-content-type-options")}`;
  assert(got.status === 200, `GET ${m.url}: ${got.status}, expected 200`);
  assert(got.headers.get("content-type") === "image/png" && got.headers.get("x-content-type-options") === "nosniff",
    `GET ${m.url}: ${headers(got)}, expected image/png and nosniff`);
  assert(body.subarray(0, 8).equals(bytes.subarray(0, 8)) && body.toString("ascii", 12, 16) === "IHDR",
    `GET ${m.url}: the body (${body.length} bytes) is no PNG: ${body.subarray(0, 16).toString("hex")}`);
  assert(body.readUInt32BE(16) === W && body.readUInt32BE(20) === H,
    `GET ${m.url}: the PNG is ${body.readUInt32BE(16)}x${body.readUInt32BE(20)}, expected ${W}x${H}`);
  const sum = createHash("sha256").update(body).digest("hex");
  assert(sum === file[1], `GET ${m.url}: the body's SHA-256 is ${sum}, the name says ${file[1]}`);
  const pre = await fetch(m.previewUrl);
  const preBody = Buffer.from(await pre.arrayBuffer());
  assert(pre.status === 200, `GET ${m.previewUrl}: ${pre.status}, expected 200`);
  assert(/^image\//.test(pre.headers.get("content-type") ?? "") && pre.headers.get("x-content-type-options") === "nosniff",
    `GET ${m.previewUrl}: ${headers(pre)}, expected an image type and nosniff`);
  assert(preBody.length > 100, `GET ${m.previewUrl}: ${preBody.length} bytes`);

  const fetched = await call("masto v1.media.$select(id).fetch", () => masto.v1.media.$select(m.id).fetch());
  for (const k of ["id", "type", "url", "previewUrl", "description", "blurhash"])
    assert(fetched[k] === m[k], `media/${m.id}: ${k} ${JSON.stringify(fetched[k])}, v2.media.create said ${JSON.stringify(m[k])}`);
  assert(JSON.stringify(fetched.meta) === JSON.stringify(m.meta), `media/${m.id}: meta ${JSON.stringify(fetched.meta)}, v2.media.create said ${JSON.stringify(m.meta)}`);

  const text = `a picture (${n})`;
  const st = await call("masto v1.statuses.create (mediaIds)", () => masto.v1.statuses.create({ status: text, mediaIds: [m.id], visibility: "public" }));
  const attached = (s, where) => {
    const list = s.mediaAttachments;
    assert(Array.isArray(list) && list.length === 1, `${where}: mediaAttachments ${JSON.stringify(list)}, expected the one attachment ${m.id}`);
    const [a] = list;
    for (const k of ["id", "type", "url", "previewUrl", "description", "blurhash"])
      assert(a[k] === m[k], `${where}: mediaAttachments[0].${k} ${JSON.stringify(a[k])}, expected ${JSON.stringify(m[k])}`);
    assert(a.meta?.original?.width === W && a.meta?.original?.height === H, `${where}: mediaAttachments[0].meta.original ${JSON.stringify(a.meta?.original)}`);
  };
  assert(isId(st.id) && st.content?.includes(text), `statuses.create: id ${st.id}, content ${JSON.stringify(st.content)}`);
  attached(st, "statuses.create");
  attached(await call("masto v1.statuses.$select(id).fetch", () => masto.v1.statuses.$select(st.id).fetch()), `statuses/${st.id}`);
  if (VERBOSE) console.log(`     media ${m.id} ${m.url} (blurhash ${m.blurhash}) on status ${st.id}`);
}

// 10. masto.js: bob on B follows alice; alice posts a poll; bob finds it in
// his home timeline on B; carol on A votes, then bob on B (over
// federation); alice sees the counts.
async function mastoPoll() {
  const { masto: alice } = await aliceMasto();
  const { masto: carol } = await carolMasto();
  const { masto: bob } = await bobMasto();
  const aliceAcct = `${USER}@${HOST_A}`;
  const found = await call(`masto v2.search.list (@${aliceAcct}, resolve) on B`, () => bob.v2.search.list({ q: `@${aliceAcct}`, resolve: true, type: "accounts" }));
  const aliceOnB = found.accounts?.find((a) => a.acct === aliceAcct);
  assert(aliceOnB, `search @${aliceAcct} (resolve) on B found ${JSON.stringify(found.accounts?.map((a) => a.acct))}`);
  await call(`masto v1.accounts.$select(${aliceAcct}).follow (bob, on B)`, () => bob.v1.accounts.$select(aliceOnB.id).follow());
  await waitFor(`A's Accept of bob's follow of ${aliceAcct}`, async (saw) => {
    const [r] = await call("masto v1.accounts.relationships.fetch (bob, on B)", () => bob.v1.accounts.relationships.fetch({ id: [aliceOnB.id] }));
    saw(JSON.stringify(r));
    return r?.following === true;
  });

  const n = nonce();
  const options = [`red ${n}`, `green ${n}`, `blue ${n}`];
  const before = Date.now();
  const st = await call("masto v1.statuses.create (poll)", () =>
    alice.v1.statuses.create({ status: `Which colour? (${n})`, visibility: "public", poll: { options, expiresIn: 3600 } }),
  );
  const pollBrief = (p) => JSON.stringify(p && { id: p.id, votesCount: p.votesCount, votersCount: p.votersCount, voted: p.voted, ownVotes: p.ownVotes, counts: p.options?.map((o) => o.votesCount), expired: p.expired });
  const counts = (p) => p.options?.map((o) => o.votesCount).join(",");
  const titles = (p) => p.options?.map((o) => o.title).join("\n");
  const p = st.poll;
  assert(p && isId(p.id), `statuses.create: poll ${JSON.stringify(p)}, expected a Poll with an id`);
  assert(titles(p) === options.join("\n"), `statuses.create: the poll's options ${JSON.stringify(p.options?.map((o) => o.title))}, expected ${JSON.stringify(options)}`);
  assert(counts(p) === "0,0,0" && p.votesCount === 0, `statuses.create: the new poll ${pollBrief(p)}, expected no votes`);
  assert(p.expired === false && p.multiple === false, `statuses.create: the poll's expired ${p.expired}, multiple ${p.multiple}, expected false, false`);
  const expires = Date.parse(p.expiresAt);
  assert(Math.abs(expires - (before + 3600e3)) < 60e3, `statuses.create: the poll's expiresAt ${p.expiresAt}, expected an hour from now`);

  // The poll reaches B (bob follows alice), before anyone votes.
  const onB = await waitFor(`alice's poll ${st.uri} in bob's home timeline on B`, async (saw) => {
    const home = await call("masto v1.timelines.home.list (bob, on B)", () => bob.v1.timelines.home.list({ limit: 40 }));
    saw(brief(home));
    return home.find((s) => s.uri === st.uri);
  });
  assert(onB.poll && isId(onB.poll.id), `alice's status on B: poll ${JSON.stringify(onB.poll)}, expected a Poll`);
  assert(titles(onB.poll) === options.join("\n"), `alice's poll on B: options ${JSON.stringify(onB.poll.options?.map((o) => o.title))}, expected ${JSON.stringify(options)}`);
  assert(counts(onB.poll) === "0,0,0" && onB.poll.voted === false && onB.poll.multiple === false,
    `alice's poll on B: ${pollBrief(onB.poll)}, expected no votes, voted false, multiple false`);
  assert(Math.abs(Date.parse(onB.poll.expiresAt) - expires) < 2000, `alice's poll on B: expiresAt ${onB.poll.expiresAt}, on A ${p.expiresAt}`);

  // carol, on A.
  const seen = await call("masto v1.polls.$select(id).fetch (carol)", () => carol.v1.polls.$select(p.id).fetch());
  assert(seen.id === p.id && seen.voted === false && seen.ownVotes?.length === 0, `polls/${p.id} for carol before voting: ${pollBrief(seen)}, expected voted false, ownVotes []`);
  const voted = await call("masto v1.polls.$select(id).votes.create (carol, choices [1])", () => carol.v1.polls.$select(p.id).votes.create({ choices: [1] }));
  assert(voted.id === p.id, `votes.create answered poll ${voted.id}, expected ${p.id}`);
  assert(JSON.stringify(voted.ownVotes) === "[1]" && voted.voted === true, `votes.create (carol): ${pollBrief(voted)}, expected ownVotes [1], voted true`);
  assert(voted.votesCount === 1 && voted.votersCount === 1 && counts(voted) === "0,1,0",
    `votes.create (carol): ${pollBrief(voted)}, expected votesCount 1, votersCount 1, options 0,1,0`);
  const again = await carol.v1.polls.$select(p.id).votes.create({ choices: [0] }).then((r) => r, (e) => e);
  assert(again instanceof MastoHttpError && again.statusCode === 422,
    `a second vote by carol: ${again instanceof Error ? describe(again) : pollBrief(again)}, expected a 422 MastoHttpError`);
  const mine = await call("masto v1.polls.$select(id).fetch (alice)", () => alice.v1.polls.$select(p.id).fetch());
  assert(mine.votesCount === 1 && counts(mine) === "0,1,0", `polls/${p.id} for alice: ${pollBrief(mine)}, expected votesCount 1, options 0,1,0`);
  assert(mine.voted === true && mine.ownVotes?.length === 0, `polls/${p.id} for alice (its author): ${pollBrief(mine)}, expected voted true (as on Mastodon), ownVotes []`);
  const stNow = await call("masto v1.statuses.$select(id).fetch (alice)", () => alice.v1.statuses.$select(st.id).fetch());
  assert(stNow.poll?.votesCount === 1 && counts(stNow.poll) === "0,1,0", `statuses/${st.id}: poll ${pollBrief(stNow.poll)}, expected votesCount 1`);

  // bob, on B: his vote counts there at once and reaches A.
  const bobVoted = await call("masto v1.polls.$select(id).votes.create (bob, on B, choices [2])", () => bob.v1.polls.$select(onB.poll.id).votes.create({ choices: [2] }));
  assert(bobVoted.id === onB.poll.id && JSON.stringify(bobVoted.ownVotes) === "[2]" && bobVoted.voted === true,
    `votes.create (bob, on B): ${pollBrief(bobVoted)}, expected poll ${onB.poll.id}, ownVotes [2], voted true`);
  const c = bobVoted.options?.map((o) => o.votesCount) ?? [];
  // B counts carol's vote only once A tells it (an Update of the poll), so 0,0,1 or 0,1,1.
  assert(c[0] === 0 && c[2] === 1 && (c[1] === 0 || c[1] === 1) && bobVoted.votesCount === c[0] + c[1] + c[2],
    `votes.create (bob, on B): ${pollBrief(bobVoted)}, expected options 0,0,1 (or 0,1,1) and votesCount their sum`);
  const both = await waitFor("bob's vote from B in alice's poll on A (votesCount 2)", async (saw) => {
    const r = await call("masto v1.polls.$select(id).fetch (alice)", () => alice.v1.polls.$select(p.id).fetch());
    saw(pollBrief(r));
    return r.votesCount === 2 ? r : null;
  });
  assert(counts(both) === "0,1,1" && both.votersCount === 2, `polls/${p.id} for alice after bob's vote: ${pollBrief(both)}, expected options 0,1,1, votersCount 2`);
  if (VERBOSE) console.log(`     poll ${p.id} on status ${st.id}: ${pollBrief(both)}`);
}

// 11. masto.js streaming: alice's WebSocket (createStreamingAPIClient, the
// token as Sec-WebSocket-Protocol, subscribe messages) to the instance's
// configuration.urls.streaming, streams user and public:local; carol (whom
// alice follows) posts naming alice: an update on both streams, a mention
// notification on user; closing ends both subscriptions cleanly.
async function mastoStreaming() {
  const { masto: alice, token } = await aliceMasto();
  const { masto: carol, me: carolMe } = await carolMasto();
  const rel = await call("masto v1.accounts.$select(carol).follow (alice)", () => alice.v1.accounts.$select(carolMe.id).follow());
  assert(rel.id === carolMe.id && rel.following === true, `alice's follow of carol: ${JSON.stringify(rel)}, expected following true`);
  const inst = await call("masto v2.instance.fetch", () => alice.v2.instance.fetch());
  const streamingApiUrl = inst.configuration?.urls?.streaming;
  assert(streamingApiUrl === `ws://${HOST_A}`, `v2 instance configuration.urls.streaming ${JSON.stringify(streamingApiUrl)}, expected ws://${HOST_A}`);

  const streaming = createStreamingAPIClient({ streamingApiUrl, accessToken: token, retry: false, log: "error" });
  let ws = null;
  try {
    ws = await withTimeout(streaming.prepare(), 10000, "masto streaming: the WebSocket to connect").catch(async (e) => {
      const why = await wsProbe(`${streamingApiUrl}/api/v1/streaming`, { "sec-websocket-protocol": token }, token);
      throw new Error(`masto createStreamingAPIClient(${streamingApiUrl}): ${describe(e)}; GET /api/v1/streaming with Upgrade and the token as Sec-WebSocket-Protocol answers ${why}`);
    });
    assert(ws.url === `${streamingApiUrl}/api/v1/streaming`, `masto's WebSocket is at ${ws.url}, expected ${streamingApiUrl}/api/v1/streaming`);
    // The browser WebSocket requires the server to choose one of the
    // protocols offered, here the token (as Mastodon's streaming server does).
    assert(ws.protocol === token, `the WebSocket's protocol is ${ws.protocol === "" ? "none" : "another than the token offered"}, expected the token`);
    const closed = new Promise((r) => ws.addEventListener("close", (e) => r({ code: e.code, wasClean: e.wasClean }), { once: true }));

    const got = { user: [], "public:local": [] };
    const collect = (sub, into) => (async () => {
      for await (const ev of sub) into.push(ev);
    })().then(() => null, (e) => e);
    const done = [collect(streaming.user.subscribe(), got.user), collect(streaming.public.local.subscribe(), got["public:local"])];
    await sleep(500); // the subscribe messages reach kith before carol posts

    const n = nonce();
    const st = await call("masto v1.statuses.create (carol)", () => carol.v1.statuses.create({ status: `@${USER} on the stream (${n})`, visibility: "public" }));
    const events = () => JSON.stringify(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.map((e) => ({ stream: e.stream, event: e.event, id: e.payload?.id ?? e.payload }))])));
    const update = (name) => waitFor(`an update of carol's status ${st.id} on alice's ${name} stream`, async (saw) => {
      saw(events());
      return got[name].find((e) => e.event === "update" && e.payload?.id === st.id);
    }, 10000);
    for (const name of ["user", "public:local"]) {
      const ev = await update(name);
      assert(JSON.stringify(ev.stream) === JSON.stringify([name]), `the ${name} update's stream is ${JSON.stringify(ev.stream)}, expected ["${name}"]`);
      assert(ev.payload.account?.id === carolMe.id && ev.payload.account?.acct === CAROL.user,
        `the ${name} update's status is by ${ev.payload.account?.acct} (${ev.payload.account?.id}), expected ${CAROL.user} (${carolMe.id})`);
      assert(ev.payload.uri === st.uri && ev.payload.content?.includes(n), `the ${name} update: uri ${ev.payload.uri}, content ${JSON.stringify(ev.payload.content)}; expected ${st.uri}, with ${n}`);
    }
    const note = await waitFor(`a mention notification of carol's status ${st.id} on alice's user stream`, async (saw) => {
      saw(events());
      return got.user.find((e) => e.event === "notification" && e.payload?.status?.id === st.id);
    }, 10000);
    assert(note.payload.type === "mention" && isId(note.payload.id) && note.payload.account?.id === carolMe.id,
      `the notification: type ${note.payload.type}, id ${note.payload.id}, account ${note.payload.account?.acct}; expected a mention by ${CAROL.user}`);

    streaming.close();
    const how = await withTimeout(closed, 5000, "the WebSocket to close after masto's close()");
    assert(how.wasClean, `the WebSocket closed uncleanly (code ${how.code}): no close frame from kith`);
    const ended = await withTimeout(Promise.all(done), 5000, "masto's subscriptions to end after close()");
    for (const e of ended) assert(!e, `a subscription ended with ${describe(e)}`);
    ws = null;
    if (VERBOSE) console.log(`     ${events()}; closed with ${how.code}`);
  } finally {
    if (ws) streaming.close();
  }
}

// megalodon's userStreaming() for alice (the v1 instance's
// urls.streaming_api, ?stream=user&access_token=, the ws package), once it
// has connected: the stream, what it got, and stop(), which checks that the
// socket closes with kith's answering close frame (code 1000, not 1006).
async function megalodonUserStream(alice) {
  const stream = await call("megalodon userStreaming", () => alice.userStreaming());
  const got = { connect: 0, update: [], notification: [], errors: [] };
  stream.on("connect", () => got.connect++);
  stream.on("update", (s) => got.update.push(s));
  stream.on("notification", (x) => got.notification.push(x));
  stream.on("error", (e) => got.errors.push(e?.message ?? String(e)));
  stream.on("parser-error", (e) => got.errors.push(`parser: ${e?.message ?? e}`));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const sock = stream._client; // megalodon's ws WebSocket (not its API): to see how it closes
    stream.stop(); // close(1000), then megalodon drops its own listeners
    if (!sock) return;
    const code = await withTimeout(new Promise((r) => (sock.readyState === 3 ? r(sock._closeCode) : sock.once("close", (c) => r(c)))), 5000,
      "megalodon's WebSocket to close after stop()");
    assert(code === 1000, `megalodon's WebSocket closed with ${code} after stop() (close(1000)), expected kith's close frame with 1000 (1006: the connection ended without one)`);
  };
  try {
    const url = `ws://${HOST_A}/api/v1/streaming`;
    assert(stream.url === url, `megalodon's streaming URL is ${stream.url}, expected ${url} (from getInstance's urls.streaming_api)`);
    await waitFor("megalodon's userStreaming to connect", async (saw) => {
      if (got.errors.length) {
        const token = stream._accessToken;
        const why = await wsProbe(`${url}?stream=user&access_token=${token}`, {}, token);
        throw new Error(`megalodon userStreaming: ${got.errors.join("; ")}; GET /api/v1/streaming?stream=user&access_token=<token> with Upgrade answers ${why}`);
      }
      saw(`connect ${got.connect}`);
      return got.connect > 0;
    }, 10000);
  } catch (e) {
    stopped = true;
    stream.stop();
    throw e;
  }
  return {
    got,
    stop,
    abort: () => {
      if (!stopped) stream.stop();
      stopped = true;
    },
    // The update of the status `uri`, waited for (10 s); the failure says
    // whether alice's home has it (then the stream missed it).
    update: (uri, what) => waitFor(`an update of ${what} on alice's user stream (megalodon)`, async (saw) => {
      if (got.errors.length) throw new Error(`megalodon's stream: ${got.errors.join("; ")}`);
      saw(JSON.stringify(got.update.map((s) => s.uri)));
      return got.update.find((s) => s.uri === uri);
    }, 10000).catch(async (e) => {
      const home = await alice.getHomeTimeline({ limit: 40 }).then((r) => r.data, () => []);
      const inHome = home.find((s) => s.uri === uri);
      e.message += inHome ? `; it is in alice's home timeline (id ${inHome.id}): the stream did not send it` : "; it is not in alice's home timeline either";
      throw e;
    }),
  };
}

// 12. megalodon streaming on A: alice (following carol) opens
// userStreaming(); carol's new status comes as an update, its id the one
// carol got; stop() closes the socket cleanly.
async function megalodonStreaming() {
  const { mega: alice } = await aliceMegalodon();
  const { masto: carol, me: carolMe } = await carolMasto();
  const rel = await call("megalodon followAccount (carol)", () => alice.followAccount(carolMe.id));
  assert(rel.data.id === carolMe.id && rel.data.following === true, `alice's follow of carol: ${JSON.stringify(rel.data)}, expected following true`);
  const s = await megalodonUserStream(alice);
  try {
    const n = nonce();
    const st = await call("masto v1.statuses.create (carol)", () => carol.v1.statuses.create({ status: `for megalodon's stream (${n})`, visibility: "public" }));
    const ev = await s.update(st.uri, `carol's status ${st.id}`);
    assert(ev.id === st.id && ev.account?.id === carolMe.id && ev.account?.acct === CAROL.user && ev.content?.includes(n),
      `the update: id ${ev.id}, account ${ev.account?.acct} (${ev.account?.id}), content ${JSON.stringify(ev.content)}; expected carol's status ${st.id} (${carolMe.id}, with ${n})`);
    assert(ev.visibility === "public" && !Number.isNaN(Date.parse(ev.created_at)), `the update: visibility ${ev.visibility}, created_at ${ev.created_at}`);
    await s.stop();
    assert(!s.got.errors.length, `megalodon's stream: ${s.got.errors.join("; ")}`);
    if (VERBOSE) console.log(`     update ${ev.id} (${ev.uri})`);
  } finally {
    s.abort();
  }
}

// 13. megalodon streaming across servers: alice on A follows bob@B (search,
// resolve: A knows him from cats' boost of his reply in scenario 7); bob's
// new status on B comes to alice's userStreaming() as an update, under
// the id A gave it.
async function megalodonStreamingRemote() {
  const { mega: alice } = await aliceMegalodon();
  const { masto: bob } = await bobMasto();
  const acct = `bob@${HOST_B}`;
  const found = await call(`megalodon search (@${acct}, resolve)`, () => alice.search(`@${acct}`, { type: "accounts", resolve: true }));
  const bobOnA = found.data.accounts?.find((a) => a.acct === acct);
  assert(bobOnA && isId(bobOnA.id), `search @${acct} (resolve) on A found ${JSON.stringify(found.data.accounts?.map((a) => a.acct))}`);
  await call(`megalodon followAccount (${acct})`, () => alice.followAccount(bobOnA.id));
  await waitFor(`B's Accept of alice's follow of ${acct}`, async (saw) => {
    const r = await call("megalodon getRelationship", () => alice.getRelationship(bobOnA.id));
    saw(JSON.stringify(r.data));
    return r.data.following === true;
  });
  const s = await megalodonUserStream(alice);
  try {
    const n = nonce();
    const st = await call("masto v1.statuses.create (bob, on B)", () => bob.v1.statuses.create({ status: `from B to A's stream (${n})`, visibility: "public" }));
    const ev = await s.update(st.uri, `bob's status ${st.uri} from B`);
    assert(isId(ev.id) && ev.account?.acct === acct && ev.content?.includes(n),
      `the update: id ${ev.id}, account ${ev.account?.acct}, content ${JSON.stringify(ev.content)}; expected bob's status (${acct}, with ${n})`);
    const onA = await call(`megalodon getStatus(${ev.id})`, () => alice.getStatus(ev.id));
    assert(onA.data.id === ev.id && onA.data.uri === st.uri, `statuses/${ev.id} on A is ${onA.data.uri}, expected bob's ${st.uri}`);
    const home = await call("megalodon getHomeTimeline", () => alice.getHomeTimeline({ limit: 40 }));
    const inHome = home.data.find((x) => x.uri === st.uri);
    assert(inHome?.id === ev.id, `alice's home timeline has bob's status as ${inHome?.id}, the stream said ${ev.id}`);
    await s.stop();
    assert(!s.got.errors.length, `megalodon's stream: ${s.got.errors.join("; ")}`);
    if (VERBOSE) console.log(`     update ${ev.id} (${ev.uri})`);
  } finally {
    s.abort();
  }
}

// 14. masto.js across servers: dave on B joins cats and posts into it;
// alice on A sees the community's boost of his post in her home timeline,
// finds @dave@B (search, resolve) and follows him until B accepts; his next
// status reaches her home.
async function mastoFollowSeenInCommunity() {
  const { masto: dave } = await mastoSession(DAVE, "masto-dave");
  const cats = await call("masto v1.accounts.lookup (cats, dave on B)", () => dave.v1.accounts.lookup({ acct: COMMUNITY }));
  const joined = await call("masto v1.accounts.$select(cats).follow (dave, on B)", () => dave.v1.accounts.$select(cats.id).follow());
  assert(joined.following === true, `dave's follow of ${COMMUNITY}: ${JSON.stringify(joined)}, expected following true`);
  const n = nonce();
  const st = await call("masto v1.statuses.create (dave, into cats)", () =>
    dave.v1.statuses.create({ status: `Dave's cat ${n}\n\n@${COMMUNITY} asleep on the keyboard.`, visibility: "public" }),
  );
  const { masto: alice } = await aliceMasto();
  const boost = await waitFor(`the community's boost of dave's post ${st.uri} in alice's home on A`, async (saw) => {
    const home = await call("masto v1.timelines.home.list (alice)", () => alice.v1.timelines.home.list({ limit: 40 }));
    saw(brief(home));
    return home.find((x) => x.reblog?.uri === st.uri);
  });
  const acct = `${DAVE.user}@${HOST_B}`;
  assert(boost.reblog.account?.acct === acct, `alice's home: the boosted post is by ${boost.reblog.account?.acct}, expected ${acct}`);
  const found = await call(`masto v2.search.list (@${acct}, resolve)`, () => alice.v2.search.list({ q: `@${acct}`, resolve: true, type: "accounts" }));
  const daveOnA = found.accounts?.find((a) => a.acct === acct);
  assert(daveOnA?.id === boost.reblog.account.id, `search @${acct} (resolve) on A: ${JSON.stringify(found.accounts?.map((a) => [a.acct, a.id]))}, expected ${acct} (${boost.reblog.account.id})`);
  const rel = await call(`masto v1.accounts.$select(${acct}).follow`, () => alice.v1.accounts.$select(daveOnA.id).follow());
  assert(rel.id === daveOnA.id && (rel.following || rel.requested), `alice's follow of ${acct}: ${JSON.stringify(rel)}, expected following or requested`);
  await waitFor(`B's Accept of alice's follow of ${acct}`, async (saw) => {
    const [r] = await call("masto v1.accounts.relationships.fetch", () => alice.v1.accounts.relationships.fetch({ id: [daveOnA.id] }));
    saw(JSON.stringify(r));
    return r?.following === true;
  });
  const next = await call("masto v1.statuses.create (dave)", () => dave.v1.statuses.create({ status: `and now for my followers (${n})`, visibility: "public" }));
  await waitFor(`dave's status ${next.uri} in alice's home on A`, async (saw) => {
    const home = await call("masto v1.timelines.home.list (alice)", () => alice.v1.timelines.home.list({ limit: 40 }));
    saw(brief(home));
    return home.find((x) => x.uri === next.uri && x.account?.acct === acct);
  });
}

// ---- main ---------------------------------------------------------------------
const scenarios = [
  ["1 masto-sign-in: masto.js registers an app, the person signs in and consents in the browser (PKCE S256), token, verifyCredentials, instance v1 and v2", mastoSignIn],
  ["2 megalodon-sign-in: megalodon registerApp, browser sign-in, fetchAccessToken, verifyAccountCredentials, getInstance", megalodonSignIn],
  ["3 megalodon-detector: detector(kith) answers mastodon", megalodonDetector],
  ["4 masto-revoked-token: after /oauth/revoke, masto.js raises a 401 MastoHttpError on verifyCredentials", mastoRevokedToken],
  ["5 masto-statuses: masto.js posts (visibility, spoiler, language), fetches, favourites and bookmarks a status; home timeline and bookmarks", mastoStatuses],
  ["6 masto-community: masto.js on A finds @cats@B (search, resolve), follows it until accepted, posts into it; B holds the post, bob sees the community's boost", mastoCommunity],
  ["7 megalodon-reply: bob on B finds alice's post by URI and replies (megalodon); alice on A gets the mention notification", megalodonReply],
  ["8 megalodon-home-paging: megalodon pages the home timeline by the Link header (max_id; min_id, since_id): newest first, no duplicates; masto.js's paginator agrees", megalodonHomePaging],
  ["9 masto-media: masto.js uploads a PNG (v2.media.create: description, focus); the attachment, its file and preview as served; a status with it", mastoMedia],
  ["10 masto-poll: masto.js posts a poll; carol on A and bob on B vote (choices); alice sees the counts", mastoPoll],
  ["11 masto-streaming: masto.js's WebSocket (user, public:local) gets carol's status as update and the mention as notification; closes cleanly", mastoStreaming],
  ["12 megalodon-streaming: megalodon's userStreaming on A gets carol's new status as update; stop() closes it cleanly", megalodonStreaming],
  ["13 megalodon-streaming-remote: alice on A follows bob@B (resolve); megalodon's userStreaming gets bob's status from B as update, under A's id", megalodonStreamingRemote],
  ["14 masto-follow-seen-in-community: alice on A sees dave's post boosted by cats@B, resolves @dave@B and follows him (B accepts); his next status reaches her home", mastoFollowSeenInCommunity],
];

const overall = setTimeout(() => {
  console.log("FAIL: the client scenarios took longer than 180 s");
  process.exit(1);
}, 180000);

let passed = 0;
let failed = 0;
try {
  await setup();
} catch (e) {
  console.log(`FAIL set-up: ${e.message}\n--- kithd A log (tail)\n${kithdLogTail()}\n--- kithd B log (tail)\n${kithdLogTail(15, KITHD_B_LOG)}`);
  process.exit(1);
}
for (const [name, fn] of scenarios) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  if (!err && !alive(KITHD_PID)) err = new Error(`kithd A (pid ${KITHD_PID}) is no longer running`);
  if (!err && !alive(KITHD_B_PID)) err = new Error(`kithd B (pid ${KITHD_B_PID}) is no longer running`);
  if (!err) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    const cause = err.cause?.message && !err.message.includes(err.cause.message) ? ` (cause: ${err.cause.message})` : "";
    console.log(`FAIL ${name}\n     ${err.message}${cause}`);
    if (VERBOSE && err.cause?.stack) console.log(err.cause.stack.replace(/^/gm, "     "));
    console.log(`     --- kithd A log (tail)\n${kithdLogTail().replace(/^/gm, "     ")}`);
    console.log(`     --- kithd B log (tail)\n${kithdLogTail(15, KITHD_B_LOG).replace(/^/gm, "     ")}`);
  }
}
clearTimeout(overall);
callbackServer.close();
console.log(`clients: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
