'use strict';
/**
 * Runtime checks shared by the nodes. The editor runs the same rules in its
 * `validate` functions; the runtime repeats them because flows can be
 * deployed through the admin API without the editor.
 */

/** Camera and gateway ids become URL path segments and MQTT topic levels (config/schema.ts idSchema). */
const ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
/** rtsp:// or rtsps:// with no user info: credentials live in the credentials store. */
const RTSP_RE = /^rtsps?:\/\/[^\s/@]+(\/[^\s]*)?$/i;
const WS_RE = /^wss?:\/\/[^\s]+$/i;
const FINGERPRINT_RE = /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/i;

/** Most ports one field may list. */
const MAX_PORTS = 64;

/** A bad port list: `entry` is the first bad entry (at most 16 characters), or `count` the number listed. */
class PortsError extends RangeError {
  /**
   * @param {string} message  English, for logs outside Node-RED; nodes show `portsMessage()` instead
   * @param {{ entry?: string, count?: number }} detail
   */
  constructor(message, detail) {
    super(message);
    this.name = 'PortsError';
    this.entry = detail.entry;
    this.count = detail.count;
  }
}

/**
 * "554, 80" → [554, 80]; throws a PortsError naming the bad entry.
 * @param {unknown} text
 * @param {string} [name]  the field, for the message
 * @returns {number[]}
 */
function parsePorts(text, name = 'ports') {
  if (text === undefined || text === null || String(text).trim() === '') return [];
  const parts = String(text)
    .split(/[\s,]+/)
    .filter(Boolean);
  if (parts.length > MAX_PORTS)
    throw new PortsError(`${name}: at most ${MAX_PORTS} ports, got ${parts.length}`, { count: parts.length });
  return parts.map((p) => {
    const n = Number(p);
    const entry = p.slice(0, 16);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new PortsError(`${name}: "${entry}" is not a port number from 1 to 65535`, { entry });
    return n;
  });
}

/**
 * The message catalog's text for a PortsError (any other error: its message).
 * @param {import('./types').Translate} t  Node-RED's RED._
 * @param {unknown} err
 * @param {string} name  the field, already translated
 */
function portsMessage(t, err, name) {
  const NS = 'node-red-contrib-camgate/camgate-camera:camgate-camera.errors';
  if (err instanceof PortsError && err.entry !== undefined) return t(`${NS}.portEntry`, { name, entry: err.entry });
  if (err instanceof PortsError) return t(`${NS}.portCount`, { name, max: MAX_PORTS, got: err.count });
  return err instanceof Error ? err.message : String(err);
}

module.exports = { ID_RE, RTSP_RE, WS_RE, FINGERPRINT_RE, parsePorts, portsMessage, PortsError };
