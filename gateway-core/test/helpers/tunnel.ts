import { once, type EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  makeVerifier,
  TunnelClient,
  TunnelServer,
  type TunnelClientOptions,
  type TunnelServerOptions,
} from '../../src/tunnel/index.js';

export interface TestHub {
  server: TunnelServer;
  http: Server;
  port: number;
  url: string;
  /** Number of lookupVerifier() calls so far (one per hello that reached authentication). */
  authCalls: () => number;
  close(): Promise<void>;
}

/** Verifiers by secret: scrypt is the slow part, and tests reuse a handful of secrets. */
const verifiers = new Map<string, Promise<string>>();
export function verifierFor(secret: string): Promise<string> {
  let v = verifiers.get(secret);
  if (!v) verifiers.set(secret, (v = makeVerifier(secret)));
  return v;
}

/**
 * A TunnelServer behind a plain http server on 127.0.0.1:0, routing
 * `/tunnel` upgrades to it; `secrets` maps gateway id → secret (the hub
 * stores only their SCRAM verifiers).
 */
export async function startHub(
  secrets: Record<string, string>,
  opts: Partial<TunnelServerOptions> = {},
  port = 0,
): Promise<TestHub> {
  let calls = 0;
  const stored = new Map<string, string>();
  for (const [id, secret] of Object.entries(secrets)) stored.set(id, await verifierFor(secret));
  const server = new TunnelServer({
    lookupVerifier: (gatewayId) => {
      calls++;
      return stored.get(gatewayId);
    },
    ...opts,
  });
  const http = createServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => {
    if (req.url === '/tunnel') server.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', () => r()));
  const p = (http.address() as AddressInfo).port;
  let closed = false;
  return {
    server,
    http,
    port: p,
    url: `ws://127.0.0.1:${p}/tunnel`,
    authCalls: () => calls,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** A TunnelClient with fast test defaults (short backoff, and a short spread of the retries after a lost tunnel). */
export function makeClient(opts: Partial<TunnelClientOptions> & { url: string; gatewayId: string; secret: string }) {
  return new TunnelClient({ backoff: { initialMs: 20, maxMs: 100, reconnectWindowMs: 100 }, ...opts });
}

/** Resolves when `client` reaches `state` (immediately if it already is); rejects on 'refused' when not expected. */
export async function waitState(
  client: TunnelClient,
  state: string,
): Promise<{ reason?: string; code?: string; nextRetryMs?: number }> {
  if (client.state === state) return {};
  for (;;) {
    const [s, info] = (await once(client, 'state')) as [string, { reason?: string; code?: string }];
    if (s === state) return info;
  }
}

/** Resolves with the args of the first `event` whose args satisfy `pred`. */
export async function waitEvent<T extends unknown[]>(
  em: EventEmitter,
  event: string,
  pred: (...args: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const on = (...args: unknown[]): void => {
      if (pred(...(args as T))) {
        em.off(event, on);
        resolve(args as T);
      }
    };
    em.on(event, on);
  });
}

/** Collects `n` messages from an emitter's `message` event. */
export function collect(em: EventEmitter, n: number): Promise<string[]> {
  const out: string[] = [];
  return new Promise((resolve) => {
    const on = (m: string): void => {
      out.push(m);
      if (out.length === n) {
        em.off('message', on);
        resolve(out);
      }
    };
    em.on('message', on);
  });
}
