import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { hubGatewaySchema } from '../../src/config/schema.js';
import { GatewayDirectory } from '../../src/hub/index.js';
import { ScramClient } from '../../src/tunnel/client-auth.js';
import { parseChallenge, parseProof } from '../../src/tunnel/handshake.js';
import { makeVerifier, parseVerifier, scryptParamsProblem, hashSecret } from '../../src/tunnel/index.js';
import { authMessage } from '../../src/tunnel/scram.js';
import { ScramAuthority } from '../../src/tunnel/server-auth.js';
import { createLogger, memorySink, SecretSet } from '../../src/util/index.js';
import { refAuthMessage, refScram, refVerifier } from '../helpers/scram.js';

// A fixed vector: every input chosen, every output computed independently in
// test/helpers/scram.ts from node:crypto (RFC 5802 §3 formulas with scrypt).
const SECRET = 'vector-secret-Qm7x';
const GATEWAY = 'gw-vector';
const SALT = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const CLIENT_NONCE = 'Y2xpZW50LW5vbmNlLTAwMDAx';
const SERVER_NONCE = 'c2VydmVyLW5vbmNlLTAwMDAx';
const PARAMS = { N: 1024, r: 8, p: 1 };
const WIRE_CHALLENGE = { serverNonce: SERVER_NONCE, salt: SALT.toString('base64'), ...PARAMS };
const silent = createLogger('test', memorySink(), new SecretSet());

describe('SCRAM (RFC 5802 with scrypt)', () => {
  describe('handshake vectors', () => {
    it('the AuthMessage binds version, gateway id, both nonces, salt and cost', () => {
      const m = authMessage({
        v: 1,
        gatewayId: GATEWAY,
        clientNonce: CLIENT_NONCE,
        serverNonce: SERVER_NONCE,
        salt: SALT,
        ...PARAMS,
      });
      assert.equal(
        m,
        'camgate-tunnel,v=1,n=gw-vector,c=Y2xpZW50LW5vbmNlLTAwMDAx,s=c2VydmVyLW5vbmNlLTAwMDAx,salt=AAECAwQFBgcICQoLDA0ODw==,N=1024,r=8,p=1',
      );
      assert.equal(m, refAuthMessage(1, GATEWAY, CLIENT_NONCE, WIRE_CHALLENGE));
    });

    it('the gateway computes the proof and expects the signature the reference computes', async () => {
      const ref = refScram(SECRET, GATEWAY, CLIENT_NONCE, WIRE_CHALLENGE);
      const client = new ScramClient(SECRET);
      const ex = await client.answer(1, GATEWAY, CLIENT_NONCE, parseChallenge(WIRE_CHALLENGE));
      assert.equal(ex.clientProof, ref.clientProof);
      assert.equal(ex.checkServerSignature(ref.serverSignature), true);
      const flipped = Buffer.from(ref.serverSignature, 'base64');
      flipped[0]! ^= 1;
      assert.equal(ex.checkServerSignature(flipped.toString('base64')), false);
      assert.equal(ex.checkServerSignature('not base64!'), false);
      assert.equal(ex.checkServerSignature(''), false);
    });

    it('the hub accepts the reference proof and answers the reference signature, from a verifier only', async () => {
      const auth = new ScramAuthority(() => refVerifier(SECRET, SALT, PARAMS.N, PARAMS.r, PARAMS.p), undefined, silent);
      const pending = await auth.challenge({ v: 1, gatewayId: GATEWAY, clientNonce: CLIENT_NONCE });
      assert.equal(pending.known, true);
      assert.deepEqual(pending.challenge.salt, SALT);
      assert.deepEqual({ N: pending.challenge.N, r: pending.challenge.r, p: pending.challenge.p }, PARAMS);
      // Pin the server nonce so the reference can compute the same AuthMessage.
      pending.challenge.serverNonce = SERVER_NONCE;
      const ref = refScram(SECRET, GATEWAY, CLIENT_NONCE, WIRE_CHALLENGE);
      const ok = auth.verify(pending, parseProof({ clientProof: ref.clientProof }));
      assert.deepEqual(ok, { ok: true, serverSignature: ref.serverSignature });
      // A proof made with another secret, or for other nonces, is refused.
      const wrong = refScram(SECRET + 'x', GATEWAY, CLIENT_NONCE, WIRE_CHALLENGE);
      assert.deepEqual(auth.verify(pending, parseProof({ clientProof: wrong.clientProof })), { ok: false });
      const other = refScram(SECRET, GATEWAY, 'b3RoZXItbm9uY2UtMDAwMDAx', WIRE_CHALLENGE);
      assert.deepEqual(auth.verify(pending, parseProof({ clientProof: other.clientProof })), { ok: false });
    });

    it('a fresh server nonce per connection makes an earlier proof worthless', async () => {
      const auth = new ScramAuthority(() => refVerifier(SECRET, SALT, PARAMS.N, PARAMS.r, PARAMS.p), undefined, silent);
      const hello = { v: 1, gatewayId: GATEWAY, clientNonce: CLIENT_NONCE };
      const first = await auth.challenge(hello);
      const second = await auth.challenge(hello);
      assert.notEqual(first.challenge.serverNonce, second.challenge.serverNonce);
      const wire = { ...WIRE_CHALLENGE, serverNonce: first.challenge.serverNonce };
      const proof = parseProof({ clientProof: refScram(SECRET, GATEWAY, CLIENT_NONCE, wire).clientProof });
      assert.equal(auth.verify(first, proof).ok, true);
      assert.equal(auth.verify(second, proof).ok, false);
    });

    it('an unknown id gets a deterministic fake salt (HMAC of the key and the id) and the default cost', async () => {
      const key = Buffer.alloc(32, 7);
      const auth = new ScramAuthority(() => undefined, key, silent);
      const a = await auth.challenge({ v: 1, gatewayId: 'ghost', clientNonce: CLIENT_NONCE });
      const expected = createHmac('sha256', key).update('ghost').digest().subarray(0, 16);
      assert.equal(a.known, false);
      assert.deepEqual(a.challenge.salt, expected);
      assert.deepEqual({ N: a.challenge.N, r: a.challenge.r, p: a.challenge.p }, { N: 16384, r: 8, p: 1 });
      const again = await auth.challenge({ v: 1, gatewayId: 'ghost', clientNonce: CLIENT_NONCE });
      assert.deepEqual(again.challenge.salt, a.challenge.salt, 'same id, same salt — like a real gateway');
      const other = await auth.challenge({ v: 1, gatewayId: 'ghost2', clientNonce: CLIENT_NONCE });
      assert.notDeepEqual(other.challenge.salt, a.challenge.salt);
      // Whatever proof comes back goes through the same check and is refused.
      assert.deepEqual(auth.verify(a, parseProof({ clientProof: Buffer.alloc(32).toString('base64') })), { ok: false });
    });

    it('a corrupt stored verifier is refused like an unknown id and logged for the operator', async () => {
      const sink = memorySink();
      const auth = new ScramAuthority(
        () => 'scrypt$16384$8$1$AAAA$BBBB',
        Buffer.alloc(32, 1),
        createLogger('t', sink, new SecretSet()),
      );
      const p = await auth.challenge({ v: 1, gatewayId: 'gw1', clientNonce: CLIENT_NONCE });
      assert.equal(p.known, false);
      assert.ok(sink.records.some((r) => r.msg === 'stored verifier unreadable; refusing this gateway'));
    });

    it('caches SaltedPassword per (salt, N, r, p): a reconnect runs no scrypt', async () => {
      const client = new ScramClient(SECRET);
      const c = parseChallenge(WIRE_CHALLENGE);
      await client.answer(1, GATEWAY, CLIENT_NONCE, c);
      await client.answer(1, GATEWAY, 'YW5vdGhlci1ub25jZS0wMDAx', { ...c, serverNonce: 'bmV3LXNlcnZlci1ub25jZS0x' });
      assert.equal(client.derivations, 1);
      await client.answer(1, GATEWAY, CLIENT_NONCE, { ...c, N: 2048 });
      assert.equal(client.derivations, 2, 'other cost, other key');
    });
  });

  describe('verifiers', () => {
    it('makeVerifier writes scram-scrypt$N$r$p$salt$storedKey$serverKey that the reference agrees with', async () => {
      const v = await makeVerifier(SECRET, PARAMS);
      assert.match(v, /^scram-scrypt\$1024\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=\$[A-Za-z0-9+/]{43}=$/);
      const parsed = parseVerifier(v);
      assert.equal(v, refVerifier(SECRET, parsed.salt, 1024, 8, 1));
      assert.equal(v.includes(SECRET), false);
      assert.notEqual(await makeVerifier(SECRET, PARAMS), v, 'salted');
      assert.match(await makeVerifier(SECRET), /^scram-scrypt\$16384\$8\$1\$/);
    });

    it('makeVerifier validates its arguments', async () => {
      await assert.rejects(makeVerifier(''), TypeError);
      await assert.rejects(makeVerifier('x'.repeat(1025)), TypeError);
      await assert.rejects(
        makeVerifier('s', { N: 1000, r: 8, p: 1 }),
        /N must be a power of two between 1024 and 1048576/,
      );
    });

    it('parseVerifier refuses malformed and hostile strings with CAMGATE_CONFIG_INVALID, without echoing keys', async () => {
      const good = refVerifier(SECRET, SALT, 1024, 8, 1);
      const parts = good.split('$');
      const swap = (i: number, x: string) => parts.map((p, j) => (j === i ? x : p)).join('$');
      const cases: [unknown, RegExp][] = [
        ['', /expected scram-scrypt/],
        [42, /must be a string/],
        ['x'.repeat(600), /at most 512/],
        [await hashSecret('s'), /expected scram-scrypt/], // the old plain scrypt hash
        [good + '$extra', /expected scram-scrypt/],
        [swap(1, '1073741824'), /N must be a power of two/], // 2^30
        [swap(1, '3000'), /N must be a power of two/],
        [swap(1, '08'), /N must be a power of two/],
        [swap(2, '1000000'), /r must be an integer between 1 and 32/],
        [swap(3, '0'), /p must be an integer/],
        [swap(1, '1048576'), /N·r must be at most/], // 2^20 × 8 = 1 GiB of memory
        [swap(4, ''), /salt must be base64/],
        [swap(4, 'AAAA'), /salt must be base64 of 8-64 bytes/],
        [swap(4, parts[4]!.replace('==', '')), /salt must be base64/],
        [swap(5, Buffer.alloc(31).toString('base64')), /storedKey must be base64 of 32 bytes/],
        [swap(6, '!!!!'), /serverKey must be base64/],
      ];
      for (const [input, re] of cases) {
        assert.throws(
          () => parseVerifier(input),
          (err: Error & { code?: string }) => {
            assert.equal(err.code, 'CAMGATE_CONFIG_INVALID', String(input).slice(0, 40));
            assert.match(err.message, re, String(input).slice(0, 40));
            assert.equal(err.message.includes(parts[5]!), false);
            return true;
          },
        );
      }
    });

    it('scryptParamsProblem bounds memory and work, and names what is allowed', () => {
      assert.equal(scryptParamsProblem({ N: 16384, r: 8, p: 1 }), undefined);
      assert.equal(scryptParamsProblem({ N: 2 ** 20, r: 2, p: 2 }), undefined);
      assert.match(
        scryptParamsProblem({ N: 2 ** 30, r: 8, p: 1 })!,
        /N must be a power of two between 1024 and 1048576, got 1073741824/,
      );
      assert.match(
        scryptParamsProblem({ N: 16384, r: 1e6, p: 1 })!,
        /r must be an integer between 1 and 32, got 1000000/,
      );
      assert.match(scryptParamsProblem({ N: 16384, r: 8, p: 1.5 })!, /p must be an integer/);
      assert.match(scryptParamsProblem({ N: '16384', r: 8, p: 1 })!, /N must be/);
      assert.match(
        scryptParamsProblem({ N: 2 ** 17, r: 32, p: 1 })!,
        /N·r must be at most 2097152 \(256 MiB of memory\), got 4194304/,
      );
      assert.match(scryptParamsProblem({ N: 2 ** 18, r: 8, p: 4 })!, /N·r·p must be at most 4194304/);
    });
  });

  describe('hostile challenges (parsed before any work)', () => {
    it('refuses absurd cost with CAMGATE_TUNNEL_AUTH and malformed fields with CAMGATE_TUNNEL_PROTOCOL', () => {
      const auth: [unknown, RegExp][] = [
        [{ ...WIRE_CHALLENGE, N: 2 ** 30 }, /scrypt parameters out of bounds: N must be/],
        [{ ...WIRE_CHALLENGE, r: 1e6 }, /scrypt parameters out of bounds: r must be/],
        [{ ...WIRE_CHALLENGE, p: 1e9 }, /p must be/],
        [{ ...WIRE_CHALLENGE, N: 'many' }, /N must be/],
      ];
      for (const [body, re] of auth)
        assert.throws(() => parseChallenge(body), { code: 'CAMGATE_TUNNEL_AUTH', message: re });
      const protocol: [unknown, RegExp][] = [
        [null, /not a JSON object/],
        [[1], /not a JSON object/],
        [{ ...WIRE_CHALLENGE, serverNonce: 'short' }, /serverNonce/],
        [{ ...WIRE_CHALLENGE, serverNonce: 'a,b'.repeat(10) }, /serverNonce/],
        [{ ...WIRE_CHALLENGE, salt: 'A'.repeat(10_000) }, /salt must be base64 of 8-64 bytes/],
        [{ ...WIRE_CHALLENGE, salt: 12 }, /salt/],
      ];
      for (const [body, re] of protocol) {
        assert.throws(() => parseChallenge(body), { code: 'CAMGATE_TUNNEL_PROTOCOL', message: re });
      }
    });

    it('refuses malformed proofs', () => {
      assert.throws(() => parseProof(null), {
        code: 'CAMGATE_TUNNEL_PROTOCOL',
        message: 'malformed proof: not a JSON object',
      });
      for (const body of [{}, { clientProof: 'AAAA' }, { clientProof: 'A'.repeat(5000) }, { clientProof: 7 }]) {
        assert.throws(() => parseProof(body), {
          code: 'CAMGATE_TUNNEL_PROTOCOL',
          message: /malformed proof: clientProof/,
        });
      }
      const clientProof = Buffer.alloc(32).toString('base64');
      assert.throws(() => parseProof({ clientProof, resume: { session: 'x', recv: -1 } }), /malformed proof: resume/);
    });
  });

  describe('configuration', () => {
    it('the hub config accepts only scram-scrypt verifiers, pointing at camgate hub add-gateway', async () => {
      const verifier = await makeVerifier(SECRET, PARAMS);
      assert.equal(hubGatewaySchema.safeParse({ id: 'gw1', secretHash: verifier }).success, true);
      const old = hubGatewaySchema.safeParse({ id: 'gw1', secretHash: await hashSecret(SECRET) });
      assert.equal(old.success, false);
      assert.match(old.error!.issues[0]!.message, /not a scram-scrypt verifier.*camgate hub add-gateway/);
      assert.deepEqual(old.error!.issues[0]!.path, ['secretHash']);
      const hostile = hubGatewaySchema.safeParse({ id: 'gw1', secretHash: verifier.replace('$1024$', '$1073741824$') });
      assert.match(hostile.error!.issues[0]!.message, /N must be a power of two/);
    });

    it('GatewayDirectory refuses a record without a readable verifier and looks verifiers up', async () => {
      assert.throws(() => new GatewayDirectory([{ id: 'gw1', secretHash: 'plain' }]), {
        code: 'CAMGATE_CONFIG_INVALID',
        message: /^gateway gw1: secretHash: not a scram-scrypt verifier/,
      });
      const verifier = await makeVerifier(SECRET, PARAMS);
      const dir = new GatewayDirectory([{ id: 'gw1', secretHash: verifier }]);
      assert.equal(await dir.lookupVerifier('gw1'), verifier);
      assert.equal(await dir.lookupVerifier('nobody'), undefined);
    });
  });
});
