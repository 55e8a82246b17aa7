import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeHttp } from '../../src/exposure/probes/http.js';
import { probeRtsp } from '../../src/exposure/probes/rtsp.js';
import { probeTcp } from '../../src/exposure/probes/tcp.js';
import { probeTelnet, TelnetFilter } from '../../src/exposure/probes/telnet.js';
import { toPrintable } from '../../src/exposure/printable.js';
import {
  closedPort,
  startGarbageServer,
  startHangServer,
  startHttpServer,
  startRtspServer,
  startTelnetServer,
} from '@camgate/test-helpers';

const HOST = '127.0.0.1';

describe('probes', () => {
  describe('probeTcp', () => {
    it('reports an accepting port as open', async (t) => {
      const s = await startHangServer();
      t.after(() => s.close());
      const ev = await probeTcp(HOST, s.port);
      assert.equal(ev.open, true);
      assert.equal(ev.protocol, 'tcp');
      assert.equal(ev.host, HOST);
      assert.ok(!Number.isNaN(Date.parse(ev.at)));
    });
    it('reports a closed port as refused', async () => {
      const ev = await probeTcp(HOST, await closedPort());
      assert.equal(ev.open, false);
      assert.equal(ev.detail, 'refused');
    });
    it('rejects a bad port before connecting', async () => {
      await assert.rejects(probeTcp(HOST, 70000), /port must be an integer from 1 to 65535, got 70000/);
      await assert.rejects(probeTcp(HOST, 80, { connectTimeoutMs: 0 }), RangeError);
    });
  });

  describe('probeRtsp', () => {
    it('finds an open stream: DESCRIBE without credentials returns SDP', async (t) => {
      const s = await startRtspServer({ mode: 'open', server: 'Hipcam RealServer/V1.0' });
      t.after(() => s.close());
      const ev = await probeRtsp(HOST, s.port);
      assert.equal(ev.open, true);
      assert.equal(ev.protocol, 'rtsp');
      assert.match(ev.detail ?? '', /^open stream/);
      assert.equal(ev.banner, 'Hipcam RealServer/V1.0');
      assert.equal(ev.facts?.describeStatus, 200);
      assert.match(String(ev.facts?.media), /m=video 0 RTP\/AVP 96/);
      // No credentials were sent.
      assert.ok(s.requests.every((r) => !/authorization/i.test(r)));
      assert.deepEqual(
        s.requests.map((r) => r.split(' ')[0]),
        ['OPTIONS', 'DESCRIBE'],
      );
    });
    it('records realm and Server when authentication is required (401)', async (t) => {
      const s = await startRtspServer({ mode: 'digest', user: 'admin', pass: 'x', realm: 'Hikvision' });
      t.after(() => s.close());
      const ev = await probeRtsp(HOST, s.port, { path: '/Streaming/Channels/101' });
      assert.equal(ev.open, true);
      assert.equal(ev.detail, 'authentication required');
      assert.equal(ev.facts?.realm, 'Hikvision');
      assert.equal(ev.facts?.authScheme, 'Digest');
      assert.equal(ev.banner, 'TestCam RTSP/1.0');
      assert.match(s.requests[1] ?? '', /^DESCRIBE rtsp:\/\/127\.0\.0\.1:\d+\/Streaming\/Channels\/101 RTSP\/1\.0/);
    });
    it('reports a closed port as not open', async () => {
      const ev = await probeRtsp(HOST, await closedPort());
      assert.equal(ev.open, false);
      assert.equal(ev.protocol, 'rtsp');
    });
    it('times out on a port that accepts and hangs, still open', async (t) => {
      const s = await startHangServer();
      t.after(() => s.close());
      const ev = await probeRtsp(HOST, s.port, { readTimeoutMs: 100 });
      assert.equal(ev.open, true);
      assert.equal(ev.detail, 'no RTSP answer (timeout)');
    });
    it('truncates and escapes 1 MB of binary garbage', async (t) => {
      const s = await startGarbageServer();
      t.after(() => s.close());
      const ev = await probeRtsp(HOST, s.port, { maxBannerChars: 64 });
      assert.equal(ev.open, true);
      assert.equal(ev.detail, 'not an RTSP answer');
      assert.ok((ev.banner ?? '').length <= 64 + 20, ev.banner);
      assert.match(ev.banner ?? '', /^[\x20-\x7e…]*$/);
      assert.match(ev.banner ?? '', /…\[\+\d+ bytes\]$/);
    });
    it('refuses a path with control characters (no request smuggling)', async () => {
      await assert.rejects(probeRtsp(HOST, 554, { path: '/x RTSP/1.0\r\nEvil: 1' }), TypeError);
    });
  });

  describe('probeHttp', () => {
    it('records status, Server and <title>', async (t) => {
      const s = await startHttpServer({ server: 'Boa/0.94.14rc21', title: 'NETSurveillance &amp; WEB' });
      t.after(() => s.close());
      const ev = await probeHttp(HOST, s.port);
      assert.equal(ev.open, true);
      assert.equal(ev.protocol, 'http');
      assert.equal(ev.banner, 'Boa/0.94.14rc21');
      assert.equal(ev.facts?.status, 200);
      assert.equal(ev.facts?.title, 'NETSurveillance & WEB');
      assert.equal(ev.detail, 'HTTP 200 OK');
    });
    it('records the realm of a 401', async (t) => {
      const s = await startHttpServer({ basic: { user: 'admin', pass: 'admin' } });
      t.after(() => s.close());
      const ev = await probeHttp(HOST, s.port);
      assert.equal(ev.facts?.status, 401);
      assert.equal(ev.facts?.realm, 'TestCam');
      assert.equal(s.authAttempts(), 0);
    });
    it('speaks HTTPS without verifying and records the certificate subject', async (t) => {
      const s = await startHttpServer({ tlsCommonName: 'ipcam.local' });
      t.after(() => s.close());
      const ev = await probeHttp(HOST, s.port, { tls: true });
      assert.equal(ev.protocol, 'https');
      assert.equal(ev.facts?.status, 200);
      assert.match(String(ev.facts?.certSubject), /CN=ipcam\.local/);
      assert.match(String(ev.facts?.certSubject), /O=camgate-test/);
    });
    it('handles garbage and hang without crashing', async (t) => {
      const g = await startGarbageServer();
      const h = await startHangServer();
      t.after(() => Promise.all([g.close(), h.close()]));
      const eg = await probeHttp(HOST, g.port, { maxBytes: 4096 });
      assert.equal(eg.detail, 'not an HTTP answer');
      assert.match(eg.banner ?? '', /^[\x20-\x7e…]*$/);
      const eh = await probeHttp(HOST, h.port, { readTimeoutMs: 100 });
      assert.equal(eh.open, true);
      assert.equal(eh.detail, 'no HTTP answer (timeout)');
    });
  });

  describe('probeTelnet', () => {
    it('reads the banner, refuses every option and sends no credentials', async (t) => {
      const s = await startTelnetServer('BusyBox v1.19.3 (2017-01-01)\r\n');
      t.after(() => s.close());
      const ev = await probeTelnet(HOST, s.port);
      assert.equal(ev.open, true);
      assert.equal(ev.detail, 'login prompt');
      assert.equal(ev.banner, 'BusyBox v1.19.3 (2017-01-01)\\r\\ncamera login: ');
      assert.equal(ev.facts?.negotiation, true);
      // DO TTYPE → WONT TTYPE; WILL ECHO → DONT ECHO; WILL SGA → DONT SGA (RFC 854), nothing else.
      const sent = await waitFor(
        () => s.received(),
        (b) => b.length >= 9,
      );
      assert.deepEqual([...sent], [255, 252, 24, 255, 254, 1, 255, 254, 3]);
    });
    it('truncates a 1 MB binary banner and escapes it', async (t) => {
      const s = await startGarbageServer();
      t.after(() => s.close());
      const ev = await probeTelnet(HOST, s.port, { maxBytes: 2048, maxBannerChars: 100 });
      assert.equal(ev.open, true);
      assert.match(ev.banner ?? '', /^[\x20-\x7e…]*$/);
      assert.match(ev.banner ?? '', /…\[\+\d+ bytes\]$/);
    });
    it('gives up on a silent server at the read timeout', async (t) => {
      const s = await startHangServer();
      t.after(() => s.close());
      const ev = await probeTelnet(HOST, s.port, { readTimeoutMs: 100 });
      assert.equal(ev.detail, 'no banner (timeout)');
      assert.equal(ev.banner, undefined);
    });
  });

  describe('TelnetFilter', () => {
    it('handles commands split across chunks, escaped 0xFF and subnegotiation', () => {
      const f = new TelnetFilter();
      const a = f.feed(Buffer.from([0x41, 255]));
      const b = f.feed(Buffer.from([253, 31, 255, 255, 0x42, 255, 250, 24, 1, 255, 240, 0x43]));
      assert.deepEqual([...a.data, ...b.data], [0x41, 255, 0x42, 0x43]);
      assert.deepEqual([...b.reply], [255, 252, 31]);
    });
    it('refuses each option once however often a hostile server asks', () => {
      const f = new TelnetFilter();
      const spam = Buffer.from(Array.from({ length: 1000 }, () => [255, 253, 1]).flat());
      assert.equal(f.feed(spam).reply.length, 3);
    });
  });

  describe('toPrintable', () => {
    it('escapes control bytes and backslashes and marks truncation', () => {
      assert.equal(toPrintable(Buffer.from([0x61, 0x00, 0x5c, 0x1b, 0x0a, 0xff])), 'a\\x00\\\\\\x1b\\n\\xff');
      assert.equal(toPrintable('abcdef', 3), 'abc…[+3 bytes]');
    });
  });
});

/** Polls a getter on each event-loop turn until `ok` (no wall-clock assumptions; bounded by the test runner). */
async function waitFor<T>(get: () => T, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = get();
    if (ok(v)) return v;
    await new Promise((r) => setImmediate(r));
  }
}
