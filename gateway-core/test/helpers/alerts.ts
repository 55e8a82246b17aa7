/** Test helpers for the alerts folder: an MQTT watcher and a TCP proxy whose sockets a test can cut. */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Watcher {
  client: MqttClient;
  /** Latest payload per topic. */
  last: Map<string, string>;
  /** Every message, in arrival order. */
  all: { topic: string; payload: string; retain: boolean }[];
  /**
   * Resolves with the first payload on `topic` (already received or still to come) for which `pred` holds.
   * Not only the latest: a broker may deliver a retained message after a live one (aedes streams
   * retained messages after SUBACK), so "latest" would race.
   */
  waitFor(topic: string, pred?: (payload: string) => boolean): Promise<string>;
  close(): Promise<void>;
}

/** Connects a second client that subscribes to `filters` and records what arrives. */
export async function watch(url: string, filters: string[], opts: IClientOptions = {}): Promise<Watcher> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...opts });
  const last = new Map<string, string>();
  const all: Watcher['all'] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString('utf8');
    last.set(topic, text);
    all.push({ topic, payload: text, retain: packet.retain });
    for (const w of [...waiters]) w();
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    client,
    last,
    all,
    waitFor(topic, pred = () => true) {
      return new Promise((resolve) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < all.length; seen++) {
            const m = all[seen]!;
            if (m.topic === topic && pred(m.payload)) {
              waiters.delete(check);
              resolve(m.payload);
              return;
            }
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => client.endAsync(true),
  };
}

export interface TcpProxy {
  port: number;
  url: string;
  /** Destroys every proxied connection (both sides) and stops accepting new ones. */
  cut(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP proxy to 127.0.0.1:targetPort, so a test can kill a client's socket without its knowledge. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.once('close', () => outbound.destroy());
    outbound.once('close', () => inbound.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    }));
  return { port, url: `mqtt://127.0.0.1:${port}`, cut: close, close };
}
