/**
 * API tokens: looked up by id, at most one scrypt per
 * request, none for an unknown id, and a per-address backoff on failures —
 * counted with the hub's own scrypt counter, never timed.
 */
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { hubConfigSchema } from '../../src/config/index.js';
import { ApiAuthGuard, ApiTokenVerifier, Hub, mintApiToken } from '../../src/hub/index.js';
import { hashSecret } from '../../src/tunnel/index.js';
import { hasCode } from '../../src/util/index.js';
import { within } from '@camgate/test-helpers';

/** GET /api/gateways from `localAddress` (loopback has all of 127/8: one address per actor). */
function get(
  base: string,
  token: string | undefined,
  localAddress: string,
): Promise<{ status: number; retryAfter?: string }> {
  const u = new URL(`${base}/api/gateways`);
  return within(
    new Promise((resolve, reject) => {
      const r = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          localAddress,
          agent: false,
          headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
        },
      );
      r.on('error', reject);
      r.end();
    }),
    20_000,
    'an API answer',
  );
}

const randomToken = (): string =>
  `cgt_${Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url')}.${'A'.repeat(43)}`;

describe('API tokens', () => {
  describe('mintApiToken / ApiTokenVerifier', () => {
    it('mints cgt_ID.SECRET and stores ID:scrypt$…, never the secret', async () => {
      const t = await mintApiToken();
      assert.match(t.token, /^cgt_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
      assert.match(t.stored, /^[A-Za-z0-9_-]{16}:scrypt\$16384\$8\$1\$/);
      assert.equal(t.stored.startsWith(`${t.id}:`), true);
      assert.equal(t.stored.includes(t.token.split('.')[1]!), false);
    });

    it('runs one scrypt for a known id, none for an unknown id, a malformed token or a cached one', async () => {
      const a = await mintApiToken();
      const b = await mintApiToken();
      const v = new ApiTokenVerifier([a.stored, b.stored]);
      assert.equal(await v.check(randomToken()), 'unknown-id');
      assert.equal(await v.check('not-a-token'), 'malformed');
      assert.equal(v.kdfRuns, 0);
      assert.equal(await v.check(`${b.token.split('.')[0]}.${'x'.repeat(43)}`), 'wrong-secret');
      assert.equal(v.kdfRuns, 1, 'one scrypt, not one per configured token');
      assert.equal(await v.check(b.token), 'ok');
      assert.equal(await v.check(b.token), 'ok');
      assert.equal(v.kdfRuns, 2, 'the second use is served from the cache');
    });

    it('refuses an id-less hash from an older camgate with a message saying what to do', async () => {
      const legacy = await hashSecret('an-old-style-token-0123456789');
      assert.throws(
        () => new ApiTokenVerifier([legacy]),
        (e: unknown) =>
          hasCode(e, 'CAMGATE_CONFIG') &&
          /apiTokens\[0\]: a token hash without an id.*camgate hub add-token/.test((e as Error).message),
      );
      await assert.rejects(Hub.start({ listen: { port: 0 }, kurento: { port: 0 }, apiTokenHashes: [legacy] }), {
        code: 'CAMGATE_CONFIG',
      });
      const r = hubConfigSchema.safeParse({ apiTokens: [legacy] });
      assert.equal(r.success, false);
      assert.match(r.error!.issues[0]!.message, /without an id/);
      assert.deepEqual(r.error!.issues[0]!.path, ['apiTokens', 0]);
    });
  });

  describe('ApiAuthGuard', () => {
    it('runs at most maxConcurrentKdfTotal scrypt checks at once across addresses; the rest wait (429)', async () => {
      const real = await mintApiToken();
      const guard = new ApiAuthGuard([real.stored], {
        maxConcurrentKdf: 10,
        maxConcurrentKdfTotal: 1,
        freeFailures: 100,
      });
      const wrong = `${real.token.split('.')[0]}.${'D'.repeat(43)}`;
      const req = (address: string) =>
        ({
          socket: { remoteAddress: address },
          headers: { authorization: `Bearer ${wrong}` },
        }) as unknown as IncomingMessage;
      // Started in one tick: the first takes the only slot before any scrypt finishes.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => guard.authorize(req(`198.51.100.${i + 1}`))),
      );
      assert.deepEqual(results[0], {}, 'the first is checked (and is wrong)');
      assert.deepEqual(results.slice(1), Array<unknown>(9).fill({ retryAfterS: 1 }));
      assert.equal(guard.kdfRuns, 1);
      assert.deepEqual(await guard.authorize(req('198.51.100.2')), {}, 'the slot is free again');
      assert.equal(guard.kdfRuns, 2);
    });
  });

  describe('on a real hub', () => {
    it('answers a flood of random tokens without one scrypt, and backs off the flooding address only', async (t) => {
      const real = await mintApiToken();
      const hub = await Hub.start({
        listen: { port: 0 },
        kurento: { port: 0 },
        apiTokenHashes: [real.stored],
        apiAuthLimits: { freeFailures: 10, baseDelayMs: 60_000 },
      });
      t.after(() => hub.close());
      const flood = await Promise.all(Array.from({ length: 60 }, () => get(hub.url, randomToken(), '127.0.0.2')));
      assert.equal(hub.api.kdfRuns, 0, 'unknown ids cost no scrypt');
      assert.equal(flood.filter((r) => r.status === 401).length, 10, 'ten free failures');
      assert.equal(flood.filter((r) => r.status === 429).length, 50, 'then 429');
      assert.match(flood.find((r) => r.status === 429)!.retryAfter ?? '', /^\d+$/);
      assert.equal((await get(hub.url, real.token, '127.0.0.2')).status, 429, 'the flooding address waits');
      assert.equal((await get(hub.url, real.token, '127.0.0.1')).status, 200, 'another address is served at once');
      assert.equal(hub.api.kdfRuns, 1);
      assert.equal((await get(hub.url, undefined, '127.0.0.1')).status, 401);
    });

    it('runs at most one scrypt per request for a known id with wrong secrets, and at most two at once per address', async (t) => {
      const real = await mintApiToken();
      const hub = await Hub.start({
        listen: { port: 0 },
        kurento: { port: 0 },
        apiTokenHashes: [real.stored],
        apiAuthLimits: { freeFailures: 5, baseDelayMs: 60_000, maxConcurrentKdf: 2 },
      });
      t.after(() => hub.close());
      const wrong = `${real.token.split('.')[0]}.${'B'.repeat(43)}`;
      const burst = await Promise.all(Array.from({ length: 20 }, () => get(hub.url, wrong, '127.0.0.3')));
      const refused = burst.filter((r) => r.status === 401).length;
      assert.equal(refused + burst.filter((r) => r.status === 429).length, 20);
      assert.equal(hub.api.kdfRuns, refused, 'one scrypt per 401, none per 429');
      assert.ok(refused <= 5 + 2, `at most the free failures plus those in flight ran scrypt (${refused})`);
      for (let i = 0; i < 8; i++) await get(hub.url, wrong, '127.0.0.3');
      assert.equal(hub.api.kdfRuns, 5, 'scrypt ran for the five free failures only, whatever came after');
      assert.equal((await get(hub.url, real.token, '127.0.0.1')).status, 200);
    });

    it('bounds wrong secrets for one token id across many addresses; the token’s own client keeps working', async (t) => {
      const real = await mintApiToken();
      const hub = await Hub.start({
        listen: { port: 0 },
        kurento: { port: 0 },
        apiTokenHashes: [real.stored],
        apiAuthLimits: { freeFailures: 10, freeFailuresPerToken: 5, baseDelayMs: 60_000 },
      });
      t.after(() => hub.close());
      assert.equal((await get(hub.url, real.token, '127.0.0.1')).status, 200, 'the automation, before the attack');
      const wrong = `${real.token.split('.')[0]}.${'C'.repeat(43)}`;
      const statuses: number[] = [];
      for (let i = 1; i <= 20; i++) statuses.push((await get(hub.url, wrong, `127.0.2.${i}`)).status);
      assert.deepEqual(statuses, [...Array<number>(5).fill(401), ...Array<number>(15).fill(429)]);
      assert.equal(hub.api.kdfRuns, 1 + 5, 'one scrypt per wrong secret until the id backs off');
      assert.equal((await get(hub.url, real.token, '127.0.0.1')).status, 200, 'its familiar address is served');
      assert.equal(
        (await get(hub.url, real.token, '127.0.3.1')).status,
        200,
        'a token verified before costs no scrypt, so it is served from a new address too',
      );
      assert.equal(hub.api.kdfRuns, 6);
    });
  });
});
