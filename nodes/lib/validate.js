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

/** "554, 80" → [554, 80]; throws a RangeError naming the bad entry. */
function parsePorts(text, name = 'ports') {
  if (text === undefined || text === null || String(text).trim() === '') return [];
  const parts = String(text)
    .split(/[\s,]+/)
    .filter(Boolean);
  if (parts.length > 64) throw new RangeError(`${name}: at most 64 ports, got ${parts.length}`);
  return parts.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new RangeError(`${name}: "${p.slice(0, 16)}" is not a port number from 1 to 65535`);
    return n;
  });
}

module.exports = { ID_RE, RTSP_RE, WS_RE, FINGERPRINT_RE, parsePorts };
