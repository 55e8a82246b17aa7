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
