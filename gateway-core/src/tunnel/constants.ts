/** The tunnel wire protocol version this build speaks (docs/tunnel.md "Version policy"). */
export const TUNNEL_PROTOCOL_VERSION = 1;

/**
 * WebSocket close codes the tunnel uses. 4000–4999 are reserved for
 * applications by RFC 6455 §7.4.2; the last three digits echo the HTTP status
 * with the same meaning so they are easy to remember.
 */
export const TUNNEL_CLOSE = {
  /** Unknown gateway id or wrong proof — one reason text for both (no oracle); also sent by a gateway whose hub failed to prove itself. */
  AUTH: 4401,
  /** The hello's protocol version is not spoken here; the reason names both. */
  VERSION: 4426,
  /** A newer connection of the same gateway id took over ("newer wins"). */
  REPLACED: 4409,
  /** Framing or protocol violation. */
  PROTOCOL: 4400,
  /** Too many failed authentication attempts from this address. */
  RATE_LIMITED: 4429,
  /** The hub (or the gateway) is shutting down deliberately. */
  SHUTDOWN: 4001,
} as const;

/** Close codes carried in a channel CLOSE frame (not WebSocket close codes). */
export const CHANNEL_CLOSE = {
  /** Normal close by either end. */
  NORMAL: 1000,
  /** The tunnel (or its owner) is going away for good. */
  GOING_AWAY: 1001,
  /** A frame for this channel was malformed (bad UTF-8, bad JSON) — RFC 6455 §7.4.1 meaning. */
  INVALID_DATA: 1007,
  /** A limit was hit (channel count, detached send buffer). */
  LIMIT: 1008,
  /** The tunnel session could not be resumed (hub restarted, grace expired, buffer overflowed). */
  SESSION_LOST: 4100,
} as const;

/** Frame types (byte 0 of every binary WebSocket message). */
export const FrameType = {
  /** gateway → hub, first message: JSON hello. Unsequenced. Layout frozen across versions. */
  HELLO: 0x01,
  /** hub → gateway: JSON welcome carrying the ServerSignature. Unsequenced. */
  WELCOME: 0x02,
  /** hub → gateway: JSON SCRAM challenge (server nonce, salt, scrypt cost). Unsequenced. */
  CHALLENGE: 0x03,
  /** gateway → hub: JSON SCRAM client proof, announce, resume. Unsequenced. */
  PROOF: 0x04,
  /** hub → gateway: open channel `id`, JSON meta. Sequenced. */
  OPEN: 0x10,
  /** either way: UTF-8 text for channel `id`. Sequenced. */
  DATA: 0x11,
  /** either way: JSON `{code, reason}` closes channel `id`. Sequenced. */
  CLOSE: 0x12,
  /** either way: arbitrary JSON control message (channel 0). Sequenced. */
  CONTROL: 0x20,
  /** gateway → hub: JSON announce (channel 0). Sequenced. */
  ANNOUNCE: 0x21,
  /** either way: standalone cumulative ack, no payload. Unsequenced. */
  ACK: 0x30,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** Types that consume a sequence number and are retransmitted after a resume. */
export const SEQUENCED_TYPES: ReadonlySet<number> = new Set([
  FrameType.OPEN,
  FrameType.DATA,
  FrameType.CLOSE,
  FrameType.CONTROL,
  FrameType.ANNOUNCE,
]);
