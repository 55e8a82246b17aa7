import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import {
  DEFAULT_TURN_OPTIONS,
  kurentoTurnUrl,
  mintTurnCredentials,
  parseTurnUri,
  TurnCredentialMinter,
  turnIceServers,
} from '../../src/hub/turn.js';
import { parseTurnUrl } from '../../src/engine/elements/webrtc-endpoint.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { startCoturn } from '@camgate/test-helpers';
import { turnAllocate } from '../helpers/turn-client.js';

const SECRET = 'turn-secret-that-never-leaks-0123456789';
const URLS = ['turn:127.0.0.1:3478?transport=udp'];
const NOW = Date.UTC(2030, 0, 1, 0, 0, 0); // 1893456000 s

describe('mintTurnCredentials', () => {
  it('makes username <expiry>:<user> and credential base64(HMAC-SHA1(secret, username)) (TURN REST draft §2.2)', () => {
    const c = mintTurnCredentials({ secret: SECRET, user: 'alice', urls: URLS, ttlSeconds: 3600, now: NOW });
    assert.equal(c.expiresAt, 1_893_456_000 + 3600);
    assert.equal(c.username, '1893459600:alice');
    // An independent computation, byte for byte.
    const expected = createHmac('sha1', Buffer.from(SECRET, 'utf8')).update('1893459600:alice').digest('base64');
    assert.equal(c.credential, expected);
    assert.equal(Buffer.from(c.credential, 'base64').length, 20, 'SHA-1 is 20 bytes');
    assert.deepEqual(c.urls, URLS);
  });

  it('defaults to a 24 h lifetime and rounds the clock down to whole seconds', () => {
    const c = mintTurnCredentials({ secret: SECRET, user: 'bob', urls: URLS, now: NOW + 999 });
    assert.equal(DEFAULT_TURN_OPTIONS.ttlSeconds, 86_400);
    assert.equal(c.expiresAt, 1_893_456_000 + 86_400);
  });

  it('a different secret, user or expiry gives a different credential', () => {
    const base = mintTurnCredentials({ secret: SECRET, user: 'alice', urls: URLS, now: NOW });
    const other = [
      mintTurnCredentials({ secret: `${SECRET}x`, user: 'alice', urls: URLS, now: NOW }),
      mintTurnCredentials({ secret: SECRET, user: 'alicf', urls: URLS, now: NOW }),
      mintTurnCredentials({ secret: SECRET, user: 'alice', urls: URLS, now: NOW + 1000 }),
    ];
    for (const o of other) assert.notEqual(o.credential, base.credential);
  });

  it('refuses bad options with TypeError/RangeError naming the option, never echoing the secret', () => {
    const cases: [Record<string, unknown>, RegExp, ErrorConstructor][] = [
      [{ secret: 'short-secret', user: 'a', urls: URLS }, /secret must be at least 16 characters, got 12/, RangeError],
      [{ secret: 42, user: 'a', urls: URLS }, /secret must be a string/, TypeError],
      [{ secret: SECRET, user: 'a:b', urls: URLS }, /user id must be .*without ':'/, TypeError],
      [{ secret: SECRET, user: 'a@b', urls: URLS }, /user id/, TypeError],
      [{ secret: SECRET, user: '', urls: URLS }, /user id/, TypeError],
      [{ secret: SECRET, user: 'x'.repeat(129), urls: URLS }, /user id/, TypeError],
      [{ secret: SECRET, user: 'a', urls: [] }, /urls must be a non-empty array/, TypeError],
      [{ secret: SECRET, user: 'a', urls: ['stun:127.0.0.1:3478'] }, /urls\[0\]: .* is not a TURN URL/, TypeError],
      [{ secret: SECRET, user: 'a', urls: ['turn:u:p@127.0.0.1'] }, /is not a TURN URL/, TypeError],
      [{ secret: SECRET, user: 'a', urls: ['turn:127.0.0.1:70000'] }, /port 70000/, RangeError],
      [{ secret: SECRET, user: 'a', urls: URLS, ttlSeconds: 1.5 }, /ttlSeconds must be an integer/, TypeError],
      [
        { secret: SECRET, user: 'a', urls: URLS, ttlSeconds: 59 },
        /ttlSeconds must be 60\.\.604800 seconds/,
        RangeError,
      ],
      [{ secret: SECRET, user: 'a', urls: URLS, now: Number.NaN }, /now must be a time in ms/, TypeError],
    ];
    for (const [opts, re, type] of cases) {
      assert.throws(
        () => mintTurnCredentials(opts as never),
        (err: Error) => {
          assert.ok(err instanceof type, `${err.name} for ${JSON.stringify(opts)}`);
          assert.match(err.message, re);
          assert.ok(!err.message.includes(SECRET), 'the secret is not in the message');
          return true;
        },
      );
    }
  });
});

describe('parseTurnUri', () => {
  it('reads RFC 7065 TURN URIs with default ports', () => {
    assert.deepEqual(parseTurnUri('turn:turn.example.org'), {
      scheme: 'turn',
      host: 'turn.example.org',
      port: 3478,
      transport: undefined,
    });
    assert.deepEqual(parseTurnUri('turns:[::1]'), { scheme: 'turns', host: '[::1]', port: 5349, transport: undefined });
    assert.equal(parseTurnUri('turn:10.0.0.1:3479?transport=tcp').transport, 'tcp');
    assert.throws(() => parseTurnUri('turn:[1::2::3]:1'), /not an IPv6 address/);
    assert.throws(() => parseTurnUri('turn:host?transport=sctp'), TypeError);
  });
});

describe('kurentoTurnUrl', () => {
  it("gives KMS's user:password@host:port form, which the engine parses back to the same TURN server", () => {
    const c = mintTurnCredentials({ secret: SECRET, user: 'alice', urls: URLS, now: NOW });
    const turnUrl = kurentoTurnUrl(c);
    assert.equal(turnUrl, `${c.username}:${c.credential}@127.0.0.1:3478?transport=udp`);
    // The username carries a ':' (expiry:user); the engine splits at the last ':' before '@'.
    assert.deepEqual(parseTurnUrl(turnUrl), {
      urls: 'turn:127.0.0.1:3478?transport=udp',
      username: c.username,
      credential: c.credential,
    });
    const tls = kurentoTurnUrl({ ...c, urls: ['turns:turn.example.org'] });
    assert.match(tls, /@turn\.example\.org:5349\?transport=tls$/);
    assert.equal(parseTurnUrl(tls).urls, 'turns:turn.example.org:5349');
  });
});

describe('TurnCredentialMinter', () => {
  it('mints for the browser (iceServers) and for the media backend (setTurnUrl) from one validated config', () => {
    const m = new TurnCredentialMinter({ urls: URLS, secret: SECRET, ttlSeconds: 600 });
    const [server] = m.iceServersFor('alice');
    assert.deepEqual(server!.urls, URLS);
    assert.match(server!.username, /^\d{10}:alice$/);
    const expiry = Number(server!.username.split(':')[0]);
    assert.ok(Math.abs(expiry - (Math.floor(Date.now() / 1000) + 600)) <= 1);
    assert.equal(server!.credential, createHmac('sha1', SECRET).update(server!.username).digest('base64'));
    assert.match(m.kurentoTurnUrlFor('alice'), /^\d{10}:alice:[A-Za-z0-9+/]{27}=@127\.0\.0\.1:3478\?transport=udp$/);
    assert.deepEqual(turnIceServers(m.mint('bob', NOW)), [
      { urls: URLS, username: `${1_893_456_000 + 600}:bob`, credential: m.mint('bob', NOW).credential },
    ]);
  });

  it('the secret never shows: not in JSON, inspect, String, logs of the minter, nor in anything minted', () => {
    const sink = memorySink();
    const log = createLogger('hub', sink);
    const m = new TurnCredentialMinter({ urls: URLS, secret: SECRET });
    log.info('turn configured', { turn: m, creds: m.mint('alice') });
    log.info('turn as string', { text: `${String(m)} ${inspect(m, { showHidden: true, depth: 5 })}` });
    const leaks = [
      JSON.stringify(m),
      inspect(m, { showHidden: true, depth: 5 }),
      String(m),
      JSON.stringify(m.iceServersFor('alice')),
      m.kurentoTurnUrlFor('alice'),
      JSON.stringify(sink.records),
    ];
    for (const text of leaks) assert.ok(!text.includes(SECRET), `secret absent from ${text.slice(0, 80)}`);
    assert.deepEqual(JSON.parse(JSON.stringify(m)), { urls: URLS, ttlSeconds: 86_400 });
    assert.equal(sink.records.length, 2);
  });

  it('validates its options, naming them', () => {
    assert.throws(() => new TurnCredentialMinter(null as never), /hub option turn must be an object/);
    assert.throws(() => new TurnCredentialMinter({ urls: URLS, secret: 'x' }), /hub option turn\.secret/);
    assert.throws(() => new TurnCredentialMinter({ urls: ['http://x'], secret: SECRET }), /hub option turn\.urls\[0\]/);
    assert.throws(
      () => new TurnCredentialMinter({ urls: URLS, secret: SECRET, ttlSeconds: 10_000_000 }),
      /hub option turn\.ttlSeconds must be 60\.\.604800 seconds, got 10000000/,
    );
  });
});

describe('minted credentials against coturn (Debian turnserver, use-auth-secret)', () => {
  it('coturn allocates a relay for fresh credentials and refuses expired and forged ones with 401', async (t) => {
    const turn = await startCoturn(t);
    const allocate = (username: string, credential: string) =>
      turnAllocate({ host: turn.host, port: turn.port, username, credential });

    const fresh = mintTurnCredentials({ secret: turn.secret, user: 'alice', urls: [turn.url], ttlSeconds: 600 });
    const ok = await allocate(fresh.username, fresh.credential);
    assert.ok(ok.ok, `allocation with fresh credentials: ${JSON.stringify(ok)}\n${await turn.log()}`);
    assert.equal(ok.relayed.address, '127.0.0.1', 'relay-ip=127.0.0.1');
    assert.ok(ok.relayed.port >= turn.relayPorts[0] && ok.relayed.port <= turn.relayPorts[1]);

    // Expired: minted with a clock two hours back and a one-hour lifetime (expiry in the past).
    const expired = mintTurnCredentials({
      secret: turn.secret,
      user: 'alice',
      urls: [turn.url],
      ttlSeconds: 3600,
      now: Date.now() - 2 * 3600_000,
    });
    assert.ok(expired.expiresAt < Date.now() / 1000);
    const refusedExpired = await allocate(expired.username, expired.credential);
    assert.deepEqual(
      { ok: refusedExpired.ok, code: !refusedExpired.ok && refusedExpired.code },
      { ok: false, code: 401 },
    );

    // Forged: the right shape, the wrong secret.
    const forged = mintTurnCredentials({ secret: 'not-the-coturn-secret-0000', user: 'alice', urls: [turn.url] });
    const refusedForged = await allocate(forged.username, forged.credential);
    assert.deepEqual({ ok: refusedForged.ok, code: !refusedForged.ok && refusedForged.code }, { ok: false, code: 401 });

    // Tampered: a valid credential with the user part changed (or the expiry pushed out) no longer matches.
    const tampered = await allocate(fresh.username.replace('alice', 'mallory'), fresh.credential);
    assert.equal(tampered.ok, false);
    const extended = await allocate(`${fresh.expiresAt + 86_400}:alice`, fresh.credential);
    assert.equal(extended.ok, false);
  });
});
