import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/util/index.js';
import { findNmap, nmapArgs, nmapVersion, parseNmapXml, runNmap } from '../../src/exposure/nmap.js';
import { closedPort, startHttpServer, startRtspServer } from '@camgate/test-helpers';

const fixture = (name: string): Promise<string> =>
  readFile(new URL(`../fixtures/nmap/${name}`, import.meta.url), 'utf8');

describe('nmap', () => {
  describe('parseNmapXml', () => {
    it('parses a captured -sV run whose open ports carry no <service> element', async () => {
      const run = parseNmapXml(await fixture('loopback-sV.xml'));
      assert.equal(run.version, '7.93');
      assert.equal(run.hosts.length, 1);
      assert.deepEqual(run.hosts[0]?.addresses, ['127.0.0.1']);
      assert.deepEqual(
        run.hosts[0]?.ports.map((p) => [p.port, p.state, p.service]),
        [
          [33217, 'open', undefined],
          [36145, 'open', undefined],
          [46437, 'closed', undefined],
        ],
      );
    });
    it('parses a captured connect scan with a <service> element', async () => {
      const run = parseNmapXml(await fixture('loopback-connect.xml'));
      const [closed, open] = run.hosts[0]?.ports ?? [];
      assert.deepEqual(closed, {
        protocol: 'tcp',
        port: 1,
        state: 'closed',
        reason: 'conn-refused',
        service: { name: 'tcpmux' },
      });
      assert.equal(open?.state, 'open');
      assert.equal(run.hosts[0]?.status, 'up');
    });
    it('rejects garbage, truncated and foreign XML with CAMGATE_EXPOSURE_NMAP_PARSE', async () => {
      const xml = await fixture('loopback-sV.xml');
      for (const bad of [
        '',
        'not xml at all \x00\xff',
        xml.slice(0, xml.length / 2),
        '<html><body/></html>',
        '<a><b></a>',
      ]) {
        assert.throws(
          () => parseNmapXml(bad),
          (e) => hasCode(e, 'CAMGATE_EXPOSURE_NMAP_PARSE'),
          JSON.stringify(bad.slice(0, 30)),
        );
      }
      assert.throws(
        () => parseNmapXml('<nmaprun/>'.padEnd(100, ' '), 50),
        (e) => hasCode(e, 'CAMGATE_EXPOSURE_NMAP_PARSE'),
      );
    });
    it('does not expand entities and skips ports with hostile values', () => {
      const run = parseNmapXml(
        '<!DOCTYPE x [<!ENTITY e "boom">]><nmaprun version="&e;"><host><ports>' +
          '<port protocol="tcp" portid="99999"><state state="open"/></port>' +
          '<port protocol="tcp" portid="80"/></ports></host></nmaprun>',
      );
      assert.equal(run.version, '&e;');
      assert.deepEqual(run.hosts[0]?.ports, [{ protocol: 'tcp', port: 80, state: 'unknown' }]);
    });
  });

  describe('nmapArgs', () => {
    it('builds an argument array with the target last after --', () => {
      assert.deepEqual(nmapArgs('127.0.0.1', [554, 80, 80], { timeoutMs: 30_000, serviceVersion: true }), [
        '-oX',
        '-',
        '-Pn',
        '-sT',
        '-n',
        '-p',
        '80,554',
        '--host-timeout',
        '30s',
        '-sV',
        '--version-light',
        '--',
        '127.0.0.1',
      ]);
      assert.deepEqual(nmapArgs('::1', [23], { timeoutMs: 1000, serviceVersion: false }).slice(-3), [
        '-6',
        '--',
        '::1',
      ]);
    });
    it('refuses injection-shaped targets', () => {
      for (const t of [
        '-oN /tmp/x',
        '-oN',
        'a b',
        '$(id)',
        ';rm',
        'x;rm -rf /',
        '`id`',
        'a|b',
        'host\n',
        '',
        '[::1]',
        'fe80::1%eth0',
        '1.2.3.4/8',
      ]) {
        assert.throws(
          () => nmapArgs(t, [80], { timeoutMs: 1000, serviceVersion: false }),
          (e) => hasCode(e, 'CAMGATE_EXPOSURE_TARGET_INVALID'),
          JSON.stringify(t),
        );
      }
    });
    it('refuses bad port lists', () => {
      assert.throws(() => nmapArgs('127.0.0.1', [], { timeoutMs: 1000, serviceVersion: false }), RangeError);
      assert.throws(() => nmapArgs('127.0.0.1', [0], { timeoutMs: 1000, serviceVersion: false }), RangeError);
    });
  });

  describe('live nmap against loopback', () => {
    it('finds nmap and reads its version', async () => {
      const p = await findNmap();
      assert.ok(p, 'nmap is installed on the test machine');
      assert.match(await nmapVersion(p), /^\d+\.\d+/);
      assert.equal(await findNmap(['/nonexistent-dir']), undefined);
    });
    it('reports open and closed loopback ports', async (t) => {
      const rtsp = await startRtspServer({ mode: 'open' });
      const web = await startHttpServer();
      t.after(() => Promise.all([rtsp.close(), web.close()]));
      const closed = await closedPort();
      const run = await runNmap('127.0.0.1', {
        nmapPath: (await findNmap()) as string,
        ports: [rtsp.port, web.port, closed],
        timeoutMs: 60_000,
      });
      const states = new Map(run.hosts.flatMap((h) => h.ports).map((p) => [p.port, p.state]));
      assert.equal(states.get(rtsp.port), 'open');
      assert.equal(states.get(web.port), 'open');
      assert.equal(states.get(closed), 'closed');
    });
    it('is cancelled by an AbortSignal (the child is killed)', async () => {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(
        runNmap('127.0.0.1', { nmapPath: (await findNmap()) as string, ports: [1], signal: ac.signal }),
        (e) => hasCode(e, 'CAMGATE_EXPOSURE_ABORTED'),
      );
      const ac2 = new AbortController();
      // -sV against a hanging port keeps nmap busy long enough to abort it mid-run.
      const p = runNmap('127.0.0.1', {
        nmapPath: (await findNmap()) as string,
        ports: [1, 2, 3],
        serviceVersion: true,
        signal: ac2.signal,
      });
      setImmediate(() => ac2.abort());
      await assert.rejects(p, (e) => hasCode(e, 'CAMGATE_EXPOSURE_ABORTED'));
    });
    it('maps a failing nmap to CAMGATE_EXPOSURE_NMAP_FAILED', async () => {
      await assert.rejects(runNmap('127.0.0.1', { nmapPath: '/bin/false', ports: [1] }), (e) =>
        hasCode(e, 'CAMGATE_EXPOSURE_NMAP_FAILED'),
      );
    });
  });
});
