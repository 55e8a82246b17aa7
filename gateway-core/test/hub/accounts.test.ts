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
    it('limits attempts per address and failures per user, each in a sliding window', () => {
      let now = 0;
      const l = new LoginLimiter({ maxAttemptsPerIp: 3, maxFailuresPerUser: 2, windowMs: 60_000, now: () => now });
      assert.equal(l.attempt('10.0.0.1', 'alice').ok, true);
      l.failed('alice');
      assert.equal(l.attempt('10.0.0.2', 'alice').ok, true);
      l.failed('alice');
      // Another address, same user: the per-user limit holds.
      assert.deepEqual(l.attempt('10.0.0.3', 'alice'), { ok: false, scope: 'user', retryAfterS: 60 });
      assert.equal(l.attempt('10.0.0.3', 'bob').ok, true);
      assert.equal(l.attempt('10.0.0.1', 'bob').ok, true);
      assert.equal(l.attempt('10.0.0.1', 'carol').ok, true);
      const d = l.attempt('10.0.0.1', 'dave');
      assert.equal(d.ok, false);
      assert.equal(!d.ok && d.scope, 'ip');
      now += 30_000;
      const wait = l.attempt('10.0.0.1', 'dave');
      assert.equal(!wait.ok && wait.retryAfterS, 30);
      now += 30_000;
      assert.equal(l.attempt('10.0.0.1', 'dave').ok, true, 'the window slid');
      assert.equal(l.attempt('10.0.0.4', 'alice').ok, true);
    });

    it('clears a user’s failures after a right password', () => {
      const l = new LoginLimiter({ maxFailuresPerUser: 1 });
      l.failed('alice');
      assert.equal(l.attempt('1', 'alice').ok, false);
      l.succeeded('alice');
      assert.equal(l.attempt('1', 'alice').ok, true);
    });

    it('validates its options', () => {
      assert.throws(() => new LoginLimiter({ windowMs: -1 }), RangeError);
      assert.throws(() => new LoginLimiter({ maxAttemptsPerIp: Number.NaN }), TypeError);
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
