import { createServer, isIPv6, type AddressInfo, type Socket } from 'node:net';
import { CamgateError, defaultLogger, isLoopbackHost, type Logger } from '../util/index.js';

export interface EmbeddedBrokerOptions {
  /** Loopback address to listen on; the gateway opens no socket reachable from the network. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Concurrent client connections accepted. */
  maxConnections?: number;
  logger?: Logger;
}

export const DEFAULT_EMBEDDED_BROKER_OPTIONS = {
  host: '127.0.0.1',
  port: 0, // ephemeral
  maxConnections: 64, // clients: HA, Node-RED, Homebridge and a few tools
} as const;

export interface EmbeddedBroker {
  /** `mqtt://host:port` to give to clients. */
  readonly url: string;
  readonly port: number;
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

/**
 * An in-process MQTT 3.1.1 broker (aedes) on a loopback TCP port, used when
 * no broker is configured so the demo works on one host with nothing else
 * installed.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? DEFAULT_EMBEDDED_BROKER_OPTIONS.host;
  const port = options.port ?? DEFAULT_EMBEDDED_BROKER_OPTIONS.port;
  const maxConnections = options.maxConnections ?? DEFAULT_EMBEDDED_BROKER_OPTIONS.maxConnections;
  if (typeof host !== 'string' || !isLoopbackHost(host)) {
    throw new RangeError(`host must be a loopback address (127.0.0.0/8, ::1, localhost), got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`port must be an integer 0-65535, got ${port}`);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new RangeError(`maxConnections must be an integer >= 1, got ${maxConnections}`);
  }
  const logger = options.logger ?? defaultLogger('alerts:broker');

  // aedes 1.x is ESM-only and builds its persistence asynchronously.
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  broker.on('clientError', (client, err) => logger.debug('mqtt client error', { client: client.id, error: err }));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy()); // aedes reports protocol errors itself
    broker.handle(socket);
  });
  server.maxConnections = maxConnections;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((r) => broker.close(() => r()));
    throw new CamgateError(
      'CAMGATE_MQTT_BROKER',
      `embedded MQTT broker cannot listen on ${host}:${port}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const bound = (server.address() as AddressInfo).port;
  const url = `mqtt://${isIPv6(host) ? `[${host}]` : host}:${bound}`;
  logger.info('embedded MQTT broker listening', { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    port: bound,
    close() {
      closing ??= (async () => {
        await new Promise<void>((r) => broker.close(() => r()));
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => server.close(() => r()));
        logger.info('embedded MQTT broker closed', { url });
      })();
      return closing;
    },
  };
}
