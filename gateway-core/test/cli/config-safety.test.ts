/**
 * Issue 12, findings 6 and 8: the CLI never leaves an invalid or half-written
 * configuration, refuses bad ids with the id rule, never echoes config values
 * in YAML errors, warns when a config holding secrets is readable by others,
 * and `--verbose` logs frames as `--help` says.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with its own XDG_CONFIG_HOME, so no test reads or writes the user's engine token. */
function camgate(args: string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: 60_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

/** Starts a long-running command, waits until stderr or stdout matches `ready`, then stops it with SIGTERM. */
async function runUntil(args: string[], env: Record<string, string>, ready: RegExp): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const seen = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = (): void => void (ready.test(stdout + stderr) && resolve(true));
      child.stdout.on('data', check);
      child.stderr.on('data', check);
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
  ]);
  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), 10_000).unref())]);
  if (code === -1) child.kill('SIGKILL');
  assert.ok(seen, `never saw ${ready}: ${stdout}${stderr}`);
  return { code, stdout, stderr };
}

describe('camgate CLI configuration safety', () => {
  const dirs: string[] = [];
  const tmp = async (): Promise<{ dir: string; env: Record<string, string> }> => {
    const dir = await mkdtemp(join(tmpdir(), 'camgate-cfg-'));
    dirs.push(dir);
    return { dir, env: { XDG_CONFIG_HOME: join(dir, 'xdg') } };
  };
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('add-camera with a bad --url writes nothing and exits 1 with the schema message', async () => {
    const { dir, env } = await tmp();
    const file = join(dir, 'gateway.yaml');
    const fresh = await camgate(
      ['gateway', 'add-camera', '-c', file, '--name', 'Porch', '--url', 'http://10.0.0.5/'],
      env,
    );
    assert.equal(fresh.code, 1);
    assert.match(fresh.stderr, /cameras\[0\]\.url: must be an rtsp:\/\/ or rtsps:\/\/ URL/);
    await assert.rejects(stat(file), { code: 'ENOENT' }, 'no file was created');

    const good = await camgate(
      ['gateway', 'add-camera', '-c', file, '--name', 'Porch', '--url', 'rtsp://10.0.0.5/s'],
      env,
    );
    assert.equal(good.code, 0, good.stderr);
    const before = await readFile(file, 'utf8');
    for (const url of ['http://10.0.0.6/', 'rtsp://admin:pw@10.0.0.6/s', 'rtsp://has space/']) {
      const bad = await camgate(['gateway', 'add-camera', '-c', file, '--name', 'Yard', '--url', url], env);
      assert.equal(bad.code, 1, url);
      assert.match(bad.stderr, /cameras\[1\]\.url: must/, url);
    }
    assert.equal(await readFile(file, 'utf8'), before, 'the file is unchanged');
    // And it still works: the next valid add succeeds (the old bug left a file every later add refused).
    const next = await camgate(
      ['gateway', 'add-camera', '-c', file, '--name', 'Yard', '--url', 'rtsp://10.0.0.6/s'],
      env,
    );
    assert.equal(next.code, 0, next.stderr);
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'written 0600: it holds secrets');
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary file left behind',
    );
  });

  it('hub add-gateway refuses ids against the id rule, writes nothing and prints no secret', async () => {
    const { dir, env } = await tmp();
    const file = join(dir, 'hub.yaml');
    for (const id of ['../evil', 'Home.Two', '-x', 'a/b', '']) {
      const r = await camgate(['hub', 'add-gateway', '-c', file, `--id=${id}`], env);
      assert.equal(r.code, 2, `${id}: ${r.stderr}`);
      if (id !== '')
        assert.match(r.stderr, /must be 1-63 letters, digits, "-" or "_", starting with a letter or digit/);
      assert.doesNotMatch(r.stdout, /secret:/);
      await assert.rejects(stat(file), { code: 'ENOENT' }, id);
    }
    const ok = await camgate(['hub', 'add-gateway', '-c', file, '--id', 'home-2'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('a YAML syntax error names the file, line and column, never the offending line', async () => {
    const { dir, env } = await tmp();
    const file = join(dir, 'gateway.yaml');
    const secret = 'Sup3r-Secret-Camera-Pass';
    await writeFile(
      file,
      `hub:\n  url: ws://127.0.0.1:1/tunnel\n  gatewayId: g\n  secret: "0123456789abcdef"\ncameras:\n  - id: a\n    password: "${secret}\n   name: [broken\n`,
      { mode: 0o600 },
    );
    for (const args of [
      ['gateway', '-c', file],
      ['gateway', 'add-camera', '-c', file, '--name', 'B', '--url', 'rtsp://10.0.0.9/'],
    ]) {
      const r = await camgate(args, env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: not valid YAML`));
      assert.ok(!r.stderr.includes(secret), r.stderr);
      assert.ok(!r.stderr.includes('password'), r.stderr);
    }
  });

  it('gateway and hub warn loudly when their config is readable by others', async () => {
    const { dir, env } = await tmp();
    const gw = join(dir, 'gateway.yaml');
    await writeFile(
      gw,
      'hub:\n  url: ws://127.0.0.1:1/tunnel\n  gatewayId: g\n  secret: "0123456789abcdef-secret"\ncameras: []\n',
    );
    await chmod(gw, 0o644);
    const g = await runUntil(['gateway', '-c', gw], env, /dialling/);
    assert.match(
      g.stderr,
      new RegExp(
        `WARNING: .*gateway\\.yaml holds secrets and can be read by every user of this machine; run: chmod 600`,
      ),
    );
    assert.ok(!g.stderr.includes('0123456789abcdef-secret'));

    const hub = join(dir, 'hub.yaml');
    await writeFile(hub, 'listen:\n  host: 127.0.0.1\n  port: 0\nkurento:\n  host: 127.0.0.1\n  port: 0\n');
    await chmod(hub, 0o640);
    const h = await runUntil(['hub', '-c', hub], env, /gateways dial/);
    assert.match(h.stderr, /WARNING: .*hub\.yaml holds secrets and can be read by its group/);

    await chmod(hub, 0o600);
    const quiet = await runUntil(['hub', '-c', hub], env, /gateways dial/);
    assert.doesNotMatch(quiet.stderr, /WARNING/);
  });

  it('engine keeps its token in a 0600 file and --verbose logs every frame without the token', async () => {
    const { dir, env } = await tmp();
    const tokenFile = join(dir, 'engine-token');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'engine', '--port', '0', '--verbose', '--token-file', tokenFile],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const listen = await Promise.race([
        new Promise<string>((resolve) => {
          child.stdout.on('data', () => {
            const m = /Kurento protocol at (ws:\/\/\S+)/.exec(out);
            if (m && /token created in/.test(out)) resolve(m[1]!);
          });
        }),
        new Promise<string>((_, reject) =>
          setTimeout(() => reject(new Error(`engine did not start: ${out}${err}`)), 30_000).unref(),
        ),
      ]);
      assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
      const token = (await readFile(tokenFile, 'utf8')).trim();
      const ws = new WebSocket(`${listen}?token=${token}`);
      const answer = await Promise.race([
        new Promise<string>((resolve, reject) => {
          ws.once('open', () =>
            ws.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping', params: { interval: 1000 } })),
          );
          ws.once('message', (d) => resolve(String(d)));
          ws.once('error', reject);
        }),
        new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no answer')), 10_000).unref()),
      ]);
      ws.terminate();
      assert.match(answer, /"pong"/);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(err, /DEBUG engine:conn received frame=.*\\"method\\":\\"ping\\"/);
      assert.match(err, /DEBUG engine:conn sent frame=.*\\"pong\\"/);
      assert.ok(!(out + err).includes(token), 'the token is never printed');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
