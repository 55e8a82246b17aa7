/**
 * The viewer's HTTP and WebSocket edge on a real Hub: sign-in, cookies,
 * CSRF/Origin checks, rate limits, static files and CSP, the signalling
 * socket's authentication and its handling of bad frames.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { Hub } from '../../src/hub/index.js';
import * as tunnel from '../../src/tunnel/index.js';
import { hashSecret } from '../../src/tunnel/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { makeSelfSignedCert } from '@camgate/test-helpers';

const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };

async function users(): Promise<{ name: string; passwordHash: string; cameras: string[] }[]> {
  return [{ name: ALICE.name, passwordHash: await hashSecret(ALICE.password), cameras: ['home/porch'] }];
}

async function gatewayVerifier(secret: string): Promise<string> {
  const make = (tunnel as { makeVerifier?: (s: string) => Promise<string> }).makeVerifier ?? tunnel.hashSecret;
  return make(secret);
}

interface Msg {
  type: string;
  [k: string]: unknown;
}

/** A viewer socket that records every message; `next(type)` resolves with the next one of that type. */
function openSocket(
  url: string,
  headers: Record<string, string>,
): Promise<{ ws: WebSocket; msgs: Msg[]; next: (type: string) => Promise<Msg> }> {
  const ws = new WebSocket(url, { headers });
  const msgs: Msg[] = [];
  const waiters: { type: string; resolve: (m: Msg) => void }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Msg;
    msgs.push(m);
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i !== -1) waiters.splice(i, 1)[0]!.resolve(m);
  });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        msgs,
        next: (type) => new Promise((res) => waiters.push({ type, resolve: res })),
      }),
    );
  });
}

/** The status line of a refused WebSocket upgrade. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('upgrade accepted')));
    ws.once('error', () => undefined);
  });
}

describe('viewer web app over HTTP', () => {
  let hub: Hub;
  let base: string;
  let wsUrl: string;
  const logs = memorySink();

  before(async () => {
    hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      logger: createLogger('test', logs),
      // A gateway the hub knows but that never connects. Its record holds the SCRAM verifier where the
      // tunnel has one (makeVerifier), else the scrypt hash: the test does not depend on which.
      gateways: [{ id: 'home', name: 'Home', secretHash: await gatewayVerifier('never-used-secret-0123') }],
      viewer: {
        users: await users(),
        login: { freeFailuresPerAddress: 8, freeFailuresPerUser: 100, baseDelayMs: 60_000 },
      },
    });
    base = hub.url;
    wsUrl = `${base.replace(/^http/, 'ws')}/viewer/ws`;
  });
  after(() => hub.close());

  const login = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: base, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      redirect: 'manual',
    });

  async function cookieFor(): Promise<string> {
    const res = await login(ALICE);
    assert.equal(res.status, 200);
    return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  }

  it('sends a signed-out visitor to the sign-in page, served under a strict CSP', async () => {
    const res = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
    const page = await fetch(`${base}/login`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    assert.match(html, /<form id="login"/);
    assert.doesNotMatch(html, /<script>|style=|https?:\/\//, 'no inline script or style, nothing from elsewhere');
  });

  it('serves only the known static files', async () => {
    const js = await fetch(`${base}/static/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    for (const path of ['/static/../viewer-app.ts', '/static/%2e%2e/x', '/static/nope.js', '/static/']) {
      assert.equal((await fetch(`${base}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${base}/static/app.js`, { method: 'POST' })).status, 405);
  });

  it('signs in with an HttpOnly SameSite=Strict cookie (no Secure on plain http), refusing a wrong password', async () => {
    const wrong = await login({ name: 'alice', password: 'nope-nope-nope' });
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), { error: 'Wrong user name or password.' });
    const unknown = await login({ name: 'mallory', password: 'nope-nope-nope' });
    assert.equal(unknown.status, 401, 'an unknown user gets the same answer');
    const res = await login(ALICE);
    assert.equal(res.status, 200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^camgate=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const home = await fetch(`${base}/`, { headers: { Cookie: setCookie.split(';')[0]! } });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /id="cameras"/);
    assert.equal(JSON.stringify(logs.records).includes(ALICE.password), false, 'no password in the logs');
  });

  it('refuses cross-site and malformed sign-ins (Origin, content type, size, shape)', async () => {
    assert.equal((await login(ALICE, { Origin: 'http://evil.example' })).status, 403);
    const noOrigin = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ALICE),
    });
    assert.equal(noOrigin.status, 403);
    assert.equal((await login('name=alice', { 'Content-Type': 'application/x-www-form-urlencoded' })).status, 415);
    assert.equal((await login('{')).status, 400);
    assert.equal((await login({ name: 'x'.repeat(10_000), password: 'y' })).status, 400);
    assert.equal((await login({ name: ['alice'], password: 1 })).status, 400);
  });

  it('authenticates the signalling socket: Origin and a live session', async () => {
    const cookie = await cookieFor();
    assert.equal(await upgradeStatus(wsUrl, { Origin: base }), 401);
    assert.equal(await upgradeStatus(wsUrl, { Origin: 'http://evil.example', Cookie: cookie }), 403);
    assert.equal(await upgradeStatus(wsUrl, { Cookie: cookie }), 403);
    assert.equal(await upgradeStatus(wsUrl, { Origin: base, Cookie: 'camgate=forged-session-id' }), 401);
    assert.equal((await fetch(`${base}/viewer/ws`)).status, 426);
  });

  it('answers bad frames with plain errors to that viewer and keeps the socket open', async () => {
    const cookie = await cookieFor();
    const s = await openSocket(wsUrl, { Origin: base, Cookie: cookie });
    const hello = await (s.msgs.find((m) => m.type === 'hello') ? Promise.resolve(s.msgs[0]!) : s.next('hello'));
    assert.deepEqual(hello, { type: 'hello', user: 'alice', iceServers: [] });
    const frames: (string | Buffer)[] = [
      '{',
      Buffer.from([0, 1, 2]),
      '{"type":"start","id":"p1","gateway":"home","camera":"porch","offer":"not sdp"}',
      '{"type":"start","id":"p2","gateway":"home","camera":"garage","offer":"v=0\\r\\nm=video 9 RTP 1\\r\\n"}',
      '{"type":"start","id":"p3","gateway":"home","camera":"porch","offer":"v=0\\r\\nm=video 9 RTP 1\\r\\n"}',
    ];
    const errors: Msg[] = [];
    for (const f of frames) {
      const e = s.next('error');
      s.ws.send(f);
      errors.push(await e);
    }
    assert.deepEqual(
      errors.map((e) => [e.id, e.code]),
      [
        [undefined, 'CAMGATE_VIEWER_BAD_MESSAGE'],
        [undefined, 'CAMGATE_VIEWER_BAD_MESSAGE'],
        ['p1', 'CAMGATE_VIEWER_BAD_OFFER'],
        ['p2', 'CAMGATE_VIEWER_NOT_GRANTED'],
        ['p3', 'CAMGATE_VIEWER_GATEWAY_OFFLINE'],
      ],
    );
    assert.equal(errors[2]!.message, 'The video offer from your browser is not a valid session description.');
    assert.match(String(errors[4]!.message), /^Gateway offline/);
    assert.equal(s.ws.readyState, WebSocket.OPEN);
    // The granted camera of a known gateway that is not connected is listed, offline.
    const list = s.next('cameras');
    s.ws.send('{"type":"list"}');
    assert.deepEqual((await list).cameras, [
      { gateway: 'home', gatewayName: 'Home', camera: 'porch', name: 'porch', online: false },
    ]);
    s.ws.close();
  });

  it('closes a flooding socket with 1008', async () => {
    const s = await openSocket(wsUrl, { Origin: base, Cookie: await cookieFor() });
    const closed = once(s.ws, 'close');
    for (let i = 0; i < 150; i++) s.ws.send('{"type":"stop","id":"p1"}');
    const [code] = (await closed) as [number];
    assert.equal(code, 1008);
  });

  it('signing out ends the session and closes its sockets (4401)', async () => {
    const cookie = await cookieFor();
    const s = await openSocket(wsUrl, { Origin: base, Cookie: cookie });
    const closed = once(s.ws, 'close');
    const foreign = await fetch(`${base}/logout`, {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'http://x.example' },
    });
    assert.equal(foreign.status, 403, 'a cross-site sign-out is refused');
    const res = await fetch(`${base}/logout`, { method: 'POST', headers: { Cookie: cookie, Origin: base } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie') ?? '', /^camgate=; .*Max-Age=0/);
    const [code] = (await closed) as [number];
    assert.equal(code, 4401);
    assert.equal((await fetch(`${base}/`, { headers: { Cookie: cookie }, redirect: 'manual' })).status, 303);
  });

  it('rate-limits sign-ins per address with 429, Retry-After and a plain sentence', async () => {
    let res: Response | undefined;
    for (let i = 0; i < 20; i++) {
      res = await login({ name: 'alice', password: 'wrong-wrong' });
      if (res.status === 429) break;
    }
    assert.equal(res!.status, 429);
    assert.match(res!.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(
      ((await res!.json()) as { error: string }).error,
      /^Too many sign-in attempts from this address\. Wait (\d+ seconds?|\d+ minutes) and try again\.$/,
    );
    assert.equal((await login(ALICE)).status, 429, 'even the right password waits at this address');
  });
});

describe('viewer web app over TLS', () => {
  it('marks the session cookie Secure with the __Host- prefix and checks https origins', async (t) => {
    const { cert, key } = makeSelfSignedCert();
    const hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      tls: { cert, key },
      viewer: { users: await users() },
    });
    t.after(() => hub.close());
    const { request } = await import('node:https');
    const post = (origin: string): Promise<{ status: number; cookie: string }> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${hub.url}/login`,
          { method: 'POST', ca: cert, headers: { 'Content-Type': 'application/json', Origin: origin } },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? '') });
          },
        );
        req.once('error', reject);
        req.end(JSON.stringify(ALICE));
      });
    assert.equal((await post(hub.url.replace('https', 'http'))).status, 403, 'an http origin is not the https hub');
    const ok = await post(hub.url);
    assert.equal(ok.status, 200);
    assert.match(
      ok.cookie,
      /^__Host-camgate=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
    );
  });
});

describe('viewer options', () => {
  it('are validated at the edge, naming the option and what is allowed', async () => {
    const start = (viewer: object) => Hub.start({ listen: { port: 0 }, kurento: { port: 0 }, viewer });
    await assert.rejects(start({}), /usersFile \(a path\) or users \(a list\) is required/);
    await assert.rejects(
      start({ users: [], maxStreamsPerSocket: 0 }),
      /maxStreamsPerSocket: 0 is not allowed \(>= 1\)/,
    );
    await assert.rejects(start({ users: [], allowedOrigins: ['evil'] }), /allowedOrigins: evil is not allowed/);
    await assert.rejects(start({ users: [], iceServersFor: 'x' }), /iceServersFor: must be a function/);
  });
});
