import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from '../../util/index.js';
import type { LoginLimiterOptions, UserRecord } from '../accounts/index.js';
import type { Flag } from '../../alerts/index.js';
import type { ExposureState } from './cameras.js';
import type { ViewerIceConfig } from './connection.js';

export interface ViewerOptions {
  /** The users file (JSON, or YAML by extension) that `addUser` / `camgate hub add-user` writes. */
  usersFile?: string;
  /** Users held in memory instead of a file (tests, embedding). Ignored when `usersFile` is set. */
  users?: UserRecord[];
  /**
   * SQLite file keeping sign-in sessions across hub restarts (mode 0600, only token hashes). Default: beside
   * `usersFile`, named after it (`users.json` → `users-sessions.sqlite`); in memory when neither is set.
   */
  sessionsFile?: string;
  /** How long a sign-in lasts (ms); the server forgets the session after it. */
  sessionTtlMs?: number;
  /** Most sign-in sessions held at once. */
  maxSessions?: number;
  /** Sign-in rate limits (per address, per user). */
  login?: LoginLimiterOptions;
  /** Origins accepted besides the hub's own, e.g. `https://cams.example.org` behind a TLS proxy. */
  allowedOrigins?: string[];
  /** ICE servers for a user's browser and STUN/TURN for the media backend (TURN REST credentials). Default: none. */
  iceServersFor?: (user: string) => ViewerIceConfig | Promise<ViewerIceConfig>;
  /** The exposure state of a camera, when the exposure monitor knows it. */
  exposureFor?: (gatewayId: string, cameraId: string) => ExposureState | undefined;
  /**
   * The raised flags of a gateway (the hub's outside findings and the gateway's own), shown as a badge per
   * camera and a banner for the whole home; call `refreshFlags()` when they change. Default: none.
   */
  flagsFor?: (gatewayId: string) => readonly Flag[];
  /** Which browser ICE candidates may reach the media backend (default: all). Tests keep loopback only. */
  acceptBrowserCandidate?: (candidate: string) => boolean;
  /** Players one page may have open at once. */
  maxStreamsPerSocket?: number;
  /** Viewer WebSockets one session may hold at once (tabs). */
  maxSocketsPerSession?: number;
  /** Largest WebSocket frame from a browser (bytes). */
  maxMessageBytes?: number;
  /** Longest SDP offer (characters). */
  maxSdpChars?: number;
  /** Frames one viewer socket may send per second; more closes it (1008). */
  maxMessagesPerSecond?: number;
  /** How often the hub pings each viewer socket (ms); a socket that missed a whole round is closed. */
  heartbeatMs?: number;
  /** How long each Kurento request through the tunnel may take (ms). */
  requestTimeoutMs?: number;
  /** Directory of the pages and assets (default: the package's `static/`). */
  staticDir?: string;
  logger?: Logger;
}

export const DEFAULT_VIEWER_OPTIONS = {
  sessionTtlMs: 12 * 60 * 60 * 1000, // 12 h
  maxSessions: 10_000,
  maxStreamsPerSocket: 16, // a 4x4 grid
  maxSocketsPerSession: 8,
  maxMessageBytes: 64 * 1024, // 64 KiB: an offer is 3-8 KiB
  maxSdpChars: 32 * 1024, // 32 KiB
  maxMessagesPerSecond: 100,
  requestTimeoutMs: 10_000, // 10 s
  heartbeatMs: 30_000, // 30 s: under the 60 s idle timeout of common proxies (nginx proxy_read_timeout)
} as const;

export type ResolvedViewerOptions = Omit<ViewerOptions, keyof typeof DEFAULT_VIEWER_OPTIONS | 'allowedOrigins'> & {
  -readonly [K in keyof typeof DEFAULT_VIEWER_OPTIONS]: number;
} & { allowedOrigins: string[] };

/** Merges defaults and validates, naming the option, the value and what is allowed. */
export function resolveViewerOptions(opts: ViewerOptions): ResolvedViewerOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('viewer options must be an object');
  const o = { ...DEFAULT_VIEWER_OPTIONS, ...opts };
  for (const name of Object.keys(DEFAULT_VIEWER_OPTIONS) as (keyof typeof DEFAULT_VIEWER_OPTIONS)[]) {
    const v: unknown = o[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new TypeError(`viewer option ${name}: ${String(v)} is not allowed (a positive integer)`);
    }
    if (v < 1) throw new RangeError(`viewer option ${name}: ${v} is not allowed (>= 1)`);
  }
  if (o.usersFile !== undefined && (typeof o.usersFile !== 'string' || o.usersFile === '')) {
    throw new TypeError(`viewer option usersFile: ${String(o.usersFile)} is not allowed (a file path)`);
  }
  if (o.sessionsFile !== undefined && (typeof o.sessionsFile !== 'string' || o.sessionsFile === '')) {
    throw new TypeError(`viewer option sessionsFile: ${String(o.sessionsFile)} is not allowed (a file path)`);
  }
  if (o.usersFile === undefined && !Array.isArray(o.users)) {
    throw new TypeError('viewer options: usersFile (a path) or users (a list) is required');
  }
  const allowedOrigins = (o.allowedOrigins ?? []).map((origin) => {
    if (typeof origin !== 'string' || !/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(origin)) {
      throw new TypeError(`viewer option allowedOrigins: ${String(origin)} is not allowed (scheme://host[:port])`);
    }
    return origin.toLowerCase();
  });
  for (const hook of ['iceServersFor', 'exposureFor', 'flagsFor', 'acceptBrowserCandidate'] as const) {
    if (o[hook] !== undefined && typeof o[hook] !== 'function') {
      throw new TypeError(`viewer option ${hook}: must be a function`);
    }
  }
  return { ...o, allowedOrigins, sessionsFile: o.sessionsFile ?? defaultSessionsFile(o.usersFile) };
}

/** The sessions database beside the users file: `users.json` → `users-sessions.sqlite`. */
export function defaultSessionsFile(usersFile: string | undefined): string | undefined {
  if (usersFile === undefined) return undefined;
  return join(dirname(usersFile), `${basename(usersFile, extname(usersFile))}-sessions.sqlite`);
}
