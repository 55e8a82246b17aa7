import { sanitizeFlag, type Flag } from './flag.js';

/**
 * The tunnel control messages that carry a gateway's OWN flags (LAN audit,
 * takeover) to the hub, for the viewer (docs/exposure.md "Gateway flags at the
 * hub"). They travel gateway → hub on the tunnel's control channel (CONTROL
 * frames, docs/tunnel.md); the hub's flags travel the other way as
 * `{type: 'flag', flag}` and are not defined here.
 *
 *   {type: 'gateway-flag', flag}      one flag raised or cleared (sent while connected)
 *   {type: 'gateway-flags', flags}    the gateway's current state, sent at every (re)connect:
 *                                     raised flags not in it are gone
 *
 * The hub treats both as hostile input: size-limited, validated by
 * `sanitizeFlag` (the id must derive from kind/gateway/camera/key), naming the
 * sending gateway and `source: 'gateway'`. The gateway strips LAN addresses
 * and credentials before sending (gateway/hub-flag-sync.ts).
 */

const GATEWAY_FLAG_MESSAGE = 'gateway-flag';
const GATEWAY_FLAGS_MESSAGE = 'gateway-flags';

export const GATEWAY_FLAG_MESSAGE_LIMITS = {
  /** One `gateway-flag` message, JSON-encoded. A flag within FLAG_LIMITS and `evidenceItems` fits easily. */
  flagBytes: 32 * 1024, // 32 KiB
  /** One `gateway-flags` snapshot, JSON-encoded (well under the tunnel's 1 MiB frame). */
  snapshotBytes: 512 * 1024, // 512 KiB
  /** Flags in one snapshot (and flags the hub holds per gateway). */
  snapshotFlags: 128, // flags: a home with a dozen cameras and every check raised stays far below
  /** Evidence items per flag sent to the hub: the newest are kept. */
  evidenceItems: 4,
} as const;

export type GatewayFlagMessage =
  { type: typeof GATEWAY_FLAG_MESSAGE; flag: Flag } | { type: typeof GATEWAY_FLAGS_MESSAGE; flags: Flag[] };

/** Builds the message for one flag (already made safe for the hub). */
export function gatewayFlagMessage(flag: Flag): GatewayFlagMessage {
  return { type: GATEWAY_FLAG_MESSAGE, flag };
}

/** Builds the snapshot message; keeps the `snapshotFlags` most recently changed flags. */
export function gatewayFlagsMessage(flags: readonly Flag[]): GatewayFlagMessage {
  const changed = (f: Flag): string => f.clearedAt ?? f.raisedAt;
  const newest = [...flags]
    .sort((a, b) => changed(b).localeCompare(changed(a)))
    .slice(0, GATEWAY_FLAG_MESSAGE_LIMITS.snapshotFlags);
  return { type: GATEWAY_FLAGS_MESSAGE, flags: newest };
}

/** True when `msg` claims to be one of this module's messages (others belong to other features). */
export function isGatewayFlagMessage(msg: unknown): boolean {
  const type = (msg as { type?: unknown } | null)?.type;
  return typeof msg === 'object' && msg !== null && (type === GATEWAY_FLAG_MESSAGE || type === GATEWAY_FLAGS_MESSAGE);
}

function checkFlag(raw: unknown, gatewayId: string, where: string): Flag {
  let flag: Flag;
  try {
    flag = sanitizeFlag(raw);
  } catch (err) {
    throw new TypeError(`${where}: ${(err as Error).message}`);
  }
  if (flag.gatewayId !== gatewayId)
    throw new RangeError(`${where}: flag of another gateway (${JSON.stringify(flag.gatewayId)})`);
  if (flag.source !== 'gateway')
    throw new RangeError(`${where}: a gateway may only send its own flags (source "gateway")`);
  if (flag.evidence.length > GATEWAY_FLAG_MESSAGE_LIMITS.evidenceItems)
    flag.evidence = flag.evidence.slice(-GATEWAY_FLAG_MESSAGE_LIMITS.evidenceItems);
  return flag;
}

/**
 * Validates a message that `isGatewayFlagMessage` accepted, received on the
 * tunnel of `gatewayId`. Throws TypeError (wrong shape or type, invalid flag)
 * or RangeError (too large, too many, another gateway's flag, not `source:
 * 'gateway'`), with a message naming what was wrong. One bad flag refuses the
 * whole message: a gateway that sends garbage is broken, and half-applying a
 * snapshot would show a state that never existed.
 */
export function parseGatewayFlagMessage(msg: unknown, gatewayId: string): GatewayFlagMessage {
  if (!isGatewayFlagMessage(msg)) throw new TypeError('not a gateway flag message');
  const m = msg as { type: string; flag?: unknown; flags?: unknown };
  // The tunnel decoded it from at most maxFrameBytes; re-encoding measures what this message holds.
  const bytes = Buffer.byteLength(JSON.stringify(m));
  const L = GATEWAY_FLAG_MESSAGE_LIMITS;
  if (m.type === GATEWAY_FLAG_MESSAGE) {
    if (bytes > L.flagBytes) throw new RangeError(`${m.type}: ${bytes} bytes, limit ${L.flagBytes}`);
    return { type: GATEWAY_FLAG_MESSAGE, flag: checkFlag(m.flag, gatewayId, m.type) };
  }
  if (bytes > L.snapshotBytes) throw new RangeError(`${m.type}: ${bytes} bytes, limit ${L.snapshotBytes}`);
  if (!Array.isArray(m.flags)) throw new TypeError(`${m.type}: flags must be an array`);
  if (m.flags.length > L.snapshotFlags)
    throw new RangeError(`${m.type}: ${m.flags.length} flags, limit ${L.snapshotFlags}`);
  const seen = new Set<string>();
  const flags = m.flags.map((f, i) => {
    const flag = checkFlag(f, gatewayId, `${m.type}.flags[${i}]`);
    if (seen.has(flag.id)) throw new RangeError(`${m.type}.flags[${i}]: flag ${flag.id} appears twice`);
    seen.add(flag.id);
    return flag;
  });
  return { type: GATEWAY_FLAGS_MESSAGE, flags };
}
