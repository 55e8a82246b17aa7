import { isIP } from 'node:net';
import type { Logger } from '../util/index.js';
import { ENGINE_TOKEN_PATTERN, generateEngineToken } from './access.js';
import type { IceServer, MediaPlane } from './media-plane.js';

export interface EngineOptions {
  /** Address to listen on. Loopback by default: the engine is for the gateway beside it. */
  host?: string;
  /** TCP port; 0 picks an ephemeral port (tests). */
  port?: number;
  /** WebSocket path, `/kurento` like KMS. */
  path?: string;
  /**
   * The credential every client must present as `?token=` in its URL
   * (16-256 of A-Z a-z 0-9 _ -). Default: a random one per start, found in
   * `engine.url`. `camgate engine` keeps one in a 0600 file (token-file.ts).
   */
  token?: string;
  /** Largest accepted WebSocket message (bytes); bigger ones close the connection with 1009. */
  maxMessageBytes?: number;
  /** How long a session outlives its connection before its objects are released (ms). */
  sessionGcMs?: number;
  /** Sessions held at once, connected or not. */
  maxSessions?: number;
  /** Objects one session may hold. */
  maxObjectsPerSession?: number;
  /** Event subscriptions one session may hold. */
  maxSubscriptionsPerSession?: number;
  /** Requests queued per connection behind the running one. */
  maxPendingRequests?: number;
  /** STUN/TURN servers every WebRtcEndpoint uses (TURN credentials are never logged). */
  iceServers?: IceServer[];
  /** Extra host candidate addresses (e.g. the LAN address when behind Docker). */
  additionalHostAddresses?: string[];
  /**
   * The media plane (shared RTSP sources, WebRTC peers). Default: the engine's
   * own (src/engine/media), created at start and closed with the engine. An
   * injected one belongs to the caller.
   */
  media?: MediaPlane;
  /** Log every request and answer at debug (`camgate engine --verbose`); URL credentials and tokens redacted. */
  logFrames?: boolean;
  /** Gather WebRTC host candidates on this IPv4 address only (e.g. '127.0.0.1' in tests, the LAN address). */
  interfaceAddress?: string;
  logger?: Logger;
}

export const DEFAULT_ENGINE_OPTIONS = {
  host: '127.0.0.1',
  port: 8888, // KMS's port
  path: '/kurento',
  maxMessageBytes: 1_048_576, // 1 MiB: SDP offers are ~10 kB, transactions a few kB
  sessionGcMs: 120_000, // 120 s
  maxSessions: 256,
  maxObjectsPerSession: 512,
  maxSubscriptionsPerSession: 2048,
  maxPendingRequests: 256,
  logFrames: false,
} as const;

export type ResolvedEngineOptions = Required<Omit<EngineOptions, 'media' | 'logger' | 'interfaceAddress'>> & {
  interfaceAddress: string | undefined;
  media: MediaPlane | undefined;
  logger: Logger | undefined;
};

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`EngineOptions.${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < min || v > max) throw new RangeError(`EngineOptions.${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

/** Merges defaults and validates every field, naming the option, the value and what is allowed. */
export function resolveEngineOptions(opts: EngineOptions = {}): ResolvedEngineOptions {
  const d = DEFAULT_ENGINE_OPTIONS;
  const host = opts.host ?? d.host;
  if (typeof host !== 'string' || (isIP(host) === 0 && host !== 'localhost')) {
    throw new TypeError(`EngineOptions.host must be an IP address or 'localhost', got ${String(host)}`);
  }
  const path = opts.path ?? d.path;
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9/_.-]*$/.test(path)) {
    throw new TypeError(`EngineOptions.path must be an absolute URL path like '/kurento', got ${String(path)}`);
  }
  const token = opts.token ?? generateEngineToken();
  if (typeof token !== 'string' || !ENGINE_TOKEN_PATTERN.test(token)) {
    // The value is not echoed: it is a credential.
    throw new TypeError('EngineOptions.token must be 16-256 characters of A-Z a-z 0-9 _ -');
  }
  const iceServers = opts.iceServers ?? [];
  if (!Array.isArray(iceServers) || !iceServers.every((s) => typeof s?.urls === 'string')) {
    throw new TypeError('EngineOptions.iceServers must be an array of { urls: string, username?, credential? }');
  }
  const additionalHostAddresses = opts.additionalHostAddresses ?? [];
  if (!Array.isArray(additionalHostAddresses) || !additionalHostAddresses.every((a) => isIP(a) !== 0)) {
    throw new TypeError('EngineOptions.additionalHostAddresses must be an array of IP addresses');
  }
  if (opts.interfaceAddress !== undefined && isIP(opts.interfaceAddress) !== 4) {
    throw new TypeError(`EngineOptions.interfaceAddress must be an IPv4 address, got ${String(opts.interfaceAddress)}`);
  }
  return {
    interfaceAddress: opts.interfaceAddress,
    host,
    port: int('port', opts.port ?? d.port, 0, 65_535),
    path,
    token,
    maxMessageBytes: int('maxMessageBytes', opts.maxMessageBytes ?? d.maxMessageBytes, 1024, 64 * 1_048_576),
    sessionGcMs: int('sessionGcMs', opts.sessionGcMs ?? d.sessionGcMs, 1, 86_400_000),
    maxSessions: int('maxSessions', opts.maxSessions ?? d.maxSessions, 1, 1_000_000),
    maxObjectsPerSession: int(
      'maxObjectsPerSession',
      opts.maxObjectsPerSession ?? d.maxObjectsPerSession,
      1,
      1_000_000,
    ),
    maxSubscriptionsPerSession: int(
      'maxSubscriptionsPerSession',
      opts.maxSubscriptionsPerSession ?? d.maxSubscriptionsPerSession,
      1,
      1_000_000,
    ),
    maxPendingRequests: int('maxPendingRequests', opts.maxPendingRequests ?? d.maxPendingRequests, 1, 100_000),
    logFrames: opts.logFrames === true,
    iceServers: iceServers.map((s) => ({ ...s })),
    additionalHostAddresses: [...additionalHostAddresses],
    media: opts.media,
    logger: opts.logger,
  };
}
