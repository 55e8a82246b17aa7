import { z } from 'zod';
import { parseMediaTarget } from '../kurento/policy-targets.js';
import { parseVerifier } from '../tunnel/scram.js';
import { TRANSCODE_MODES } from '../engine/camera-profiles.js';
import { CONFIG_PATTERNS, GATEWAY_SECRET_MIN_LENGTH } from './patterns.js';
import { parseTrustedProxies } from '../hub/abuse/client-address.js';
import { storedApiTokenProblem } from '../hub/api-tokens.js';

/** Ids become URL path segments and MQTT topic levels: keep them plain. */
export const idSchema = z
  .string()
  .regex(CONFIG_PATTERNS.id, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit');

const portSchema = z.number().int().min(0).max(65535);
const portList = z.array(z.number().int().min(1).max(65535)).max(64);

export const cameraSchema = z
  .object({
    id: idSchema,
    name: z.string().min(1).max(100),
    /** The camera's RTSP URL on the LAN, without credentials. */
    url: z
      .string()
      .max(2048)
      .refine((u) => /^rtsps?:\/\/[^\s]+$/i.test(u), 'must be an rtsp:// or rtsps:// URL')
      .refine((u) => !/^rtsps?:\/\/[^/]*@/i.test(u), 'must not contain credentials; use username and password')
      .refine((u) => CONFIG_PATTERNS.rtspUrl.test(u), 'must be rtsp://HOST[:PORT]/PATH'),
    username: z.string().max(256).optional(),
    password: z.string().max(256).optional(),
    /** LAN address the audit checks (defaults to the URL's host). */
    host: z.string().max(255).optional(),
    /** Service ports the audit and the outside monitor look at for this camera. */
    ports: portList.optional(),
    snapshotUrl: z.string().url().max(2048).optional(),
    /** Built-in engine only: 'auto' (default) transcodes only what a browser cannot play (H.265, B-frames). */
    transcode: z.enum(TRANSCODE_MODES).optional(),
  })
  .strict();

export type CameraConfig = z.output<typeof cameraSchema>;

/** Gateway: where flags go over MQTT (docs/mqtt.md). `url`, or `embedded: true` for an in-process broker on loopback. */
export const gatewayMqttSchema = z
  .object({
    url: z.string().max(2048).regex(CONFIG_PATTERNS.mqttUrl, 'must be an mqtt:// or mqtts:// URL').optional(),
    username: z.string().max(256).optional(),
    password: z.string().max(256).optional(),
    /** Start an embedded aedes broker on 127.0.0.1 instead of connecting to one. */
    embedded: z.boolean().optional(),
    /** TCP port of the embedded broker (0 = any free port). */
    embeddedPort: portSchema.optional(),
    baseTopic: z.string().min(1).max(128).optional(),
    /** Publish Home Assistant discovery configs (default true). */
    homeAssistant: z.boolean().optional(),
    /** Allow plain mqtt:// to a host that is not loopback. */
    allowInsecure: z.boolean().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.url === undefined && m.embedded !== true)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'set url, or embedded: true' });
    if (m.url !== undefined && m.embedded === true)
      ctx.addIssue({ code: 'custom', path: ['embedded'], message: 'embedded: true and url exclude each other' });
  });

/** Gateway: the LAN audit (docs/exposure.md). */
export const gatewayAuditSchema = z
  .object({
    /** Time between audits, ms (default 6 h). */
    intervalMs: z
      .number()
      .int()
      .min(10_000)
      .max(7 * 24 * 3_600_000)
      .optional(),
    /** UPnP IGD mapping check (default on); an object points SSDP at a unicast address. */
    upnp: z
      .union([
        z.boolean(),
        z
          .object({
            ssdpAddress: z.string().max(64).optional(),
            ssdpPort: z.number().int().min(1).max(65535).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Telnet check (default on). */
    telnet: z.boolean().optional(),
    /** Factory-default credentials check (default off: it logs in to the cameras). */
    defaultCredentials: z.boolean().optional(),
  })
  .strict();

/** Gateway: compromise behaviour (docs/exposure.md "Compromise behaviour"). */
export const gatewayCompromiseSchema = z
  .object({
    /** Unix socket where `camgate canary --report` delivers what the canary saw. */
    canarySocket: z.string().min(1).max(100).optional(),
    /** Read the router's connection table (camgate on the router); an object tunes it. */
    conntrack: z
      .union([
        z.boolean(),
        z
          .object({
            source: z.enum(['conntrack', 'proc']).optional(),
            binary: z.string().min(1).max(4096).optional(),
            intervalMs: z.number().int().min(500).max(3_600_000).optional(),
            windowMs: z.number().int().min(1000).max(3_600_000).optional(),
            distinctDestinations: z.number().int().min(2).max(100_000).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** A compromise flag clears after its source has been quiet this long, ms (default 24 h). */
    quietMs: z
      .number()
      .int()
      .min(60_000)
      .max(90 * 24 * 3_600_000)
      .optional(),
  })
  .strict();

const tlsClientSchema = z
  .object({
    /** PEM file with the CA that signed the hub's certificate. */
    caFile: z.string().optional(),
    /** SHA-256 fingerprint of the hub's certificate (AA:BB:…), for self-signed hubs. */
    fingerprint256: z
      .string()
      .regex(CONFIG_PATTERNS.fingerprint256, 'must be 32 hex bytes separated by ":"')
      .optional(),
  })
  .strict();

export const gatewayConfigSchema = z
  .object({
    hub: z
      .object({
        /** wss://HUB/tunnel */
        url: z.string().regex(CONFIG_PATTERNS.wsUrl, 'must be a ws:// or wss:// URL'),
        gatewayId: idSchema,
        secret: z
          .string()
          .min(GATEWAY_SECRET_MIN_LENGTH, 'must be at least 16 characters (use `camgate hub add-gateway`)')
          .max(512),
        tls: tlsClientSchema.optional(),
        /** Allow plain ws:// to a host that is not loopback. */
        allowInsecure: z.boolean().optional(),
      })
      .strict(),
    /** The Kurento-protocol media backend (KMS or `camgate engine`). */
    mediaBackend: z
      .object({
        url: z.string().regex(CONFIG_PATTERNS.wsUrl, 'must be a ws:// or wss:// URL'),
        /**
         * The built-in engine's token file (`camgate engine --token-file`); default: the engine's default
         * path, used when it exists. Its token is added to the URL as `?token=`.
         */
        tokenFile: z.string().min(1).max(4096).optional(),
      })
      .strict()
      .default({ url: 'ws://127.0.0.1:8888/kurento' }),
    cameras: z.array(cameraSchema).max(256).default([]),
    /** How long a Kurento session whose viewers vanished keeps its objects. */
    sessionGraceMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Keep every camera's stream pulled so viewers get a picture at once; 'auto': with the built-in engine only. */
    keepWarm: z.union([z.boolean(), z.literal('auto')]).optional(),
    /** The gateway's flag store (append-only JSONL); in memory when unset. */
    flagsFile: z.string().min(1).max(4096).optional(),
    mqtt: gatewayMqttSchema.optional(),
    audit: gatewayAuditSchema.optional(),
    compromise: gatewayCompromiseSchema.optional(),
    /**
     * TURN/STUN servers the media backend may be told to use (`host` or `host:port`); default: the hub's host
     * and the TURN servers it advertises (docs/kurento-policy.md "Media targets").
     */
    mediaTargets: z
      .array(
        z.string().superRefine((value, ctx) => {
          try {
            parseMediaTarget(value, 'entry');
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
          }
        }),
      )
      .max(64)
      .optional(),
    /** Accept viewer ICE candidates and SDP addresses on loopback, private and link-local ranges (default false). */
    allowLanViewers: z.boolean().optional(),
    /** Let the hub create RtpEndpoints (default false; the Homebridge plugin does not need it). */
    allowRtpEndpoint: z.boolean().optional(),
    /** The outside monitor's helpers on the gateway (docs/exposure.md "Attribution", "IPv6"). */
    exposure: z
      .object({
        /** Announce the cameras' global IPv6 addresses to the hub so it can test them (default true). */
        ipv6: z.boolean().optional(),
        /** Answer the hub's attribution requests by probing the cameras (default true). */
        attribution: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.cameras.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${c.id}"` });
      seen.add(c.id);
    });
  });

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export const hubGatewaySchema = z
  .object({
    id: idSchema,
    name: z.string().max(100).optional(),
    /** SCRAM verifier of the gateway secret, `scram-scrypt$N$r$p$salt$storedKey$serverKey` (`camgate hub add-gateway` writes it). */
    secretHash: z.string().superRefine((value, ctx) => {
      // The SCRAM verifier (docs/tunnel.md "Handshake"); cost parameters are bounded here as on the wire.
      try {
        parseVerifier(value);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `${(err as Error).message}; make one with \`camgate hub add-gateway\``,
        });
      }
    }),
    /** The home's public address, when it differs from the address the tunnel arrives from. */
    publicAddress: z.string().max(255).optional(),
  })
  .strict();

export const hubConfigSchema = z
  .object({
    listen: z
      .object({ host: z.string().default('127.0.0.1'), port: portSchema.default(8443) })
      .strict()
      .default({ host: '127.0.0.1', port: 8443 }),
    /** Certificate and key (PEM files) for https/wss. Without them the hub serves plain http, on loopback only unless allowInsecure. */
    tls: z.object({ certFile: z.string(), keyFile: z.string() }).strict().optional(),
    allowInsecure: z.boolean().optional(),
    /** Where the Kurento endpoints for each gateway listen (loopback by default). */
    kurento: z
      .object({ host: z.string().default('127.0.0.1'), port: portSchema.default(8889) })
      .strict()
      .default({ host: '127.0.0.1', port: 8889 }),
    gateways: z.array(hubGatewaySchema).max(10_000).default([]),
    /** The outside exposure monitor; off when unset (docs/exposure.md). */
    exposure: z
      .object({
        /** Time between scans of one gateway, ms (default 15 min, jittered). */
        intervalMs: z
          .number()
          .int()
          .min(1000)
          .max(7 * 24 * 3_600_000)
          .optional(),
        ports: portList.min(1).optional(),
        clearAfterCleanScans: z.number().int().min(1).max(1000).optional(),
        /** The hub's flag store (append-only JSONL); in memory when unset. */
        flagsFile: z.string().min(1).max(4096).optional(),
        engine: z.enum(['auto', 'builtin', 'nmap']).optional(),
        /** Scan the global IPv6 addresses gateways announce for their cameras (default true). */
        ipv6: z.boolean().optional(),
        /** How long to wait for a gateway to attribute open ports to cameras, ms (default 30 s). */
        attributionTimeoutMs: z.number().int().min(100).max(600_000).optional(),
      })
      .strict()
      .optional(),
    /** The viewer web app; off when unset. */
    viewer: z
      .object({
        /** Accounts file written by `camgate hub add-user`. */
        usersFile: z.string().min(1).max(4096),
        /** SQLite file keeping sign-ins across restarts (default: beside usersFile, `NAME-sessions.sqlite`). */
        sessionsFile: z.string().min(1).max(4096).optional(),
        /** How long a sign-in lasts, ms (default 12 h). */
        sessionTtlMs: z
          .number()
          .int()
          .min(60_000)
          .max(30 * 24 * 3_600_000)
          .optional(),
        /** Origins accepted besides the hub's own (a TLS proxy's public origin). */
        allowedOrigins: z.array(z.string().url()).max(16).optional(),
      })
      .strict()
      .optional(),
    /** coturn with use-auth-secret: time-limited TURN credentials for browsers and the media backend. */
    turn: z
      .object({
        urls: z
          .array(z.string().regex(/^turns?:[^\s]+$/, 'must be a turn: or turns: URL'))
          .min(1)
          .max(8),
        /** coturn's static-auth-secret. */
        secret: z.string().min(16, 'must be at least 16 characters').max(512),
        ttlSeconds: z
          .number()
          .int()
          .min(60)
          .max(7 * 24 * 3600)
          .optional(),
      })
      .strict()
      .optional(),
    /** API tokens as `camgate hub add-token` stores them: `ID:scrypt$…` (id-less hashes are refused). */
    apiTokens: z
      .array(
        z.string().superRefine((v, ctx) => {
          const problem = storedApiTokenProblem(v);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .max(100)
      .default([]),
    /** Reverse proxies whose X-Forwarded-For / Forwarded names the client (addresses or CIDR ranges). */
    trustedProxies: z
      .array(z.string().max(64))
      .max(64)
      .superRefine((list, ctx) => {
        try {
          parseTrustedProxies(list);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^hub option /, '') });
        }
      })
      .optional(),
    /** The header those proxies write. */
    forwardedHeader: z.enum(['x-forwarded-for', 'forwarded']).optional(),
    /** Caps on connections (per client address; not yet authenticated, overall). */
    connections: z
      .object({
        maxConnectionsPerAddress: z.number().int().min(1).max(100_000).optional(),
        maxUnauthenticatedConnections: z.number().int().min(1).max(1_000_000).optional(),
        /** ms */
        firstByteTimeoutMs: z.number().int().min(100).max(600_000).optional(),
      })
      .strict()
      .optional(),
    /** How long slow clients are waited for, ms. */
    timeouts: z
      .object({
        headersTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
        requestTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
        keepAliveTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
        tlsHandshakeTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
      })
      .strict()
      .optional(),
    /** Strict-Transport-Security max-age on a TLS hub, s (0: none). */
    hstsMaxAgeS: z.number().int().min(0).max(63_072_000).optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.gateways.forEach((g, i) => {
      if (seen.has(g.id))
        ctx.addIssue({ code: 'custom', path: ['gateways', i, 'id'], message: `duplicate gateway id "${g.id}"` });
      seen.add(g.id);
    });
  });

export type HubConfig = z.output<typeof hubConfigSchema>;
