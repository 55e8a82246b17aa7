/**
 * startCameraSim as a whole: lifecycle (stop/resume/close), the DVR decoy
 * services, option validation, Digest computations against RFC 2617's own
 * example, and FFmpeg pulling the live stream as a real RTSP client would.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import {
  DigestAuthenticator,
  DVR_SERVER_HEADER,
  DVR_TITLE,
  readFrameCounter,
  startCameraSim,
  TELNET_PROMPT,
  type CameraSim,
  type CameraSimOptions,
} from '../src/index.js';
import { answerDigest } from './helpers/digest.js';
import { RawRtspClient, runTool } from './helpers/rtsp-sim.js';

async function sim(t: { after: (fn: () => Promise<void>) => void }, opts: CameraSimOptions = {}): Promise<CameraSim> {
  const s = await startCameraSim({ width: 320, height: 240, gopSeconds: 0.2, ...opts });
  t.after(() => s.close());
  return s;
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
  });
}

/** Reads from a telnet-ish socket until `pattern` appears in everything received. */
function readUntil(s: net.Socket, seen: { text: string }, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pattern.test(seen.text)) {
        s.off('data', onData);
        s.off('close', onClose);
        resolve();
      }
    };
    const onData = (d: Buffer): void => {
      seen.text += d.toString('latin1');
      check();
    };
    const onClose = (): void => reject(new Error(`closed before ${pattern}; got ${JSON.stringify(seen.text)}`));
    s.on('data', onData);
    s.on('close', onClose);
    check();
  });
}

describe('startCameraSim', () => {
  describe('URLs and options', () => {
    it('builds url and urlWithCredentials (percent-encoded) on the chosen host and port', async (t) => {
      const s = await sim(t, { username: 'ad min', password: 'p@ss:w/rd', path: '/live/ch1' });
      assert.equal(s.url, `rtsp://127.0.0.1:${s.port}/live/ch1`);
      assert.equal(s.urlWithCredentials, `rtsp://ad%20min:p%40ss%3Aw%2Frd@127.0.0.1:${s.port}/live/ch1`);
      assert.ok(s.port > 0);
      assert.equal(s.httpPort, undefined);
      assert.equal(s.telnetPort, undefined);
    });

    it('listens on ::1 with a bracketed URL', async (t) => {
      const s = await sim(t, { host: '::1' });
      assert.equal(s.url, `rtsp://[::1]:${s.port}/stream1`);
      const c = await RawRtspClient.connect(s.port, '::1');
      t.after(() => c.close());
      assert.equal((await c.request('OPTIONS', s.url)).status, 200);
    });

    it('validates options at the edge, naming the option and what is allowed', async () => {
      await assert.rejects(startCameraSim({ port: 70000 }), /port must be an integer 0\.\.65535, got 70000/);
      await assert.rejects(startCameraSim({ host: 'localhost' }), /host must be an IP address/);
      await assert.rejects(startCameraSim({ username: 'a' }), /username and password must be given together/);
      await assert.rejects(startCameraSim({ username: 'a:b', password: 'x' }), RangeError);
      await assert.rejects(startCameraSim({ path: 'stream1' }), /path must start with \//);
      await assert.rejects(startCameraSim({ gopSeconds: 0 }), /gopSeconds must be a number > 0/);
      await assert.rejects(startCameraSim({ width: 333 }), /width must be an even integer/);
      await assert.rejects(startCameraSim({ sessionTimeoutS: 0 }), /sessionTimeoutS must be an integer/);
      await assert.rejects(startCameraSim({ port: 'x' as unknown as number }), TypeError);
      await assert.rejects(startCameraSim({ sendParameterSetsInBand: 1 as unknown as boolean }), TypeError);
    });

    it('rejects with CAMGATE_CAMERA_SIM_LISTEN when the port is taken', async (t) => {
      const s = await sim(t);
      await assert.rejects(startCameraSim({ port: s.port }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CAMGATE_CAMERA_SIM_LISTEN');
        return true;
      });
    });
  });

  describe('#stop and #resume', () => {
    it('drops every connection, refuses new ones, then accepts again on the same port', async (t) => {
      const s = await sim(t, { vulnerable: { http: true, telnet: true } });
      const c = await RawRtspClient.connect(s.port);
      t.after(() => c.close());
      assert.equal((await c.request('OPTIONS', s.url)).status, 200);
      const { port, httpPort, telnetPort } = s;
      await s.stop();
      await c.waitClosed();
      assert.equal(await connectError(port), 'ECONNREFUSED');
      assert.equal(await connectError(httpPort!), 'ECONNREFUSED');
      assert.equal(await connectError(telnetPort!), 'ECONNREFUSED');
      await s.stop(); // idempotent
      await s.resume();
      assert.equal(s.port, port);
      assert.equal(s.httpPort, httpPort);
      const d = await RawRtspClient.connect(s.port);
      t.after(() => d.close());
      assert.equal((await d.request('OPTIONS', s.url)).status, 200);
      // A port taken while stopped: resume() rejects with a code and leaves nothing half up.
      await s.stop();
      const squatter = net.createServer();
      await new Promise<void>((resolve) => squatter.listen(httpPort, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
      await assert.rejects(s.resume(), (e: Error & { code?: string }) => e.code === 'CAMGATE_CAMERA_SIM_LISTEN');
      assert.equal(await connectError(port), 'ECONNREFUSED');
      await s.close();
      await s.close(); // idempotent
      assert.equal(await connectError(port), 'ECONNREFUSED');
    });

    it('a playing viewer is cut off by stop() and a new one streams from an IDR after resume()', async (t) => {
      const s = await sim(t);
      const c = await RawRtspClient.connect(s.port);
      t.after(() => c.close());
      await c.request('SETUP', `${s.url}/trackID=0`, { Transport: 'RTP/AVP/TCP;interleaved=0-1' });
      const session = c.responses[0]!.headers.get('session')!.split(';')[0]!;
      await c.request('PLAY', s.url, { Session: session });
      await c.waitFor(() => c.frames.length > 0, 'RTP');
      await s.stop();
      await c.waitClosed();
      assert.equal(s.stats.playing, 0);
      await s.resume();
      const d = await RawRtspClient.connect(s.port);
      t.after(() => d.close());
      await d.request('SETUP', `${s.url}/trackID=0`, { Transport: 'RTP/AVP/TCP;interleaved=0-1' });
      await d.request('PLAY', s.url, { Session: d.responses[0]!.headers.get('session')!.split(';')[0]! });
      await d.waitFor(() => d.frames.some((f) => f.channel === 0), 'RTP after resume');
      // RFC 6184: the first RTP packet is the SPS (type 7) of an IDR access unit (its sender report, on
      // channel 1, goes just before it).
      assert.equal(d.frames.find((f) => f.channel === 0)!.data[12]! & 0x1f, 7);
      assert.equal(s.stats.sessions, 2);
    });
  });

  describe('vulnerable services', () => {
    it('serves a DVR admin page with a telltale Server header and title', async (t) => {
      const s = await sim(t, { vulnerable: { http: true } });
      assert.ok(s.httpPort! > 0);
      const res = await new Promise<{ status: number; server: string | undefined; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: s.httpPort, path: '/' }, (r) => {
            let body = '';
            r.on('data', (d: Buffer) => (body += d.toString()));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, server: String(r.headers.server), body }));
          })
          .on('error', reject);
      });
      assert.equal(res.status, 200);
      assert.equal(res.server, DVR_SERVER_HEADER);
      assert.ok(res.body.includes(`<title>${DVR_TITLE}</title>`));
    });

    it('shows a telnet login: prompt that refuses every login and hangs up after three', async (t) => {
      const s = await sim(t, { vulnerable: { telnet: true } });
      const sock = net.connect({ port: s.telnetPort!, host: '127.0.0.1' });
      t.after(() => sock.destroy());
      const seen = { text: '' };
      await readUntil(sock, seen, /login: $/);
      assert.ok(seen.text.endsWith(TELNET_PROMPT));
      for (let i = 0; i < 3; i++) {
        seen.text = '';
        sock.write('root\r\n');
        await readUntil(sock, seen, /Password: $/);
        seen.text = '';
        sock.write('xc3511\r\n');
        await readUntil(sock, seen, /Login incorrect/);
      }
      await new Promise<void>((resolve) => (sock.closed ? resolve() : sock.once('close', () => resolve())));
    });

    it('hangs up on an overlong telnet line', async (t) => {
      const s = await sim(t, { vulnerable: { telnet: true } });
      const sock = net.connect({ port: s.telnetPort!, host: '127.0.0.1' });
      t.after(() => sock.destroy());
      sock.on('error', () => undefined);
      await readUntil(sock, { text: '' }, /login: $/);
      sock.write('A'.repeat(10_000));
      await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    });
  });

  describe('as an FFmpeg RTSP client sees it', () => {
    it('FFmpeg authenticates with Digest, pulls over TCP and decodes live, changing frames', async (t) => {
      const s = await sim(t, { username: 'admin', password: 'Cam-Pass-42' });
      const r = await runTool('ffmpeg', [
        '-v', 'error', '-rtsp_transport', 'tcp', '-i', s.urlWithCredentials,
        '-frames:v', '10', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1',
      ]); // prettier-ignore
      assert.equal(r.code, 0, r.stderr);
      const size = 320 * 240 * 1.5;
      assert.equal(r.stdout.length, 10 * size);
      const frames = Array.from({ length: 10 }, (_, i) => r.stdout.subarray(i * size, i * size + 320 * 240));
      const counters = frames.map((f) => readFrameCounter(f, 320, 240));
      for (let i = 1; i < 10; i++) {
        assert.notDeepEqual(frames[i], frames[i - 1]);
        assert.ok(counters[i]! > counters[i - 1]!, `counter ${counters[i]} after ${counters[i - 1]}`);
      }
      assert.ok(counters[9]! <= s.encoder.frameNumber);
      assert.equal(s.stats.sessions, 1);
    });
  });
});

describe('DigestAuthenticator', () => {
  it('computes the RFC 2617 §3.5 example response', () => {
    const challenge =
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const h = answerDigest({
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      challenge,
      cnonce: '0a4f113b',
      nc: 1,
    });
    assert.match(h, /response="6629fae49393a05397450978507c4ef1"/);
  });

  it('answers stale=true for an authentic but expired nonce, and accepts a fresh one', () => {
    let now = 1_000_000;
    const a = new DigestAuthenticator({ username: 'u', password: 'p' }, { nonceLifetimeMs: 1000, now: () => now });
    const challenge = a.challenge();
    const auth = answerDigest({ username: 'u', password: 'p', method: 'PLAY', uri: 'rtsp://h/s', challenge });
    assert.deepEqual(a.verify(auth, 'PLAY'), { ok: true });
    now += 5000;
    assert.deepEqual(a.verify(auth, 'PLAY'), { ok: false, stale: true });
    assert.match(a.challenge(true), /, stale=true$/);
    const fresh = answerDigest({
      username: 'u',
      password: 'p',
      method: 'PLAY',
      uri: 'rtsp://h/s',
      challenge: a.challenge(),
    });
    assert.deepEqual(a.verify(fresh, 'PLAY'), { ok: true });
  });

  it('does not accept a nonce minted by another camera', () => {
    const a = new DigestAuthenticator({ username: 'u', password: 'p' });
    const b = new DigestAuthenticator({ username: 'u', password: 'p' });
    const auth = answerDigest({
      username: 'u',
      password: 'p',
      method: 'OPTIONS',
      uri: '*',
      challenge: b.challenge(),
    });
    assert.deepEqual(a.verify(auth, 'OPTIONS'), { ok: false, stale: false });
    assert.deepEqual(b.verify(auth, 'OPTIONS'), { ok: true });
  });
});
