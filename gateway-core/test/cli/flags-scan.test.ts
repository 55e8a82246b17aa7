import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FlagStore } from '../../src/alerts/index.js';
import { parsePortList } from '../../src/cli/scan.js';
import { hasCode } from '../../src/util/index.js';
import { closedPort, startRtspServer } from '@camgate/test-helpers';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function camgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function flagFile(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-flags-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'flags.jsonl');
  const store = await FlagStore.open({ path, clearAfterCleanScans: 1 });
  const scope = { source: 'hub' as const, gatewayId: 'home', kinds: ['exposed' as const] };
  const obs = {
    kind: 'exposed' as const,
    gatewayId: 'home',
    key: 'port-554',
    evidence: [
      { host: '198.51.100.7', port: 554, protocol: 'rtsp', banner: 'RTSP/1.0 200 OK', at: new Date().toISOString() },
    ],
    advice: 'Remove the port forward.',
    source: 'hub' as const,
  };
  await store.reconcile(scope, [obs]);
  await store.reconcile(scope, []);
  await store.reconcile(scope, [{ ...obs, key: 'port-23', evidence: [{ ...obs.evidence[0]!, port: 23 }] }]);
  await store.close();
  // A torn last line, as after a crash mid-write.
  await appendFile(path, '{"v":1,"type":"transi');
  return path;
}

describe('camgate flags', () => {
  it('lists the history oldest first and counts unreadable lines', async (t) => {
    const file = await flagFile(t);
    const r = await camgate(['flags', '--file', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /raised\s+exposed\s+home\s+198\.51\.100\.7:554 rtsp RTSP\/1\.0 200 OK/);
    assert.match(lines[1]!, /cleared\s+exposed/);
    assert.match(lines[2]!, /raised\s+exposed.*:23 /);
    assert.match(lines[3]!, /1 unreadable line/);
  });

  it('filters by --state and prints JSON with --json; --current shows flags as they are now', async (t) => {
    const file = await flagFile(t);
    const r = await camgate(['flags', '--file', file, '--state', 'cleared', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { transitions: { to: string; flag: { key: string } }[]; skippedLines: number };
    assert.deepEqual(
      out.transitions.map((x) => [x.to, x.flag.key]),
      [['cleared', 'port-554']],
    );
    assert.equal(out.skippedLines, 1);
    const cur = await camgate(['flags', '--file', file, '--current', '--state', 'raised', '--json']);
    const flags = (JSON.parse(cur.stdout) as { flags: { key: string; state: string }[] }).flags;
    assert.deepEqual(
      flags.map((f) => [f.key, f.state]),
      [['port-23', 'raised']],
    );
  });

  it('refuses a bad --state and a missing file with clear errors', async (t) => {
    const bad = await camgate(['flags', '--state', 'open']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--state open: use raised or cleared/);
    const dir = await mkdtemp(join(tmpdir(), 'camgate-flags-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const missing = await camgate(['flags', '--file', join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.jsonl.*CAMGATE_FLAG_STORE_IO/);
    const help = await camgate(['flags', '--help']);
    assert.match(help.stdout, /Usage:\n {2}camgate flags/);
  });
});

describe('camgate scan', () => {
  it('finds an open RTSP port with the built-in probes and exits 3', async (t) => {
    const rtsp = await startRtspServer({ mode: 'open' });
    t.after(() => rtsp.close());
    const closed = await closedPort();
    const r = await camgate([
      'scan',
      '127.0.0.1',
      '--ports',
      `${rtsp.port},${closed}`,
      '--engine',
      'builtin',
      '--json',
    ]);
    assert.equal(r.code, 3, r.stderr);
    const out = JSON.parse(r.stdout) as { engine: string; open: { port: number }[]; ports: number[] };
    assert.equal(out.engine, 'builtin');
    assert.deepEqual(
      out.open.map((o) => o.port),
      [rtsp.port],
    );
    assert.deepEqual(
      out.ports,
      [rtsp.port, closed].sort((x, y) => x - y),
    );
  });

  it('exits 0 with a one-line summary when nothing answers (nmap)', async () => {
    const closed = await closedPort();
    const r = await camgate(['scan', '127.0.0.1', '-p', String(closed), '--engine', 'nmap']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^camgate scan 127\.0\.0\.1: 1 port\(s\) with nmap \d+\.\d+, 0 open$/m);
  });

  it('refuses shell-shaped targets, bad ports and engines before sending anything', async () => {
    for (const args of [
      ['scan', '127.0.0.1;id'],
      ['scan', '-oN'],
      ['scan', '127.0.0.1', '--ports', '0'],
      ['scan', '127.0.0.1', '--engine', 'masscan'],
      ['scan'],
    ]) {
      const r = await camgate(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^camgate: /);
    }
    assert.deepEqual(parsePortList('554, 8000-8002'), [554, 8000, 8001, 8002]);
    assert.throws(
      () => parsePortList('1-65535'),
      (e: unknown) => hasCode(e, 'CAMGATE_USAGE'),
    );
    assert.throws(() => parsePortList('9-3'), /not a port/);
  });
});
