import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagStore } from '../../src/alerts/flag-store.js';
import { flagId, type FlagObservation, type FlagTransition } from '../../src/alerts/flag.js';
import { adviceFor } from '../../src/alerts/advice.js';
import { createLogger, memorySink } from '../../src/util/index.js';

/** A clock that advances one second per call, so timestamps are exact and ordered. */
function clock(start = Date.parse('2025-01-01T00:00:00Z')): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

function exposed(port: number, cameraId = 'cam1', banner = 'RTSP/1.0 200 OK'): FlagObservation {
  return {
    kind: 'exposed',
    gatewayId: 'gw1',
    cameraId,
    key: String(port),
    evidence: [{ host: '203.0.113.7', port, protocol: 'rtsp', banner, at: '2025-01-01T00:00:00.000Z' }],
    advice: adviceFor('exposed', { port, protocol: 'RTSP' }),
    source: 'hub',
  };
}

const hubScope = { source: 'hub' as const, gatewayId: 'gw1', kinds: ['exposed' as const] };

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-flags-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('FlagStore', () => {
  describe('#reconcile', () => {
    it('raises a new flag once and does not re-alert on later scans that see it again', async (t) => {
      const store = await FlagStore.open({ now: clock() });
      t.after(() => store.close());
      const events: FlagTransition[] = [];
      store.on('transition', (e) => events.push(e));
      const first = await store.reconcile(hubScope, [exposed(554)]);
      assert.equal(first.length, 1);
      assert.equal(first[0]!.from, 'clear');
      assert.equal(first[0]!.to, 'raised');
      assert.equal(first[0]!.flag.id, flagId('exposed', 'gw1', 'cam1', '554'));
      const second = await store.reconcile(hubScope, [exposed(554, 'cam1', 'RTSP/1.0 401')]);
      assert.deepEqual(second, []);
      assert.equal(events.length, 1);
      const [f] = store.list();
      assert.equal(f!.state, 'raised');
      assert.equal(f!.evidence[0]!.banner, 'RTSP/1.0 401', 'evidence refreshed');
      assert.equal(f!.raisedAt, '2025-01-01T00:00:01.000Z');
      assert.equal(f!.lastSeen, '2025-01-01T00:00:02.000Z');
    });

    it('clears only after clearAfterCleanScans clean scans, and a sighting in between resets the count', async (t) => {
      const store = await FlagStore.open({ now: clock(), clearAfterCleanScans: 2 });
      t.after(() => store.close());
      await store.reconcile(hubScope, [exposed(554)]);
      assert.deepEqual(await store.reconcile(hubScope, []), []);
      assert.equal(store.list()[0]!.cleanScans, 1);
      await store.reconcile(hubScope, [exposed(554)]);
      assert.equal(store.list()[0]!.cleanScans, 0);
      assert.deepEqual(await store.reconcile(hubScope, []), []);
      const cleared = await store.reconcile(hubScope, []);
      assert.equal(cleared.length, 1);
      assert.equal(cleared[0]!.from, 'raised');
      assert.equal(cleared[0]!.to, 'cleared');
      assert.equal(cleared[0]!.flag.clearedAt, cleared[0]!.at);
      assert.deepEqual(await store.reconcile(hubScope, []), [], 'a cleared flag does not clear again');
      const again = await store.reconcile(hubScope, [exposed(554)]);
      assert.equal(again[0]!.from, 'cleared');
      assert.equal(again[0]!.flag.firstSeen, '2025-01-01T00:00:01.000Z', 'firstSeen survives a re-raise');
      assert.equal(again[0]!.flag.clearedAt, undefined);
    });

    it('leaves flags outside the scope alone (other kind, source or camera)', async (t) => {
      const store = await FlagStore.open({ now: clock(), clearAfterCleanScans: 1 });
      t.after(() => store.close());
      const telnet: FlagObservation = { ...exposed(23), kind: 'telnet-open', source: 'gateway' };
      await store.raise(telnet);
      await store.reconcile(hubScope, [exposed(554, 'cam1'), exposed(554, 'cam2')]);
      const t2 = await store.reconcile({ ...hubScope, cameraId: 'cam1' }, []);
      assert.equal(t2.length, 1);
      assert.equal(t2[0]!.flag.cameraId, 'cam1');
      assert.equal(store.list({ state: 'raised' }).length, 2);
      assert.equal(store.list({ kind: 'telnet-open' })[0]!.state, 'raised');
    });

    it('refuses observations outside the scope and invalid observations', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      assert.throws(() => store.reconcile({ ...hubScope, cameraId: 'cam9' }, [exposed(554)]), RangeError);
      assert.throws(() => store.reconcile(hubScope, [{ ...exposed(554), kind: 'bogus' as 'exposed' }]), /kind/);
      assert.throws(
        () => store.reconcile(hubScope, [{ ...exposed(554), gatewayId: 'gw1' } as FlagObservation, null as never]),
        TypeError,
      );
      const badPort = exposed(554);
      badPort.evidence[0]!.port = 70000;
      assert.throws(() => store.reconcile(hubScope, [badPort]), /evidence\[0\]\.port/);
      assert.throws(() => store.reconcile({ ...hubScope, kinds: ['nope' as 'exposed'] }, []), RangeError);
      assert.equal(store.list().length, 0);
    });
  });

  describe('evidence sanitising', () => {
    it('escapes control characters, cuts long banners and removes URL credentials', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const hostile = exposed(80, 'cam1', `HTTP/1.1 200\r\n\x1b[31mfake log line\x00${'A'.repeat(5000)}`);
      hostile.evidence[0]!.detail = 'redirects to rtsp://admin:hunter22@192.168.1.20:554/live';
      await store.raise(hostile);
      const ev = store.list()[0]!.evidence[0]!;
      assert.ok(ev.banner!.startsWith('HTTP/1.1 200\\r\\n\\x1b[31mfake log line\\x00AAA'), ev.banner);
      assert.equal(ev.banner!.length, 512);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(ev.banner!, /[\u0000-\u001f]/);
      assert.equal(ev.detail, 'redirects to rtsp://[redacted]@192.168.1.20:554/live');
      assert.doesNotMatch(JSON.stringify(store.list()), /hunter22/);
    });

    it('keeps only the most recent 16 evidence items', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const obs = exposed(554);
      obs.evidence = Array.from({ length: 40 }, (_, i) => ({ host: `h${i}`, at: '2025-01-01T00:00:00Z' }));
      await store.raise(obs);
      const ev = store.list()[0]!.evidence;
      assert.equal(ev.length, 16);
      assert.equal(ev[15]!.host, 'h39');
    });
  });

  describe('#raise and #apply', () => {
    it('raise de-duplicates: the second raise of the same flag is no transition', async (t) => {
      const store = await FlagStore.open({ now: clock() });
      t.after(() => store.close());
      assert.equal((await store.raise(exposed(554)))?.to, 'raised');
      assert.equal(await store.raise(exposed(554)), undefined);
      assert.equal(store.history().length, 1);
    });

    it('apply adopts a hub flag, transitions on a change of state only, and rejects a forged id', async (t) => {
      const hub = await FlagStore.open({ now: clock(), clearAfterCleanScans: 1 });
      const gw = await FlagStore.open({ now: clock() });
      t.after(() => Promise.all([hub.close(), gw.close()]));
      const raised = (await hub.reconcile(hubScope, [exposed(554)]))[0]!;
      const a = await gw.apply(raised.flag);
      assert.deepEqual([a?.from, a?.to, a?.at], ['clear', 'raised', raised.flag.raisedAt]);
      assert.equal(await gw.apply(raised.flag), undefined, 'same state: no re-alert');
      const cleared = (await hub.reconcile(hubScope, []))[0]!;
      const c = await gw.apply(cleared.flag);
      assert.deepEqual([c?.from, c?.to], ['raised', 'cleared']);
      assert.deepEqual(gw.list(), hub.list());
      await assert.rejects(
        async () => gw.apply({ ...raised.flag, id: 'exposed.other.554.000000000000' }),
        /does not match/,
      );
      await assert.rejects(async () => gw.apply({ ...raised.flag, state: 'maybe' as 'raised' }), TypeError);
    });

    it('refuses new flags past maxFlags once no cleared flag can be forgotten', async (t) => {
      const store = await FlagStore.open({ maxFlags: 2, clearAfterCleanScans: 1 });
      t.after(() => store.close());
      await store.reconcile(hubScope, [exposed(1), exposed(2)]);
      await assert.rejects(store.raise(exposed(3)), { code: 'CAMGATE_FLAG_LIMIT' });
      await store.reconcile({ ...hubScope, cameraId: 'cam1' }, [exposed(2)]); // clears port 1
      await store.raise(exposed(3));
      assert.deepEqual(
        store
          .list()
          .map((f) => f.key)
          .sort(),
        ['2', '3'],
      );
    });
  });

  describe('persistence', () => {
    it('restores state after close/reopen without re-alerting', async (t) => {
      const dir = await tempDir(t);
      const path = join(dir, 'flags.jsonl');
      const s1 = await FlagStore.open({ path, now: clock(), clearAfterCleanScans: 1 });
      await s1.reconcile(hubScope, [exposed(554), exposed(80)]);
      await s1.reconcile(hubScope, [exposed(554)]);
      const before = s1.list();
      await s1.close();
      await s1.close(); // idempotent
      await assert.rejects(s1.raise(exposed(1)), { code: 'CAMGATE_FLAG_STORE_CLOSED' });

      const s2 = await FlagStore.open({
        path,
        now: clock(Date.parse('2025-02-01T00:00:00Z')),
        clearAfterCleanScans: 1,
      });
      t.after(() => s2.close());
      const events: FlagTransition[] = [];
      s2.on('transition', (e) => events.push(e));
      assert.deepEqual(s2.list(), before);
      assert.equal(s2.history().length, 3);
      assert.deepEqual(await s2.reconcile(hubScope, [exposed(554)]), []);
      assert.deepEqual(events, []);
    });

    it('ignores a torn last line with a warning and keeps appending on a line of its own', async (t) => {
      const dir = await tempDir(t);
      const path = join(dir, 'flags.jsonl');
      const s1 = await FlagStore.open({ path, now: clock() });
      await s1.raise(exposed(554));
      await s1.close();
      await appendFile(path, '{"v":1,"type":"transition","transition":{"flag":{"id":"exp');
      const sink = memorySink();
      const s2 = await FlagStore.open({ path, now: clock(), logger: createLogger('t', sink) });
      assert.equal(s2.list().length, 1);
      assert.ok(sink.records.some((r) => r.level === 'warn' && /torn last line/.test(r.msg)));
      await s2.raise(exposed(80));
      await s2.close();
      const s3 = await FlagStore.open({ path });
      t.after(() => s3.close());
      assert.equal(s3.list().length, 2);
      const lines = (await readFile(path, 'utf8')).split('\n');
      assert.equal(lines.pop(), '');
      for (const l of lines) JSON.parse(l);
    });

    it('skips corrupt and hostile lines in the middle with a warning', async (t) => {
      const dir = await tempDir(t);
      const path = join(dir, 'flags.jsonl');
      const s1 = await FlagStore.open({ path, now: clock() });
      await s1.raise(exposed(554));
      await s1.close();
      const good = await readFile(path, 'utf8');
      const forged = JSON.stringify({
        v: 1,
        type: 'flag',
        flag: { ...JSON.parse(good.trim()).transition.flag, id: 'forged' },
      });
      await writeFile(path, `garbage\n{"v":2}\n${forged}\n${'x'.repeat(2_000_000)}\n${good}`);
      const sink = memorySink();
      const s2 = await FlagStore.open({ path, logger: createLogger('t', sink) });
      t.after(() => s2.close());
      assert.equal(s2.list().length, 1);
      assert.equal(s2.list()[0]!.id, flagId('exposed', 'gw1', 'cam1', '554'));
      assert.equal(sink.records.filter((r) => /skipping corrupt line/.test(r.msg)).length, 4);
    });

    it('compacts the file once it grows past compactAfterLines and keeps state and history', async (t) => {
      const dir = await tempDir(t);
      const path = join(dir, 'flags.jsonl');
      const s1 = await FlagStore.open({ path, now: clock(), compactAfterLines: 20, historyLimit: 5 });
      for (let i = 0; i < 50; i++) await s1.reconcile(hubScope, [exposed(554), exposed(80)]);
      const lines = (await readFile(path, 'utf8')).trim().split('\n');
      assert.ok(lines.length <= 21, `file has ${lines.length} lines after compaction`);
      const state = s1.list();
      await s1.close();
      const s2 = await FlagStore.open({ path });
      t.after(() => s2.close());
      assert.deepEqual(s2.list(), state);
      assert.equal(s2.history().length, 2);
      assert.equal(s2.list()[0]!.lastSeen, state[0]!.lastSeen);
    });
  });

  describe('options', () => {
    it('validates options, naming the option and the value', async () => {
      await assert.rejects(
        FlagStore.open({ clearAfterCleanScans: 0 }),
        /clearAfterCleanScans must be an integer >= 1, got 0/,
      );
      await assert.rejects(FlagStore.open({ maxFlags: '3' as unknown as number }), TypeError);
      await assert.rejects(FlagStore.open({ path: '' }), TypeError);
    });
  });
});

describe('adviceFor', () => {
  it('writes plain words per kind, naming the port and protocol', () => {
    const text = adviceFor('exposed', { port: 554, protocol: 'RTSP' });
    assert.match(text, /^Port 554 on your home's public address answers RTSP from the internet/);
    assert.match(text, /Remove the port forward on your router/);
    assert.match(
      adviceFor('upnp-mapping', { port: 8080, cameraName: 'Porch' }),
      /sends port 8080 from the internet to the camera "Porch"/,
    );
    for (const k of ['telnet-open', 'default-credentials', 'direct-connection'] as const)
      assert.ok(adviceFor(k).length > 40);
  });
});
