/**
 * WebRTC receivers that do not decode, for the CPU rows of `bench:media`:
 * werift peers in child processes (werift-receivers-child.ts), the same
 * receivers for the engine, KMS (kurento-client) and Janus (its HTTP API).
 *
 * Why not Chromium: on a 2-core host 16 Chromium tabs decoding 720p25 starve
 * (Janus's 16 viewers decoded 8.5 of 25 fps), so a row measured a server
 * whose peers fell behind. Chromium without a <video> sink still decodes
 * (framesDecoded grows), and Chromium with an encoded transform that drops
 * every frame does not decode but asks for a keyframe (PLI) every 200 ms
 * because its decoder never gets one, and the engine answers PLIs by
 * replaying its GOP cache: 65 instead of 25 frames a second reached each
 * receiver. werift receives like any WebRTC peer (ICE, DTLS-SRTP, SRTP
 * decryption, receiver reports) and asks for nothing: no PLI, no NACK.
 *
 * The receivers' CPU is their own processes', never in the figures of the
 * server under test; they are spread over a few children so that one Node
 * event loop is not what limits 16 streams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { watchMountpoint } from './janus.js';

// kurento-client ships no types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Kc = any;

/** What one receiver has seen since it was created. */
export interface ReceiverStats {
  /** Frames whose last RTP packet (marker bit) arrived. */
  frames: number;
  packets: number;
  bytes: number;
  /** Packets expected (from the highest sequence number) but not received, RFC 3550 §A.3. */
  lost: number;
  startedAt: number;
  /** Date.now() at the first complete frame (0 before). */
  firstFrameAt: number;
  connectionState: string;
  /** The DTLS-SRTP profile negotiated ('' before the handshake). */
  srtpProfile: string;
  errors: string[];
}

export interface Receiver {
  stats(): Promise<ReceiverStats>;
  close(): Promise<void>;
}

export interface ReceiverPool {
  /** Child process ids (their CPU is not the server's). */
  pids: number[];
  /** pipeline → PlayerEndpoint(cameraUrl) → WebRtcEndpoint on a Kurento-protocol server (engine or KMS). */
  kurento(client: Kc, cameraUrl: string): Promise<Receiver>;
  /** A `watch` of Janus's streaming mountpoint `mountId` (HTTP API at `apiUrl`); Janus offers, the receiver answers. */
  janus(apiUrl: string, mountId: number): Promise<Receiver>;
  close(): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 30_000;

interface Child {
  proc: ChildProcess;
  call(op: string, rx: number, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

function startChild(): Child {
  const path = fileURLToPath(new URL('./werift-receivers-child.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', path], { stdio: ['pipe', 'pipe', 'inherit'] });
  let next = 1;
  const waiting = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void }>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const a = JSON.parse(line) as Record<string, unknown> & { id: number; error?: string };
    const w = waiting.get(a.id);
    if (!w) return;
    waiting.delete(a.id);
    if (a.error) w.fail(new Error(`receiver: ${a.error}`));
    else w.ok(a);
  });
  proc.once('exit', (code) => {
    for (const w of waiting.values()) w.fail(new Error(`receiver child exited (${code})`));
    waiting.clear();
  });
  return {
    proc,
    call: (op, rx, extra = {}) =>
      new Promise((ok, fail) => {
        const id = next++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          fail(new Error(`receiver: ${op} got no answer within ${REQUEST_TIMEOUT_MS} ms`));
        }, REQUEST_TIMEOUT_MS);
        waiting.set(id, {
          ok: (v) => (clearTimeout(timer), ok(v)),
          fail: (e) => (clearTimeout(timer), fail(e)),
        });
        proc.stdin!.write(`${JSON.stringify({ id, op, rx, ...extra })}\n`);
      }),
  };
}

/** Starts `children` receiver processes; receivers are placed on them in turn. */
export function startReceiverPool(children = 2): ReceiverPool {
  const kids = Array.from({ length: children }, startChild);
  let nextRx = 1;
  const place = (): { c: Child; rx: number } => {
    const rx = nextRx++;
    return { c: kids[rx % kids.length]!, rx };
  };
  const receiver = (c: Child, rx: number, release: () => Promise<void>): Receiver => {
    let closed = false;
    return {
      stats: async () => (await c.call('stats', rx)) as unknown as ReceiverStats,
      close: async () => {
        if (closed) return;
        closed = true;
        await c.call('close', rx).catch(() => undefined);
        await release().catch(() => undefined);
      },
    };
  };
  return {
    pids: kids.map((k) => k.proc.pid!),
    async kurento(client, cameraUrl) {
      const { c, rx } = place();
      const { sdp: offer } = (await c.call('offer', rx)) as { sdp: string };
      const pipeline: Kc = await client.create('MediaPipeline');
      try {
        const player: Kc = await pipeline.create('PlayerEndpoint', { uri: cameraUrl });
        const webrtc: Kc = await pipeline.create('WebRtcEndpoint');
        webrtc.on(
          'IceCandidateFound',
          (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } }) => {
            const candidate = {
              candidate: e.candidate.candidate,
              sdpMid: e.candidate.sdpMid,
              sdpMLineIndex: e.candidate.sdpMLineIndex,
            };
            c.call('candidate', rx, { candidate }).catch(() => undefined);
          },
        );
        await player.connect(webrtc);
        const answer: string = await webrtc.processOffer(offer);
        await c.call('answer', rx, { sdp: answer });
        await webrtc.gatherCandidates();
        await player.play();
      } catch (err) {
        await pipeline.release().catch(() => undefined);
        await c.call('close', rx).catch(() => undefined);
        throw err;
      }
      return receiver(c, rx, () => pipeline.release());
    },
    async janus(apiUrl, mountId) {
      const { c, rx } = place();
      const watch = await watchMountpoint(apiUrl, mountId, async (offer) => {
        const { sdp } = (await c.call('answer-offer', rx, { sdp: offer })) as { sdp: string };
        return sdp;
      }).catch(async (err: unknown) => {
        await c.call('close', rx).catch(() => undefined);
        throw err;
      });
      return receiver(c, rx, () => watch.close());
    },
    async close() {
      await Promise.all(
        kids.map(
          (k) =>
            new Promise<void>((done) => {
              if (k.proc.exitCode !== null || k.proc.signalCode !== null) return done();
              const t = setTimeout(() => k.proc.kill('SIGKILL'), 5_000);
              k.proc.once('exit', () => (clearTimeout(t), done()));
              k.proc.stdin!.end();
            }),
        ),
      );
    },
  };
}
