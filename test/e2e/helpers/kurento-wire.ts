/**
 * The Kurento wire as a test sees it: the official kurento-client in strict
 * mode and its callback-only error paths, JSON-RPC spoken by hand for what
 * the client will not send, a recorder of every WebSocket frame, and the
 * check that a request was refused by the gateway's policy.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import kurentoClient from 'kurento-client';
import WebSocket, { WebSocketServer } from 'ws';

// kurento-client ships no types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Kc = any;

/** The official client in strict mode (it checks getInfo's modules first; KMS here has no `filters`). */
export async function connect(url: string): Promise<Kc> {
  // duplicates_timeout: kurento-jsonrpc otherwise keeps a 20 s timer per answered request.
  return kurentoClient(url, { failAfter: 1, strict: true, duplicates_timeout: 50 });
}

/** kurento-client hands a failed call to its callback (the default callback only logs it). */
export function callCb(obj: Kc, method: string, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    obj[method](...args, (err: Error | null, v: unknown) => (err ? reject(err) : resolve(v)));
  });
}

/** kurento-client reports a failed `create` only to a callback (the object it returns does not reject). */
export function createCb(parent: Kc, type: string, params: Record<string, unknown>): Promise<Kc> {
  return new Promise((resolve, reject) => {
    parent.create(type, params, (err: Error | null, obj: Kc) => (err ? reject(err) : resolve(obj)));
  });
}

/** The JSON-RPC error a refused request gets from the gateway's policy (docs/kurento-policy.md). */
export async function refusedByPolicy(what: string, p: Promise<unknown>): Promise<string> {
  let err: (Error & { code?: number; data?: { code?: string; rule?: string } }) | undefined;
  try {
    const v = await p;
    assert.fail(`${what}: expected CAMGATE_POLICY_DENIED, got a result: ${JSON.stringify(v)?.slice(0, 200)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e as typeof err;
  }
  assert.equal(err?.data?.code, 'CAMGATE_POLICY_DENIED', `${what}: ${err?.message}`);
  assert.equal(err?.code, -32001, what);
  assert.match(err!.message, /^camgate policy: /, what);
  return `${what} → ${err!.data!.rule}`;
}

export interface RpcAnswer {
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: { code?: string; rule?: string } };
}

/**
 * A Kurento connection spoken by hand (JSON-RPC 2.0 over WebSocket), for what
 * kurento-client will not send: calls on another connection's objects by id.
 */
export async function rawSession(
  url: string,
): Promise<{ call(method: string, params: object): Promise<RpcAnswer>; close(): void }> {
  const ws = new WebSocket(url);
  await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
  const waiting = new Map<number, (a: RpcAnswer) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as RpcAnswer & { id?: number };
    if (typeof m.id === 'number') waiting.get(m.id)?.(m);
  });
  let next = 1;
  return {
    call: (method, params) =>
      new Promise<RpcAnswer>((ok, fail) => {
        const id = next++;
        const timer = setTimeout(() => fail(new Error(`${method}: no answer within 10 s`)), 10_000);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          ok(a);
        });
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** A raw answer as the error kurento-client would raise, for refusedByPolicy. */
export async function asError(a: Promise<RpcAnswer>): Promise<unknown> {
  const { result, error } = await a;
  if (error) throw Object.assign(new Error(error.message), error);
  return result;
}

/** One WebSocket message seen by a FrameRecorder. */
export interface RecordedFrame {
  /** `up`: client → server; `down`: server → client. */
  dir: 'up' | 'down';
  text: string;
}

export interface FrameRecorder {
  /** Point the client here (same path as the target). */
  url: string;
  frames: RecordedFrame[];
  close(): Promise<void>;
}

/**
 * A WebSocket relay on 127.0.0.1:0 that forwards every message to `targetUrl`
 * and back, recording each one: what a kurento-client received, frame by
 * frame, for tests that search it for secrets.
 */
export async function startFrameRecorder(targetUrl: string): Promise<FrameRecorder> {
  const target = new URL(targetUrl);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 4 * 1024 * 1024 });
  await new Promise<void>((ok) => wss.once('listening', () => ok()));
  const frames: RecordedFrame[] = [];
  const sockets = new Set<WebSocket>();
  wss.on('connection', (client, req) => {
    const upstream = new WebSocket(new URL(req.url ?? '/', target).href);
    sockets.add(client).add(upstream);
    const queue: string[] = [];
    upstream.on('open', () => {
      for (const m of queue.splice(0)) upstream.send(m);
    });
    client.on('message', (d) => {
      const text = d.toString();
      frames.push({ dir: 'up', text });
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else queue.push(text);
    });
    upstream.on('message', (d) => {
      const text = d.toString();
      frames.push({ dir: 'down', text });
      if (client.readyState === WebSocket.OPEN) client.send(text);
    });
    const end = (): void => {
      client.terminate();
      upstream.terminate();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}${target.pathname}`,
    frames,
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
    },
  };
}

/** The candidate lines of every IceCandidateFound event the hub passed to kurento-client. */
export function iceCandidatesFromKms(frames: readonly RecordedFrame[]): string[] {
  const out: string[] = [];
  for (const f of frames) {
    if (f.dir !== 'down' || !f.text.includes('IceCandidateFound')) continue;
    const msg = JSON.parse(f.text) as { params?: { value?: { data?: { candidate?: { candidate?: string } } } } };
    const c = msg.params?.value?.data?.candidate?.candidate;
    if (c) out.push(c);
  }
  return out;
}
