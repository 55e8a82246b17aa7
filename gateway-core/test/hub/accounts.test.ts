import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addUser,
  clearSessionCookie,
  isGranted,
  LoginLimiter,
  loadUsers,
  parseCookies,
  parseUsersFile,
  sessionCookie,
  SessionStore,
  UserDirectory,
} from '../../src/hub/accounts/index.js';
import { hasCode } from '../../src/util/index.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-accounts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('accounts', () => {
  describe('addUser', () => {
    it('generates a password when none is given and stores only its scrypt hash, owner-readable', async (t) => {
      const file = join(await tempDir(t), 'users.json');
      const r = await addUser(file, { name: 'alice', cameras: ['home/*'] });
      assert.equal(r.name, 'alice');
      assert.match(r.generatedPassword ?? '', /^[A-Za-z0-9_-]{24}$/);
      const text = await readFile(file, 'utf8');
      assert.equal(text.includes(r.generatedPassword!), false, 'the password is not in the file');
      assert.match(text, /"passwordHash": "scrypt\$/);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const dir = await UserDirectory.fromFile(file);
      assert.equal((await dir.verify('alice', r.generatedPassword!))?.name, 'alice');
      assert.equal(await dir.verify('alice', 'wrong-password'), undefined);
    });

    it('keeps a given password, writes YAML for .yaml files, refuses duplicates unless replace', async (t) => {
      const file = join(await tempDir(t), 'users.yaml');
      const r = await addUser(file, { name: 'bob', password: 'bob-password-1', cameras: ['gw/porch'] });
      assert.equal(r.generatedPassword, undefined);
      assert.match(await readFile(file, 'utf8'), /^users:\n {2}- name: bob/);
      await assert.rejects(addUser(file, { name: 'bob', password: 'another-pass', cameras: [] }), (e) =>
        hasCode(e, 'CAMGATE_USER_EXISTS'),
      );
      await addUser(file, { name: 'bob', password: 'another-pass', cameras: ['gw/*'], replace: true });
      const users = await loadUsers(file);
      assert.equal(users.length, 1);
      assert.deepEqual(users[0]!.cameras, ['gw/*']);
      assert.ok(await (await UserDirectory.fromFile(file)).verify('bob', 'another-pass'));
    });

    it('refuses bad names, grants and passwords, naming what is allowed', async (t) => {
      const file = join(await tempDir(t), 'users.json');
      await assert.rejects(addUser(file, { name: '../x', cameras: [] }), TypeError);
      await assert.rejects(addUser(file, { name: 'a', cameras: ['no-slash'] }), /GATEWAY\/CAMERA/);
      await assert.rejects(addUser(file, { name: 'a', cameras: ['gw/../x'] }), TypeError);
      await assert.rejects(addUser(file, { name: 'a', password: 'short', cameras: [] }), (e) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /password of 5 characters is not allowed \(8-256\)/);
        return true;
      });
    });
  });

  describe('users file', () => {
    it('names the path of an invalid entry', () => {
      const text = JSON.stringify({ users: [{ name: 'ok', passwordHash: 'scrypt$x', cameras: ['gw/*', 'bad'] }] });
      assert.throws(
        () => parseUsersFile(text, 'u.json'),
        (e) => hasCode(e, 'CAMGATE_USERS_FILE') && /u\.json: users\[0\]\.cameras\[1\]: /.test((e as Error).message),
      );
    });

    it('refuses garbage, unknown keys and duplicate names', () => {
      for (const text of ['{', '\u0000\u0001', '[1,2]', '{"users":[],"admin":true}']) {
        assert.throws(
          () => parseUsersFile(text, 'u.json'),
          (e) => hasCode(e, 'CAMGATE_USERS_FILE'),
          text,
        );
      }
      const dup = { users: [1, 2].map(() => ({ name: 'a', passwordHash: 'scrypt$x', cameras: [] })) };
      assert.throws(() => parseUsersFile(JSON.stringify(dup)), /names must be unique/);
    });

    it('reads a missing file as no users, and picks up a changed file on refresh', async (t) => {
      const file = join(await tempDir(t), 'users.json');
      const dir = await UserDirectory.fromFile(file);
      assert.equal(dir.size, 0);
      assert.equal(await dir.verify('nobody', 'whatever-pw'), undefined, 'unknown users are refused');
      await addUser(file, { name: 'late', password: 'late-password', cameras: [] });
      await dir.refresh();
      assert.ok(await dir.verify('late', 'late-password'));
      await writeFile(file, 'not json');
      await assert.rejects(dir.refresh(), (e) => hasCode(e, 'CAMGATE_USERS_FILE'));
    });
  });

  describe('isGranted', () => {
    it('allows GATEWAY/CAMERA and GATEWAY/* only', () => {
      const grants = ['home/porch', 'cabin/*'];
      assert.equal(isGranted(grants, 'home', 'porch'), true);
      assert.equal(isGranted(grants, 'home', 'garage'), false);
      assert.equal(isGranted(grants, 'cabin', 'anything'), true);
      assert.equal(isGranted(grants, 'homes', 'porch'), false);
      assert.equal(isGranted(['*/*'], 'home', 'porch'), false, 'no wildcard gateway');
    });
  });

  describe('SessionStore', () => {
    it('expires sessions server-side and refuses malformed ids', (t) => {
      let now = 1_000_000;
      const store = new SessionStore({ ttlMs: 60_000, now: () => now });
      t.after(() => store.close());
      const s = store.create('alice');
      assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(store.create('alice').id, s.id, 'random ids');
      assert.equal(store.get(s.id)?.user, 'alice');
      for (const bad of [undefined, '', 'x', `${s.id}x`, s.id.toUpperCase() + '!'])
        assert.equal(store.get(bad), undefined);
      now += 60_000;
      assert.equal(store.get(s.id), undefined, 'expired at ttl');
    });

    it('tells listeners when a session ends and evicts the oldest when full', (t) => {
      const store = new SessionStore({ maxSessions: 2 });
      t.after(() => store.close());
      const ended: string[] = [];
      store.onEnd((s) => ended.push(s.hash));
      const a = store.create('a');
      const b = store.create('b');
      const c = store.create('c');
      assert.deepEqual(ended, [a.hash]);
      store.destroy(b.id);
      store.destroy(b.id);
      assert.deepEqual(ended, [a.hash, b.hash]);
      assert.equal(store.size, 1);
      assert.equal(store.get(c.id)?.user, 'c');
    });

    it('validates its options', () => {
      assert.throws(() => new SessionStore({ ttlMs: 0 }), /ttlMs: 0 is not allowed \(>= 1\)/);
      assert.throws(() => new SessionStore({ maxSessions: 1.5 }), TypeError);
    });
  });

  describe('LoginLimiter', () => {
    const opts = (clock: { now: number }) => ({
      freeFailuresPerUser: 3,
      freeFailuresPerAddress: 6,
      baseDelayMs: 1_000,
      maxDelayMs: 60_000,
      forgetAfterMs: 600_000,
      now: () => clock.now,
    });
    /** A sign-in check that fails: attempt, then a wrong password. */
    const fail = (l: LoginLimiter, ip: string, user: string): void => {
      assert.equal(l.attempt(ip, user).ok, true);
      l.failed(ip, user);
    };

    it('backs off an address for a name after its free failures, doubling each time, up to the cap', () => {
      const clock = { now: 0 };
      const l = new LoginLimiter(opts(clock));
      for (let i = 0; i < 3; i++) fail(l, '198.51.100.7', 'alice');
      assert.deepEqual(l.attempt('198.51.100.7', 'alice'), { ok: false, scope: 'user', retryAfterS: 1 });
      clock.now += 1_000;
      fail(l, '198.51.100.7', 'alice');
      assert.deepEqual(l.attempt('198.51.100.7', 'alice'), { ok: false, scope: 'user', retryAfterS: 2 });
      clock.now += 2_000;
      fail(l, '198.51.100.7', 'alice');
      assert.deepEqual(l.attempt('198.51.100.7', 'alice'), { ok: false, scope: 'user', retryAfterS: 4 });
      for (let i = 0; i < 10; i++) {
        clock.now += 60_000;
        fail(l, '198.51.100.7', 'alice');
      }
      assert.deepEqual(l.attempt('198.51.100.7', 'alice'), { ok: false, scope: 'ip', retryAfterS: 60 }, 'capped');
    });

    it('never slows the real user at another address, however often an attacker fails', () => {
      const clock = { now: 0 };
      const l = new LoginLimiter(opts(clock));
      for (let i = 0; i < 3; i++) fail(l, '203.0.113.66', 'alice');
      assert.equal(l.attempt('203.0.113.66', 'alice').ok, false, 'the attacker waits');
      const real = l.attempt('192.0.2.10', 'alice');
      assert.equal(real.ok, true, 'the right password from home is checked at once');
      l.succeeded('192.0.2.10', 'alice');
    });

    it('does not count successful sign-ins: a shared address signs in many times', () => {
      const l = new LoginLimiter(opts({ now: 0 }));
      for (let i = 0; i < 50; i++) {
        assert.equal(l.attempt('100.64.0.1', `user${i % 5}`).ok, true, `sign-in ${i}`);
        l.succeeded('100.64.0.1', `user${i % 5}`);
      }
    });

    it('clears an address’s failures for a name after the right password', () => {
      const l = new LoginLimiter(opts({ now: 0 }));
      for (let i = 0; i < 2; i++) fail(l, '192.0.2.10', 'alice');
      assert.equal(l.attempt('192.0.2.10', 'alice').ok, true);
      l.succeeded('192.0.2.10', 'alice');
      for (let i = 0; i < 2; i++) fail(l, '192.0.2.10', 'alice');
      assert.equal(l.attempt('192.0.2.10', 'alice').ok, true, 'two free failures again, not four');
    });

    it('backs off an address that sprays many names, and forgets failures after forgetAfterMs', () => {
      const clock = { now: 0 };
      const l = new LoginLimiter(opts(clock));
      for (let i = 0; i < 6; i++) fail(l, '203.0.113.66', `name${i}`);
      const d = l.attempt('203.0.113.66', 'name99');
      assert.equal(!d.ok && d.scope, 'ip');
      clock.now += 600_000;
      assert.equal(l.attempt('203.0.113.66', 'name99').ok, true);
    });

    it('lets an address have only maxConcurrentPerAddress checks in flight', () => {
      const l = new LoginLimiter({ ...opts({ now: 0 }), maxConcurrentPerAddress: 2 });
      assert.equal(l.attempt('203.0.113.66', 'a').ok, true);
      assert.equal(l.attempt('203.0.113.66', 'b').ok, true);
      assert.deepEqual(l.attempt('203.0.113.66', 'c'), { ok: false, scope: 'ip', retryAfterS: 1 });
      assert.equal(l.attempt('192.0.2.10', 'alice').ok, true, 'another address is not affected');
      l.failed('203.0.113.66', 'a');
      assert.equal(l.attempt('203.0.113.66', 'c').ok, true);
    });

    it('validates its options', () => {
      assert.throws(() => new LoginLimiter({ baseDelayMs: 0 }), /baseDelayMs: 0 is not allowed \(>= 1\)/);
      assert.throws(() => new LoginLimiter({ freeFailuresPerUser: Number.NaN }), TypeError);
    });
  });

  describe('cookies', () => {
    it('sets HttpOnly, SameSite=Strict, Path=/ and Secure with __Host- only over TLS', () => {
      assert.equal(
        sessionCookie('abc', { secure: false, maxAgeS: 60 }),
        'camgate=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
      );
      assert.equal(
        sessionCookie('abc', { secure: true, maxAgeS: 60 }),
        '__Host-camgate=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure',
      );
      assert.match(clearSessionCookie(false), /^camgate=; .*Max-Age=0/);
    });

    it('parses cookie headers, ignoring garbage and oversized headers', () => {
      assert.equal(parseCookies('a=1; camgate=xyz; camgate=evil').get('camgate'), 'xyz');
      assert.equal(parseCookies('garbage;;=;x').size, 0);
      assert.equal(parseCookies(`camgate=${'x'.repeat(9000)}`).size, 0);
      assert.equal(parseCookies(undefined).size, 0);
    });
  });
});
