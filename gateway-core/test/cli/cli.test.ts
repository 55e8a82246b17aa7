import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function camgate(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=camgate-source', MAIN, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}

describe('camgate CLI', () => {
  const dirs: string[] = [];
  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'camgate-cli-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('prints help for every command and exits 0', async () => {
    for (const cmd of [[], ['hub'], ['gateway'], ['engine'], ['camera-sim']]) {
      const r = await camgate([...cmd, '--help']);
      assert.equal(r.code, 0, `${cmd.join(' ')} --help`);
      assert.match(r.stdout, /Usage/);
    }
  });

  it('rejects an unknown command with exit code 2', async () => {
    const r = await camgate(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  it('rejects an unknown option by name', async () => {
    const r = await camgate(['engine', '--colour', 'blue']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--colour/);
  });

  it('add-gateway stores only a verifier and prints the secret once', async () => {
    const d = await tmp();
    const r = await camgate(['hub', 'add-gateway', '--config', join(d, 'hub.yaml'), '--id', 'home', '--name', 'Home']);
    assert.equal(r.code, 0, r.stderr);
    const secret = /secret: (\S+)/.exec(r.stdout)?.[1];
    assert.ok(secret && secret.length >= 32);
    const yaml = await readFile(join(d, 'hub.yaml'), 'utf8');
    assert.match(yaml, /id: home/);
    assert.match(yaml, /secretHash: scram-scrypt\$/);
    assert.equal(yaml.includes(secret), false, 'the secret itself is not stored');
    const again = await camgate(['hub', 'add-gateway', '--config', join(d, 'hub.yaml'), '--id', 'home']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /gateway "home" already exists/);
  });

  it('add-camera keeps credentials in gateway.yaml and reads the password from stdin', async () => {
    const d = await tmp();
    const file = join(d, 'gw.yaml');
    const r = await camgate(
      [
        'gateway',
        'add-camera',
        '-c',
        file,
        '--name',
        'Front Door',
        '--url',
        'rtsp://10.0.0.5/s1',
        '--username',
        'admin',
        '--password-stdin',
      ],
      'pa55word-xyz\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /camera:\/\/front-door/);
    assert.equal(r.stdout.includes('pa55word-xyz'), false);
    const yaml = await readFile(file, 'utf8');
    assert.match(yaml, /password: pa55word-xyz/);
  });

  it('names the bad field of an invalid configuration', async () => {
    const d = await tmp();
    const file = join(d, 'gw.yaml');
    await writeFile(
      file,
      'hub: {url: "ws://127.0.0.1:1/tunnel", gatewayId: g, secret: "0123456789abcdef"}\ncameras:\n  - {id: a, name: A, url: "http://x/"}\n',
    );
    const r = await camgate(['gateway', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cameras\[0\]\.url: must be an rtsp:\/\/ or rtsps:\/\/ URL/);
    assert.match(r.stderr, /\[CAMGATE_CONFIG\]/);
  });
});

describe('camgate demo', () => {
  it('starts every part, prints the address and a password, and stops cleanly on SIGINT', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=camgate-source',
        MAIN,
        'demo',
        '--port',
        '0',
        '--width',
        '320',
        '--height',
        '240',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('Press Ctrl-C') && resolve());
      child.once('exit', (code) => reject(new Error(`demo exited early (${code}): ${out}`)));
    });
    const url = /Open\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    const password = /Password\s+(\S+)/.exec(out)?.[1];
    assert.ok(url && password && password.length >= 16, out);
    const login = await fetch(new URL('/login', url), { redirect: 'manual' });
    assert.equal(login.status, 200, 'the sign-in page is served');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(out, /stopping/);
  });
});

describe('camgate hub add-user', () => {
  it('adds a viewer account with a generated password and refuses a bad grant', async () => {
    const d = await mkdtemp(join(tmpdir(), 'camgate-cli-'));
    try {
      const hubYaml = join(d, 'hub.yaml');
      await writeFile(hubYaml, `viewer:\n  usersFile: ${join(d, 'users.json')}\n`);
      const r = await camgate(['hub', 'add-user', '-c', hubYaml, '--name', 'alice', '--cameras', 'home/*, home/porch']);
      assert.equal(r.code, 0, r.stderr);
      const password = /Password \(shown only now\): (\S+)/.exec(r.stdout)?.[1];
      assert.ok(password && password.length >= 16);
      const users = await readFile(join(d, 'users.json'), 'utf8');
      assert.match(users, /alice/);
      assert.equal(users.includes(password), false, 'only a hash of the password is stored');
      const bad = await camgate(['hub', 'add-user', '-c', hubYaml, '--name', 'bob', '--cameras', 'no-slash']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /cameras/);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
