import { once } from 'node:events';
import {
  createLogger,
  Gateway,
  Hub,
  KurentoEngine,
  makeVerifier,
  memorySink,
  SecretSet,
  type CameraConfig,
  type EngineOptions,
  type GatewayOptions,
  type HubOptions,
  type LogRecord,
} from '@camgate/core';
import { TcpProxy } from './tcp-proxy.js';

export const GATEWAY_ID = 'home-1';
export const GATEWAY_SECRET = 'gw-secret-Z6rT9qLm2vXc8HnB4pKw';

export interface Stack {
  engine: KurentoEngine;
  hub: Hub;
  gateway: Gateway;
  /** Sits between gateway and hub: records what the hub receives, can cut the link. */
  proxy: TcpProxy;
  /** kurento-client URL at the hub for the gateway. */
  kurentoUrl: string;
  logs: LogRecord[];
  secrets: SecretSet;
  close(): Promise<void>;
}

export interface StackOptions {
  cameras?: CameraConfig[];
  gateway?: Partial<GatewayOptions>;
  hub?: Partial<HubOptions>;
  engine?: EngineOptions;
}

/** Engine, hub and gateway on loopback, ports chosen by the OS, gateway dialling the hub through a TcpProxy. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sink = memorySink();
  const secrets = new SecretSet();
  secrets.add(GATEWAY_SECRET);
  for (const c of opts.cameras ?? []) secrets.add(c.password);
  const logger = createLogger('test', sink, secrets);
  const engine = await KurentoEngine.start({ port: 0, logger: logger.child('engine'), ...opts.engine });
  const hub = await Hub.start({
    listen: { port: 0 },
    kurento: { port: 0 },
    gateways: [{ id: GATEWAY_ID, name: 'Home', secretHash: await makeVerifier(GATEWAY_SECRET) }],
    logger: logger.child('hub'),
    ...opts.hub,
  });
  const proxy = await TcpProxy.create({ port: new URL(hub.url).port ? Number(new URL(hub.url).port) : 80 });
  const online = once(hub, 'gateway');
  const gateway = Gateway.start({
    hub: { url: `ws://127.0.0.1:${proxy.port}/tunnel`, gatewayId: GATEWAY_ID, secret: GATEWAY_SECRET },
    mediaBackendUrl: engine.url,
    cameras: opts.cameras ?? [],
    logger: logger.child('gateway'),
    // Tests count RTSP sessions and pipelines; keep-warm.test.ts turns warming on.
    keepWarm: false,
    // Engine, viewers and browsers all run on 127.0.0.1: their ICE candidates and SDP addresses are loopback,
    // which a gateway refuses by default (media-targets.test.ts covers that default).
    allowLanViewers: true,
    ...opts.gateway,
  });
  await online;
  return {
    engine,
    hub,
    gateway,
    proxy,
    kurentoUrl: hub.kurentoUrl(GATEWAY_ID),
    logs: sink.records,
    secrets,
    async close() {
      await gateway.close();
      await hub.close();
      await proxy.close();
      await engine.close();
    },
  };
}
