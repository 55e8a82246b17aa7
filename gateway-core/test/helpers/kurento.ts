/**
 * Test helpers for the Kurento library: a tiny Kurento-protocol server on
 * loopback that answers like KMS 7.3 would (plausible ids, sessionId in every
 * result, onEvent after gatherCandidates), records every request, and can put
 * a PolicySession in front of its "backend" exactly as the gateway relay does.
 */
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import type { AddressInfo } from 'node:net';
import type { JsonObject, JsonRpcRequest, JsonRpcResponse, JsonValue } from '../../src/kurento/jsonrpc.js';
import { errorResponse, parseMessage, resultResponse } from '../../src/kurento/jsonrpc.js';
import type { KurentoPolicy, PolicySession } from '../../src/kurento/policy.js';

export interface FakeKurento {
  url: string;
  /** Requests as the hub side sent them (before the policy). */
  received: JsonRpcRequest[];
  /** Requests the backend saw (after the policy). */
  backend: JsonRpcRequest[];
  /** Requests the policy refused, with the rule. */
  denied: Array<{ request: JsonRpcRequest; rule: string }>;
  /** Raw frames sent to clients. */
  sent: string[];
  sessions: PolicySession[];
  sockets: Set<WebSocket>;
  close(): Promise<void>;
}

export interface FakeKurentoOptions {
  /** When given, every request passes a PolicySession first (one per connection). */
  policy?: KurentoPolicy;
  /** Called for each request; return a response to override the default answer. */
  override?: (req: JsonRpcRequest) => JsonValue | { error: { code: number; message: string } } | undefined;
}

/** The answer a KMS-like backend gives to one (already policy-checked) request. */
function answer(req: { method: string; params?: unknown }, sessionId: string, objects: Map<string, string>): JsonValue {
  const p = (req.params ?? {}) as JsonObject;
  switch (req.method) {
    case 'ping':
      return { value: 'pong' };
    case 'connect':
      return { sessionId };
    case 'describe':
      if (p.object === 'manager_ServerManager') {
        return {
          type: 'ServerManager',
          qualifiedType: 'kurento.ServerManager',
          hierarchy: ['kurento.MediaObject'],
          sessionId,
        };
      }
      return { type: objects.get(String(p.object)) ?? 'MediaObject', hierarchy: [], sessionId };
    case 'create': {
      const type = String(p.type);
      const cp = (p.constructorParams ?? {}) as JsonObject;
      const id =
        type === 'MediaPipeline'
          ? `${randomUUID()}_kurento.MediaPipeline`
          : `${String(cp.mediaPipeline)}/${randomUUID()}_kurento.${type}`;
      objects.set(id, type);
      return { value: id, sessionId };
    }
    case 'invoke': {
      const op = String(p.operation);
      if (op === 'getInfo') {
        return {
          value: {
            version: '7.3.0',
            type: 'KMS',
            capabilities: ['transactions'],
            modules: ['core', 'elements', 'filters'].map((name) => ({
              name,
              version: '7.3.0',
              generationTime: 'Jan 1 2024',
              factories: [],
            })),
          },
          sessionId,
        };
      }
      if (op === 'processOffer') return { value: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n', sessionId };
      if (op === 'getUri') {
        const src = [...objects.keys()].find((k) => k === p.object);
        return { value: src ? String(lastUri.get(src) ?? '') : '', sessionId };
      }
      return { sessionId };
    }
    case 'subscribe':
      return { value: `sub-${randomUUID()}`, sessionId };
    case 'unsubscribe':
    case 'release':
      objects.delete(String(p.object));
      return { sessionId };
    case 'transaction': {
      const ops = (p.operations ?? []) as JsonObject[];
      const created: string[] = [];
      const value = ops.map((op, i) => {
        // Resolve newref:N like KMS does before executing the operation.
        const text = JSON.stringify(op.params ?? {}).replace(/"newref:(\d+)"/g, (_m, n: string) =>
          JSON.stringify(created[Number(n)] ?? ''),
        );
        const params = JSON.parse(text) as JsonObject;
        const res = answer({ method: String(op.method), params }, sessionId, objects) as JsonObject;
        if (op.method === 'create') created[i] = String(res.value);
        return { result: res };
      });
      return { value, sessionId };
    }
    default:
      return { sessionId };
  }
}

/** PlayerEndpoint id → the URI it was created with (what KMS's getUri would echo). */
const lastUri = new Map<string, string>();

export async function startFakeKurento(opts: FakeKurentoOptions = {}): Promise<FakeKurento> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  const fake: FakeKurento = {
    url: `ws://127.0.0.1:${port}/kurento`,
    received: [],
    backend: [],
    denied: [],
    sent: [],
    sessions: [],
    sockets: new Set(),
    close: async () => {
      for (const s of fake.sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (ws) => {
    fake.sockets.add(ws);
    ws.on('close', () => fake.sockets.delete(ws));
    const sessionId = randomUUID();
    const objects = new Map<string, string>();
    const session = opts.policy?.createSession();
    if (session) fake.sessions.push(session);
    const send = (msg: unknown): void => {
      const text = JSON.stringify(msg);
      fake.sent.push(text);
      ws.send(text);
    };
    ws.on('message', (data) => {
      let msg;
      try {
        msg = parseMessage(data.toString(), 1024 * 1024);
      } catch (err) {
        send(errorResponse(null, -32700, (err as Error).message));
        return;
      }
      if (!('method' in msg) || !('id' in msg)) return;
      fake.received.push(msg);
      let forwarded: JsonRpcRequest = msg;
      if (session) {
        const verdict = session.check(msg);
        if (verdict.action === 'deny') {
          fake.denied.push({ request: msg, rule: verdict.rule });
          send(verdict.response);
          return;
        }
        forwarded = verdict.message;
      }
      fake.backend.push(forwarded);
      const over = opts.override?.(forwarded);
      let res: JsonRpcResponse;
      if (over && typeof over === 'object' && !Array.isArray(over) && 'error' in over) {
        const e = over.error as { code: number; message: string };
        res = errorResponse(forwarded.id, e.code, e.message);
      } else {
        const result = over ?? answer(forwarded, sessionId, objects);
        res = resultResponse(forwarded.id, result);
      }
      if (forwarded.method === 'create') {
        const p = forwarded.params as JsonObject;
        const cp = (p.constructorParams ?? {}) as JsonObject;
        const value = (res as { result?: { value?: unknown } }).result?.value;
        if (typeof cp.uri === 'string' && typeof value === 'string') lastUri.set(value, cp.uri);
      }
      if (session) {
        session.observeResponse(forwarded, res);
        res = session.sanitizeResponse(res);
      }
      send(res);
      // KMS raises IceCandidateFound after gatherCandidates (trickle ICE).
      const p = (forwarded.params ?? {}) as JsonObject;
      if (forwarded.method === 'invoke' && p.operation === 'gatherCandidates') {
        send({
          jsonrpc: '2.0',
          method: 'onEvent',
          params: {
            value: {
              object: p.object,
              type: 'IceCandidateFound',
              data: {
                source: p.object,
                type: 'IceCandidateFound',
                tags: [],
                timestamp: '0',
                candidate: {
                  __module__: 'kurento',
                  __type__: 'IceCandidate',
                  candidate: 'candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host',
                  sdpMid: '0',
                  sdpMLineIndex: 0,
                },
              },
            },
          },
        });
      }
    });
  });
  return fake;
}

/** A camera registry with one camera, for policy tests. */
export const TEST_CAMERA_URI = 'rtsp://admin:Sup3rS3cretPw@192.0.2.10:554/Streaming/Channels/101';
export const testCameras = {
  resolveCameraUri(id: string): string | undefined {
    return id === 'cam1' ? TEST_CAMERA_URI : undefined;
  },
};
