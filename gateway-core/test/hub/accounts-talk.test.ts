/**
 * The per-user talk setting (issue 15): off by default and for users files written before it existed, set with
 * `camgate hub add-user --talk` or `camgate hub set-talk NAME on|off`, and only together with a camera grant.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addUser, loadUsers, mayTalk, setUserTalk } from '../../src/hub/accounts/index.js';
import { hasCode } from '../../src/util/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function camgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=camgate-source', MAIN, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-talk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('talk permission', () => {
  it('is off for a new user and for a users file written before the setting existed', async (t) => {
    const file = join(await tempDir(t), 'users.json');
    await addUser(file, { name: 'alice', password: 'alice-password', cameras: ['home/*'] });
    assert.equal((await loadUsers(file))[0]!.talk, false);
    assert.doesNotMatch(await readFile(file, 'utf8'), /talk/, 'nothing written for the default');
    const old = { users: [{ name: 'bob', passwordHash: 'scrypt$x', cameras: ['home/porch'] }] };
    await writeFile(file, JSON.stringify(old));
    const [bob] = await loadUsers(file);
    assert.equal(bob!.talk, false);
    assert.equal(mayTalk(bob!, 'home', 'porch'), false);
  });

  it('is stored by addUser and setUserTalk, and needs a camera grant as well', async (t) => {
    const file = join(await tempDir(t), 'users.yaml');
    await addUser(file, { name: 'carol', password: 'carol-password', cameras: ['home/porch'], talk: true });
    let [carol] = await loadUsers(file);
    assert.equal(carol!.talk, true);
    assert.equal(mayTalk(carol!, 'home', 'porch'), true);
    assert.equal(mayTalk(carol!, 'home', 'garden'), false, 'talking needs the camera grant too');
    await setUserTalk(file, 'carol', false);
    [carol] = await loadUsers(file);
    assert.equal(carol!.talk, false);
    assert.equal(carol!.cameras[0], 'home/porch', 'the rest of the account is kept');
    await assert.rejects(setUserTalk(file, 'nobody', true), (e) => hasCode(e, 'CAMGATE_USER_UNKNOWN'));
    await assert.rejects(setUserTalk(file, 'carol', 'yes' as never), TypeError);
    await assert.rejects(addUser(file, { name: 'dan', cameras: [], talk: 1 as never }), TypeError);
    await writeFile(file, 'users:\n  - name: eve\n    passwordHash: scrypt$x\n    talk: "yes"\n');
    await assert.rejects(loadUsers(file), /users\[0\]\.talk/);
  });

  it('is set from the CLI: add-user --talk, set-talk NAME on|off, and said in plain words', async (t) => {
    const d = await tempDir(t);
    const hubYaml = join(d, 'hub.yaml');
    const usersFile = join(d, 'users.json');
    await writeFile(hubYaml, `viewer:\n  usersFile: ${usersFile}\n`);
    const add = await camgate(['hub', 'add-user', '-c', hubYaml, '--name', 'alice', '--cameras', 'home/*', '--talk']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /may talk through these cameras/);
    assert.equal((await loadUsers(usersFile))[0]!.talk, true);
    const plain = await camgate(['hub', 'add-user', '-c', hubYaml, '--name', 'bob', '--cameras', 'home/*']);
    assert.match(plain.stdout, /may not talk through them \(camgate hub set-talk\)/);
    const off = await camgate(['hub', 'set-talk', '-c', hubYaml, '--name', 'alice', 'off']);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /"alice" may no longer talk/);
    assert.equal((await loadUsers(usersFile))[0]!.talk, false);
    const on = await camgate(['hub', 'set-talk', '-c', hubYaml, '--name', 'bob', 'on']);
    assert.match(on.stdout, /"bob" may now talk/);
    const bad = await camgate(['hub', 'set-talk', '-c', hubYaml, '--name', 'bob', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"on" or "off"/);
    const unknown = await camgate(['hub', 'set-talk', '-c', hubYaml, '--name', 'zed', 'on']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /zed does not exist/);
    const help = await camgate(['hub', '--help']);
    assert.match(help.stdout, /set-talk/);
  });
});
