import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CanaryInbox, CanaryReporter, type CanaryReport } from '../../../src/exposure/index.js';
import { hasCode } from '../../../src/util/index.js';
import { until, within } from '@camgate/test-helpers';

const REPORT = {
  source: '10.0.0.9',
  port: 23,
  at: '2026-01-01T00:00:00.000Z',
  firstBytes: 'root\\r\\n',
  suppressed: 0,
};

async function tempSocket(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-canary-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'canary.sock');
}

describe('canary report socket', () => {
  it('delivers reports from CanaryReporter to CanaryInbox; the socket is mode 0600', async (t) => {
    const path = await tempSocket(t);
    const inbox = await CanaryInbox.open({ path });
    t.after(() => inbox.close());
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const got: CanaryReport[] = [];
    inbox.on('report', (r) => got.push(r));
    const reporter = new CanaryReporter({ path });
    t.after(() => reporter.close());
    reporter.send(REPORT);
    await until(
      () => got.length,
      (n) => n === 1,
      10_000,
      'the report',
    );
    assert.deepEqual(got[0], { v: 1, type: 'attempt', ...REPORT });
  });

  it('queues (bounded) while the gateway is away and delivers on reconnect', async (t) => {
    const path = await tempSocket(t);
    const reporter = new CanaryReporter({ path, reconnectMs: 50, queueLimit: 3 });
    t.after(() => reporter.close());
    for (let i = 0; i < 5; i++) reporter.send({ ...REPORT, port: 1000 + i });
    assert.equal(reporter.dropped, 2);
    const inbox = await CanaryInbox.open({ path });
    t.after(() => inbox.close());
    const got: number[] = [];
    inbox.on('report', (r) => got.push(r.port));
    await until(
      () => got.length,
      (n) => n === 3,
      10_000,
      'the queued reports',
    );
    assert.deepEqual(got, [1002, 1003, 1004], 'the oldest were dropped');
  });

  it('refuses garbage, wrong shapes and oversized lines without stopping', async (t) => {
    const path = await tempSocket(t);
    const inbox = await CanaryInbox.open({ path });
    t.after(() => inbox.close());
    const rejected: string[] = [];
    const got: CanaryReport[] = [];
    inbox.on('rejected', (r) => rejected.push(r.reason));
    inbox.on('report', (r) => got.push(r));
    const s = connect(path);
    s.on('error', () => undefined);
    await once(s, 'connect');
    s.write('not json\n');
    s.write(`${JSON.stringify({ ...REPORT, v: 1, type: 'attempt', port: 70000 })}\n`);
    s.write(`${JSON.stringify({ v: 1, type: 'attempt', ...REPORT, source: 'x'.repeat(500) })}\n`);
    s.write(`${JSON.stringify({ v: 1, type: 'attempt', ...REPORT })}\n`);
    await until(
      () => rejected.length + got.length,
      (n) => n === 4,
      10_000,
      'four lines handled',
    );
    assert.equal(got.length, 1);
    assert.equal(rejected[0], 'not JSON');
    assert.match(rejected[1]!, /port/);
    // A line without an end that outgrows the limit disconnects the writer.
    s.write('x'.repeat(10_000));
    await within(once(s, 'close'), 10_000, 'the oversized writer to be disconnected');
    assert.match(rejected.at(-1)!, /longer than 4096 bytes/);
  });

  it('replaces a stale socket, never another file; close() removes it (idempotent)', async (t) => {
    const path = await tempSocket(t);
    // A socket left behind by a process that did not clean up.
    const stale = createServer().listen(path);
    await once(stale, 'listening');
    t.after(() => new Promise<void>((r) => stale.close(() => r())));
    const b = await CanaryInbox.open({ path });
    await b.close();
    await b.close();
    await assert.rejects(stat(path), { code: 'ENOENT' });
    await assert.rejects(CanaryInbox.open({ path: '' }), { name: 'TypeError' });
    await writeFile(path, 'precious');
    await assert.rejects(CanaryInbox.open({ path }), (e: Error) => hasCode(e, 'CAMGATE_CANARY_SOCKET'));
    assert.equal(await readFile(path, 'utf8'), 'precious');
  });
});
