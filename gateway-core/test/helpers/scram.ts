import { createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { FrameType, type FrameTypeValue } from '../../src/tunnel/constants.js';
import { decodeFrame, encodeFrame, type Frame } from '../../src/tunnel/frame.js';

/**
 * An independent implementation of the gateway's SCRAM arithmetic (RFC 5802
 * §3 with scrypt, docs/tunnel.md "Handshake"), written from the document and
 * node:crypto only — not from src/tunnel/scram.ts — so tests can check the
 * implementation against it and drive the hub with raw frames.
 */
export interface WireChallenge {
  v?: number;
  serverNonce: string;
  salt: string;
  N: number;
  r: number;
  p: number;
}

export function refAuthMessage(v: number, gatewayId: string, clientNonce: string, c: WireChallenge): string {
  return `camgate-tunnel,v=${v},n=${gatewayId},c=${clientNonce},s=${c.serverNonce},salt=${c.salt},N=${c.N},r=${c.r},p=${c.p}`;
}

/** ClientProof and the expected ServerSignature, both base64. */
export function refScram(
  secret: string,
  gatewayId: string,
  clientNonce: string,
  c: WireChallenge,
  v = 1,
): { clientProof: string; serverSignature: string; authMessage: string } {
  const salted = scryptSync(secret, Buffer.from(c.salt, 'base64'), 32, {
    N: c.N,
    r: c.r,
    p: c.p,
    maxmem: 512 * 1024 * 1024,
  });
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = hmac(salted, 'Server Key');
  const authMessage = refAuthMessage(v, gatewayId, clientNonce, c);
  const sig = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) proof[i] = clientKey[i]! ^ sig[i]!;
  return {
    clientProof: proof.toString('base64'),
    serverSignature: hmac(serverKey, authMessage).toString('base64'),
    authMessage,
  };
}

/** The verifier string for `secret` with a chosen salt, computed independently. */
export function refVerifier(secret: string, salt: Buffer, N = 16_384, r = 8, p = 1): string {
  const salted = scryptSync(secret, salt, 32, { N, r, p, maxmem: 512 * 1024 * 1024 });
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return [
    'scram-scrypt',
    N,
    r,
    p,
    salt.toString('base64'),
    storedKey.toString('base64'),
    serverKey.toString('base64'),
  ].join('$');
}

export function refNonce(): string {
  return randomBytes(18).toString('base64url');
}

/** A raw tunnel connection: frames in order, helpers to send JSON frames and wait. */
export interface RawConn {
  ws: WebSocket;
  frames: Frame[];
  send(type: FrameTypeValue, body: unknown): void;
  next(pred: (f: Frame) => boolean): Promise<Frame>;
  /** Resolves with how the other end closed the socket. */
  closed: Promise<{ code: number; reason: string }>;
}

export async function openRaw(url: string): Promise<RawConn> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  await once(ws, 'open');
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d: Buffer) => {
    frames.push(decodeFrame(d, 1 << 24));
    for (const w of waiters.splice(0)) w();
  });
  void closed.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  return {
    ws,
    frames,
    closed,
    send(type, body) {
      const payload = Buffer.from(JSON.stringify(body));
      ws.send(encodeFrame({ type, channel: 0, seq: 0, ack: 0, payload }));
    },
    async next(pred) {
      for (;;) {
        const f = frames.find(pred);
        if (f) return f;
        if (isClosed) throw new Error('connection closed before the expected frame');
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

export function json(f: Frame): Record<string, unknown> {
  return JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>;
}

/**
 * Runs hello → challenge → proof on a raw connection with the reference
 * arithmetic. `tamper` may change the proof body before it is sent.
 */
export async function rawLogin(
  conn: RawConn,
  gatewayId: string,
  secret: string,
  opts: {
    clientNonce?: string;
    extra?: Record<string, unknown>;
    tamper?: (proof: Record<string, unknown>) => void;
  } = {},
): Promise<{
  challenge: WireChallenge;
  clientNonce: string;
  proof: Record<string, unknown>;
  expectedSignature: string;
}> {
  const clientNonce = opts.clientNonce ?? refNonce();
  conn.send(FrameType.HELLO, { v: 1, gatewayId, clientNonce });
  const challenge = json(await conn.next((f) => f.type === FrameType.CHALLENGE)) as unknown as WireChallenge;
  const ref = refScram(secret, gatewayId, clientNonce, challenge);
  const proof: Record<string, unknown> = { clientProof: ref.clientProof, announce: null, ...opts.extra };
  opts.tamper?.(proof);
  conn.send(FrameType.PROOF, proof);
  return { challenge, clientNonce, proof, expectedSignature: ref.serverSignature };
}

/**
 * What a WebSocket server actually reads from a recorded client byte stream:
 * the HTTP upgrade requests and every frame payload with the client's mask
 * removed (RFC 6455 §5.3 — clients mask every frame, so searching the raw
 * bytes for a secret would find nothing even if it were sent). `chunks` may
 * hold several connections one after another (TcpProxy.upstreamBytes); a
 * connection cut mid-frame keeps what arrived of that frame.
 */
export function unmaskClientStream(chunks: readonly Buffer[]): Buffer {
  const all = Buffer.concat(chunks);
  const out: Buffer[] = [];
  // Each connection starts with its upgrade request; split there and decode each connection alone.
  const starts: number[] = [];
  for (let i = all.indexOf('GET /'); i !== -1; i = all.indexOf('GET /', i + 1)) starts.push(i);
  starts.forEach((start, k) => {
    const end = starts[k + 1] ?? all.length;
    const conn = all.subarray(start, end);
    const headEnd = conn.indexOf('\r\n\r\n');
    if (headEnd === -1) {
      out.push(conn);
      return;
    }
    out.push(conn.subarray(0, headEnd + 4));
    let i = headEnd + 4;
    while (i + 2 <= conn.length) {
      const masked = (conn[i + 1]! & 0x80) !== 0;
      let len = conn[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) {
        len = conn.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        len = Number(conn.readBigUInt64BE(p));
        p += 8;
      }
      const key = masked ? conn.subarray(p, p + 4) : Buffer.alloc(4);
      if (masked) p += 4;
      const payload = Buffer.from(conn.subarray(p, Math.min(p + len, conn.length)));
      for (let j = 0; j < payload.length; j++) payload[j]! ^= key[j % 4]!;
      out.push(payload);
      i = p + len;
    }
  });
  return Buffer.concat(out);
}
