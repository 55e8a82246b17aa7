/**
 * Hostile input to the simulated camera: garbage, truncated and oversized
 * requests, a flood of pipelined requests, junk interleaved frames and
 * malformed Authorization headers. None may crash the process, and the camera
 * keeps serving other clients afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { RtspRequestReader } from '../src/rtsp-request.js';
import { startCameraSim, type CameraSim, type CameraSimOptions } from '../src/index.js';
import { RawRtspClient } from './helpers/rtsp-sim.js';

async function sim(t: { after: (fn: () => Promise<void>) => void }, opts: CameraSimOptions = {}): Promise<CameraSim> {
  const s = await startCameraSim({ width: 160, height: 120, gopSeconds: 0.2, ...opts });
  t.after(() => s.close());
  return s;
}

async function client(t: { after: (fn: () => void) => void }, s: CameraSim): Promise<RawRtspClient> {
  const c = await RawRtspClient.connect(s.port);
  t.after(() => c.close());
  return c;
}

/** The camera still answers a well-formed request on a new connection. */
async function stillServes(t: { after: (fn: () => void) => void }, s: CameraSim): Promise<void> {
  const c = await client(t, s);
  const r = await c.request('OPTIONS', s.url);
  assert.ok(r.status === 200 || r.status === 401, `status ${r.status}`);
}

describe('camera-sim under hostile input', () => {
  it('answers binary garbage with 400 and closes', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    c.send(Buffer.concat([Buffer.from('\x01\x02GARBAGE\xff\xfe'), randomBytes(64), Buffer.from('\r\n\r\n')]));
    await c.waitClosed();
    assert.equal(c.responses[0]?.status, 400);
    await stillServes(t, s);
  });

  it('refuses a header larger than 8 KiB without waiting for its end, then closes', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    c.send(`OPTIONS ${s.url} RTSP/1.0\r\nCSeq: 1\r\nX-Big: ${'a'.repeat(20_000)}`);
    await c.waitClosed();
    assert.equal(c.responses[0]?.status, 400);
    await stillServes(t, s);
  });

  it('refuses a body larger than 4 KiB with 413', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    c.send(`GET_PARAMETER ${s.url} RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 1000000\r\n\r\n`);
    await c.waitClosed();
    assert.equal(c.responses[0]?.status, 413);
    assert.equal(c.responses[0]?.headers.get('cseq'), '7');
  });

  it('answers a missing CSeq with 400, RTSP/2.0 with 505, an unknown method with 501', async (t) => {
    const s = await sim(t);
    const a = await client(t, s);
    a.send(`OPTIONS ${s.url} RTSP/1.0\r\n\r\n`);
    await a.waitClosed();
    assert.equal(a.responses[0]?.status, 400);
    const b = await client(t, s);
    b.send(`OPTIONS ${s.url} RTSP/2.0\r\nCSeq: 3\r\n\r\n`);
    await b.waitClosed();
    assert.equal(b.responses[0]?.status, 505);
    const c = await client(t, s);
    assert.equal((await c.request('RECORD', s.url)).status, 501);
    const r = await c.request('SETUP', s.url, { Require: 'play.basic', Transport: 'RTP/AVP/TCP' });
    assert.equal(r.status, 551); // RFC 2326 §12.32
    assert.equal(r.headers.get('unsupported'), 'play.basic');
  });

  it('answers 10,000 pipelined requests in order without dropping the connection', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    const n = 10_000;
    const parts: string[] = [];
    for (let i = 1; i <= n; i++) parts.push(`OPTIONS ${s.url} RTSP/1.0\r\nCSeq: ${i}\r\n\r\n`);
    c.send(parts.join(''));
    await c.waitFor(() => c.responses.length >= n, `${n} responses`);
    assert.equal(c.responses.length, n);
    assert.ok(c.responses.every((r, i) => r.status === 200 && r.headers.get('cseq') === String(i + 1)));
    assert.equal(c.closed, false);
  });

  it('ignores junk interleaved frames from the client and keeps the session', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    const junk = Buffer.concat([Buffer.from([0x24, 1, 0x01, 0x00]), randomBytes(256), Buffer.from([0x24, 9, 0, 0])]);
    c.send(junk);
    assert.equal((await c.request('OPTIONS', s.url)).status, 200);
  });

  it('treats truncated and malformed Authorization headers as unauthenticated (401), never as errors', async (t) => {
    const s = await sim(t, { username: 'admin', password: 'pw-123456' });
    const c = await client(t, s);
    const bad = [
      'Digest',
      'Digest username="admin", realm="IP Camera", nonce="abc',
      'Digest username=admin,,,,',
      `Digest ${'x="y", '.repeat(200)}`,
      'Digest username="admin", realm="IP Camera", nonce="zz.zz", uri="/", response="00"',
      'Digest username="admin", realm="IP Camera", nonce=".", uri="/", response="00", qop=auth-int',
      `Digest username="${'a'.repeat(3000)}"`,
    ];
    for (const authorization of bad) {
      const r = await c.request('OPTIONS', s.url, { Authorization: authorization });
      assert.equal(r.status, 401, authorization.slice(0, 60));
    }
  });

  it('closes a connection that sends nothing for sessionTimeoutS', async (t) => {
    const s = await sim(t, { sessionTimeoutS: 1 });
    const c = await client(t, s);
    await c.waitClosed();
    assert.equal(c.responses.length, 0);
  });
});

describe('RtspRequestReader', () => {
  it('reassembles a request split at every byte, and a body', () => {
    const r = new RtspRequestReader();
    const text = 'SET_PARAMETER rtsp://h/s RTSP/1.0\r\nCSeq: 4\r\nContent-Length: 5\r\nSession: AB\r\n\r\nhello';
    const out = [...Buffer.from(text)].flatMap((b) => r.push(Buffer.from([b])));
    assert.equal(out.length, 1);
    const req = out[0]!;
    assert.equal(req.kind, 'request');
    if (req.kind !== 'request') return;
    assert.equal(req.request.method, 'SET_PARAMETER');
    assert.equal(req.request.cseq, 4);
    assert.equal(req.request.headers.get('session'), 'AB');
    assert.equal(req.request.body.toString(), 'hello');
  });

  it('reports one error for a malformed request and ignores everything after it', () => {
    const r = new RtspRequestReader();
    const out = r.push(
      Buffer.from('OPTIONS  two-spaces RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n'),
    );
    assert.deepEqual(out, [{ kind: 'error', status: 400, reason: 'malformed request line' }]);
    assert.deepEqual(r.push(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 3\r\n\r\n')), []);
    assert.equal(r.failed, true);
  });

  it('refuses control characters in the URI, bad header lines, folded headers and too many headers', () => {
    const cases = [
      'OPTIONS rtsp://h/\x01 RTSP/1.0\r\nCSeq: 1\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno-colon-here\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: a\r\n folded\r\n\r\n',
      `OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n${'X: y\r\n'.repeat(100)}\r\n`,
      'OPTIONS * RTSP/1.0\r\nCSeq: -1\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 1e3\r\n\r\n',
    ];
    for (const c of cases) {
      const out = new RtspRequestReader().push(Buffer.from(c));
      assert.equal(out.length, 1, JSON.stringify(c));
      assert.equal(out[0]!.kind, 'error', JSON.stringify(c));
    }
  });

  it('parses interleaved frames between requests and waits for a truncated one', () => {
    const r = new RtspRequestReader();
    const frame = Buffer.from([0x24, 1, 0, 3, 7, 8, 9]);
    assert.deepEqual(r.push(frame.subarray(0, 5)), []);
    const out = r.push(Buffer.concat([frame.subarray(5), Buffer.from('\r\nOPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n')]));
    assert.equal(out.length, 2);
    assert.deepEqual(out[0], { kind: 'interleaved', channel: 1, data: Buffer.from([7, 8, 9]) });
    assert.equal(out[1]!.kind, 'request');
  });

  it('survives random bytes without throwing', () => {
    for (let i = 0; i < 200; i++) {
      const r = new RtspRequestReader();
      for (let j = 0; j < 5; j++) assert.doesNotThrow(() => r.push(randomBytes(1 + (i % 300))));
    }
  });
});
