import type { TunnelServerOptions } from '../tunnel/index.js';
import type { Logger } from '../util/index.js';
import type { ForwardedHeader } from './abuse/client-address.js';
import type { ConnectionLimits } from './abuse/connection-guard.js';
import { DEFAULT_HUB_TIMEOUTS, type HubTimeouts } from './abuse/timeouts.js';
import type { ApiAuthLimits } from './api-auth.js';
import type { ExposureServiceConfig } from './exposure-options.js';
import type { GatewayRecord } from './gateway-directory.js';
import type { TurnOptions } from './turn.js';
import type { ViewerOptions } from './viewer/index.js';

// What `Hub.start()` takes, and the defaults it applies (the Hub class is in hub.ts).

export interface HubOptions {
  /** Where gateways and browsers reach the hub (`/tunnel`, `/api/`). Port 0 picks a free port. */
  listen?: { host?: string; port?: number };
  /** PEM certificate and key: the hub then serves https/wss. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Serve plain http/ws on a non-loopback address. Only for a hub behind a TLS-terminating proxy. */
  allowInsecure?: boolean;
  /** Where the per-gateway Kurento endpoints listen; loopback only. Port 0 picks a free port. */
  kurento?: { host?: string; port?: number };
  gateways?: GatewayRecord[];
  /** The API tokens, as `camgate hub add-token` stores them (`ID:scrypt$…`); id-less hashes are refused. */
  apiTokenHashes?: string[];
  /** Failed API authentications per client before backoff (429), and concurrent scrypt checks per client. */
  apiAuthLimits?: ApiAuthLimits;
  /**
   * Reverse proxies (addresses or CIDR ranges) whose forwarded header names the client. Only connections
   * from these use the forwarded address — for rate limits, tunnel limits and logs; they are also exempt
   * from the per-address connection cap. Default: none (the socket's address is the client).
   */
  trustedProxies?: string[];
  /** The header the trusted proxies write: `x-forwarded-for` (default) or `forwarded` (RFC 7239). */
  forwardedHeader?: ForwardedHeader;
  /** Caps on open and unauthenticated connections (see abuse/connection-guard.ts). */
  connections?: ConnectionLimits;
  /** How long slow clients are waited for. */
  timeouts?: HubTimeouts;
  /** `Strict-Transport-Security` max-age on a TLS hub (s); 0 sends none. */
  hstsMaxAgeS?: number;
  /** Tunnel tuning (limits, heartbeat, resume grace) passed to the TunnelServer. */
  tunnel?: Omit<TunnelServerOptions, 'lookupVerifier' | 'logger'>;
  maxMessageBytes?: number;
  /** Log every message on the Kurento endpoints, both ways, at debug (`camgate hub --verbose`). */
  logFrames?: boolean;
  /**
   * TURN relay for viewers and the media backend: time-limited credentials are
   * minted from coturn's `static-auth-secret` (TURN REST scheme, see turn.ts).
   * Without it no relay is offered (fine when viewer and media share a network).
   */
  turn?: TurnOptions;
  /** The outside exposure monitor (scans each online gateway's public address); off when unset. */
  exposure?: ExposureServiceConfig;
  /**
   * The viewer web app (`/`, `/login`, `/logout`, `/static/*`, `/viewer/ws`): users file, session TTL, hooks.
   * Off when unset. Its ICE servers default to this hub's TURN credentials (`iceServersFor`).
   */
  viewer?: ViewerOptions;
  logger?: Logger;
}

export const DEFAULT_HUB_OPTIONS = {
  /** Flag changes within this window reach the viewer pages as one update. */
  flagRefreshMs: 100, // ms: a scan or a gateway snapshot changes several flags at once
  listen: { host: '127.0.0.1', port: 8443 },
  kurento: { host: '127.0.0.1', port: 8889 },
  maxMessageBytes: 1024 * 1024, // 1 MiB
  timeouts: DEFAULT_HUB_TIMEOUTS,
  hstsMaxAgeS: 31_536_000, // 1 year (RFC 6797 §6.1.1; what hstspreload.org asks for)
} as const;
