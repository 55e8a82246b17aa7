import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  parseConntrackXml,
  parseProcConntrack,
  readConntrack,
  ScanDetector,
  type ConntrackFlow,
} from '../../../src/exposure/canary/index.js';
import { hasCode } from '../../../src/util/index.js';

const fixture = (name: string): Promise<string> =>
  readFile(new URL(`../../fixtures/conntrack/${name}`, import.meta.url), 'utf8');
const CAMERA = '10.233.1.2';

describe('conntrack', () => {
  describe('parseConntrackXml', () => {
    it('reads the original direction, protocol, state and UNREPLIED of recorded flows', async () => {
      const flows = parseConntrackXml(await fixture('lan-mixed.xml'));
      assert.equal(flows.length, 6);
      assert.deepEqual(flows[0], {
        protocol: 'tcp',
        src: '10.233.1.2',
        dst: '10.233.2.2',
        sport: 32856,
        dport: 23,
        state: 'CLOSE_WAIT',
        unreplied: false,
      });
      assert.deepEqual(flows[1], {
        protocol: 'udp',
        src: '10.233.1.2',
        dst: '10.233.2.2',
        sport: 48668,
        dport: 123,
        unreplied: false,
      });
      const syn = flows.filter((f) => f.state === 'SYN_SENT');
      assert.equal(syn.length, 3);
      assert.ok(syn.every((f) => f.unreplied));
    });

    it('stops at maxFlows, and skips garbage, truncated and hostile flows without throwing', async () => {
      const xml = await fixture('scanner.xml');
      assert.equal(parseConntrackXml(xml).length, 43);
      assert.equal(parseConntrackXml(xml, 5).length, 5);
      // Cut in the middle of a flow: the complete ones before the cut are kept.
      assert.equal(parseConntrackXml(xml.slice(0, xml.indexOf('</flow>', 2000) + 7)).length > 0, true);
      assert.deepEqual(parseConntrackXml(xml.slice(0, 300)), []);
      assert.deepEqual(parseConntrackXml('\u0000\u00ff<<<flow>>>'), []);
      const hostile =
        '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>$(reboot)</src><dst>10.0.0.1</dst></layer3>' +
        '<layer4 protonum="6" protoname="tcp"><sport>1</sport><dport>99999</dport></layer4></meta></flow>' +
        `<flow>${'x'.repeat(100_000)}</flow>`;
      assert.deepEqual(parseConntrackXml(hostile), []);
    });
  });

  describe('parseProcConntrack', () => {
    it('reads /proc/net/nf_conntrack lines like the XML of the same table', async () => {
      const proc = parseProcConntrack(await fixture('scanner.proc'));
      const tcp = proc.filter((f) => f.protocol === 'tcp');
      assert.ok(tcp.length >= 40);
      const first = tcp.find((f) => f.dst === '10.233.2.130')!;
      assert.deepEqual(first, {
        protocol: 'tcp',
        src: '10.233.1.2',
        dst: '10.233.2.130',
        sport: 59758,
        dport: 2323,
        state: 'SYN_SENT',
        unreplied: true,
      });
      assert.deepEqual(parseProcConntrack('garbage\nipv4 2 tcp 6 1 X src=nope dst=1.2.3.4\n'), []);
      assert.equal(parseProcConntrack(await fixture('scanner.proc'), 3).length, 3);
    });
  });

  describe('readConntrack', () => {
    it('runs the binary with an argument array and keeps only complete flows within maxBytes', async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'camgate-conntrack-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const xml = await fixture('scanner.xml');
      const bin = join(dir, 'conntrack');
      // A stand-in for conntrack-tools that records its arguments and prints a recorded table.
      await writeFile(
        bin,
        `#!/bin/sh\nprintf '%s\\n' "$@" > ${join(dir, 'args')}\ncat ${new URL('../../fixtures/conntrack/scanner.xml', import.meta.url).pathname}\n`,
      );
      await chmod(bin, 0o755);
      const all = await readConntrack({ binary: bin });
      assert.equal(all.length, 43);
      assert.deepEqual((await readFile(join(dir, 'args'), 'utf8')).trim().split('\n'), [
        '-L',
        '-p',
        'tcp',
        '-o',
        'xml',
      ]);
      const cut = await readConntrack({ binary: bin, maxBytes: 4000 });
      assert.ok(cut.length > 0 && cut.length < 43, `${cut.length} flows within 4000 bytes`);
      assert.ok(xml.length > 4000);
    });

    it('reads the proc file, and fails with CAMGATE_CONNTRACK when nothing can be read', async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'camgate-conntrack-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const proc = join(dir, 'nf_conntrack');
      await writeFile(proc, await fixture('busy-camera.proc'));
      assert.equal((await readConntrack({ source: 'proc', procPath: proc })).length, 26);
      await assert.rejects(readConntrack({ source: 'proc', procPath: join(dir, 'missing') }), (e: Error) =>
        hasCode(e, 'CAMGATE_CONNTRACK'),
      );
      await assert.rejects(
        readConntrack({ binary: join(dir, 'no-such-conntrack') }),
        (e: Error) => hasCode(e, 'CAMGATE_CONNTRACK') && /install conntrack-tools/.test(e.message),
      );
      await assert.rejects(readConntrack({ source: 'nope' as 'proc' }), { name: 'RangeError' });
    });
  });

  describe('ScanDetector', () => {
    const watched = new Set([CAMERA]);

    it('flags the recorded scanner: 40 addresses on 23/2323', async () => {
      const d = new ScanDetector();
      const [f, ...rest] = d.observe(parseConntrackXml(await fixture('scanner.xml')), watched);
      assert.equal(rest.length, 0);
      assert.equal(f!.source, CAMERA);
      assert.equal(f!.reason, 'scan');
      assert.ok(f!.destinations >= 40);
      assert.deepEqual(f!.ports, [23, 2323]);
      assert.equal(f!.examples.length, 8);
    });

    it('never flags the recorded busy camera (viewer, cloud HTTPS, NTP, DNS, UDP P2P to 20 peers)', async () => {
      const d = new ScanDetector();
      for (const name of ['busy-camera.xml']) {
        for (let i = 0; i < 10; i++) assert.deepEqual(d.observe(parseConntrackXml(await fixture(name)), watched), []);
      }
      assert.deepEqual(d.observe(parseProcConntrack(await fixture('busy-camera.proc')), watched), []);
    });

    it('ignores sources it does not watch, and forgets destinations older than the window', async () => {
      const flows = parseConntrackXml(await fixture('scanner.xml'));
      assert.deepEqual(new ScanDetector().observe(flows, new Set(['10.233.1.9'])), []);
      const d = new ScanDetector({ windowMs: 1000, distinctDestinations: 30 });
      const half = flows.slice(0, 20);
      assert.deepEqual(d.observe(half, watched, 0), []);
      assert.deepEqual(d.observe(flows.slice(20), watched, 5000), [], 'the first half left the window');
      assert.equal(d.observe(flows, watched, 5500).length, 1, 'all 40 within one window');
      assert.deepEqual(d.observe(flows, watched, 5600), [], 'nothing new: the same scan is not reported twice');
    });

    it('flags any telnet connection to a public address, even one', () => {
      const flow: ConntrackFlow = {
        protocol: 'tcp',
        src: CAMERA,
        dst: '198.51.100.23',
        sport: 40000,
        dport: 23,
        state: 'ESTABLISHED',
        unreplied: false,
      };
      const [f] = new ScanDetector().observe([flow], watched);
      assert.equal(f?.reason, 'telnet-to-internet');
      assert.deepEqual(f?.examples, ['198.51.100.23:23']);
      // The same to a LAN address is one destination, below the scan threshold.
      assert.deepEqual(new ScanDetector().observe([{ ...flow, dst: '10.233.2.2' }], watched), []);
    });

    it('names bad options', () => {
      assert.throws(
        () => new ScanDetector({ distinctDestinations: 0 }),
        /distinctDestinations must be an integer >= 1/,
      );
      assert.throws(() => new ScanDetector({ scannerPorts: [0] }), /scannerPorts must be a list of TCP ports/);
    });
  });
});
