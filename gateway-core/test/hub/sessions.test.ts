/**
 * Viewer sign-in sessions in SQLite, so a hub restart does not sign the
 * viewer out: they survive a new store and a new Hub on the same file,
 * only token hashes are stored, the file is owner-only, expired sessions are
 * pruned, and loading node:sqlite prints no ExperimentalWarning of ours.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addUser, Hub } from '../../src/hub/index.js';
import { SessionStore } from '../../src/hub/accounts/index.js';
import { defaultSessionsFile } from '../../src/hub/viewer/options.js';

const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-sessions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('SessionStore in a file', () => {
  it('keeps sessions for the next store on the same file, storing only a hash of each token', async (t) => {
    const file = join(await tempDir(t), 'sessions.sqlite');
    const first = new SessionStore({ file });
    const s = first.create('alice');
    first.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'owner-only');
    const bytes = await readFile(file);
    assert.equal(bytes.includes(Buffer.from(s.id)), false, 'the token itself is not in the file');
    assert.equal(bytes.includes(Buffer.from(s.hash)), true, 'its hash is');

    const second = new SessionStore({ file });
    t.after(() => second.close());
    assert.deepEqual(second.get(s.id), s);
    assert.equal(second.size, 1);
    second.destroy(s.id);
    assert.equal(second.get(s.id), undefined);
  });

  it('prunes sessions that expired while it was closed, and on its sweep', async (t) => {
    const file = join(await tempDir(t), 'sessions.sqlite');
    let now = 1_000_000;
    const first = new SessionStore({ file, ttlMs: 60_000, now: () => now });
    const old = first.create('alice');
    now += 30_000;
    const young = first.create('bob');
    first.close();

    now += 30_000; // `old` is now exactly ttlMs old
    const second = new SessionStore({ file, ttlMs: 60_000, now: () => now });
    t.after(() => second.close());
    assert.equal(second.size, 1, 'pruned at open');
    assert.equal(second.get(old.id), undefined);
    assert.equal(second.get(young.id)?.user, 'bob');
    const ended: string[] = [];
    second.onEnd((s) => ended.push(s.user));
    now += 30_000;
    second.sweep();
    assert.deepEqual(ended, ['bob']);
    assert.equal(second.size, 0);
  });

  it('tightens a looser mode on an existing file and refuses a file that is not a sessions database', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'sessions.sqlite');
    await writeFile(file, '', { mode: 0o644 });
    new SessionStore({ file }).close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const junk = join(dir, 'junk.sqlite');
    await writeFile(junk, 'this is not SQLite '.repeat(100));
    assert.throws(() => new SessionStore({ file: junk }), { code: 'CAMGATE_SESSIONS_FILE' });
    assert.throws(() => new SessionStore({ file: '' }), /SessionStore option file: {2}is not allowed/);
  });

  it('loads node:sqlite without printing its ExperimentalWarning, and lets other warnings through', async () => {
    const src = fileURLToPath(new URL('../../src/hub/accounts/sessions.ts', import.meta.url));
    const code = [
      `const { SessionStore } = await import(${JSON.stringify(src)});`,
      `new SessionStore().close();`,
      `process.emitWarning('a warning of the embedding app', 'ExperimentalWarning');`,
    ].join('\n');
    const { stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      {
        timeout: 30_000,
      },
    );
    assert.doesNotMatch(stderr, /SQLite/);
    assert.match(stderr, /ExperimentalWarning: a warning of the embedding app/);
  });

  it('lives beside the users file by default', () => {
    assert.equal(defaultSessionsFile('/etc/camgate/users.json'), '/etc/camgate/users-sessions.sqlite');
    assert.equal(defaultSessionsFile('/etc/camgate/users.yaml'), '/etc/camgate/users-sessions.sqlite');
    assert.equal(defaultSessionsFile(undefined), undefined);
  });
});

describe('Hub viewer sign-in across a restart', () => {
  it('accepts the same cookie at a new Hub on the same files; sign-out ends it for good', async (t) => {
    const dir = await tempDir(t);
    const usersFile = join(dir, 'users.json');
    await addUser(usersFile, { ...ALICE, cameras: ['home/*'] });
    const start = (port: number): Promise<Hub> =>
      Hub.start({ listen: { port }, kurento: { port: 0 }, viewer: { usersFile } });

    const hub1 = await start(0);
    const port = Number(new URL(hub1.url).port);
    const origin = hub1.url;
    const res = await fetch(`${origin}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin },
      body: JSON.stringify(ALICE),
    });
    assert.equal(res.status, 200);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = (): Promise<Response> => fetch(`${origin}/`, { headers: { Cookie: cookie }, redirect: 'manual' });
    assert.equal((await page()).status, 200);
    await hub1.close();
    assert.equal((await stat(join(dir, 'users-sessions.sqlite'))).mode & 0o777, 0o600);

    const hub2 = await start(port);
    t.after(() => hub2.close());
    assert.equal((await page()).status, 200, 'still signed in after the restart');
    const out = await fetch(`${origin}/logout`, { method: 'POST', headers: { Cookie: cookie, Origin: origin } });
    assert.equal(out.status, 200);
    assert.equal((await page()).status, 303, 'signed out');
  });
});
