import type { TestContext } from 'node:test';
import kurentoClient from 'kurento-client';
import { WebSocket } from 'ws';
import { KurentoEngine, type EngineOptions } from '../../src/engine/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';

// kurento-client ships no types; the tests use the few calls below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Kc = any;

/** kurento-clients per engine url, closed before their engine. */
const clients = new Map<string, Kc[]>();

/** Starts an engine on an ephemeral loopback port, closed after the test. */
export async function startEngine(
  t: TestContext,
  opts: EngineOptions = {},
): Promise<{ engine: KurentoEngine; logs: ReturnType<typeof memorySink> }> {
  const logs = memorySink();
  const engine = await KurentoEngine.start({ port: 0, logger: createLogger('engine', logs), ...opts });
  t.after(async () => {
    // Clients first: a kurento-client that sees its server vanish starts reconnecting.
    for (const c of clients.get(engine.url) ?? []) c.close();
    clients.delete(engine.url);
    await engine.close();
  });
  return { engine, logs };
}

/** Connects the official kurento-client (strict mode, as applications use it); closed after the test. */
export async function connectClient(_t: TestContext, url: string): Promise<Kc> {
  // kurento-jsonrpc keeps a timer per answered request for `duplicates_timeout` (20 s by default),
  // which would hold the test process open long after the test.
  const client: Kc = await kurentoClient(url, { failAfter: 1, duplicates_timeout: 50 });
  // Closed by startEngine's hook, before the engine.
  const list = clients.get(url) ?? [];
  list.push(client);
  clients.set(url, list);
  return client;
}

export interface RawFrame {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: { value?: { type: string; object: string; data: Record<string, unknown> } };
  result?: Record<string, unknown> & { value?: unknown; sessionId?: string };
  error?: { code: number; message: string; data?: { type: string } };
}

/** A plain WebSocket speaking JSON-RPC by hand: for what kurento-client cannot send. */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: RawFrame[] = [];
  #waiters: { pred: (f: RawFrame) => boolean; resolve: (f: RawFrame) => void }[] = [];
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as RawFrame;
      this.frames.push(f);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(f)) return true;
        w.resolve(f);
        return false;
      });
    });
  }

  static async open(t: TestContext, url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    t.after(() => ws.terminate());
    return new RawClient(ws);
  }

  /** Resolves with the first frame (already received or future) matching `pred`. */
  next(pred: (f: RawFrame) => boolean): Promise<RawFrame> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }

  async call(method: string, params?: Record<string, unknown>): Promise<RawFrame> {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return this.next((f) => f.id === id);
  }

  /** Calls and asserts success; returns `result`. */
  async ok(method: string, params?: Record<string, unknown>): Promise<NonNullable<RawFrame['result']>> {
    const f = await this.call(method, params);
    if (!f.result) throw new Error(`${method} failed: ${JSON.stringify(f.error)}`);
    return f.result;
  }

  event(type: string): Promise<RawFrame> {
    return this.next((f) => f.method === 'onEvent' && f.params?.value?.type === type);
  }

  closed(): Promise<{ code: number }> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006 });
    return new Promise((resolve) => this.ws.once('close', (code) => resolve({ code })));
  }
}
