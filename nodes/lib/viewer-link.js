'use strict';
/**
 * Links into the hub's viewer web app. The viewer opens a camera from the
 * fragment `#camera=GATEWAY/CAMERA` (gateway-core/src/hub/viewer/static/app.js);
 * a fragment never reaches the server (RFC 3986 §3.5) and survives the
 * sign-in redirect, so a link works for someone not yet signed in.
 */
const { ID_RE } = require('./validate.js');

/** http(s)://host[:port][/path] with no query, fragment or user info (a link must not carry credentials). */
const HUB_BASE_RE = /^https?:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/i;
/** Longest accepted hub base URL (characters); a link goes into notifications. */
const MAX_BASE_CHARS = 2048;

/**
 * Validates a hub base URL; returns it without a trailing slash or throws a TypeError naming the value.
 * @param {unknown} text
 * @returns {string}
 */
function hubBase(text) {
  if (typeof text !== 'string' || text.length > MAX_BASE_CHARS || !HUB_BASE_RE.test(text.trim())) {
    // A URL with user info may hold a password: name the rule, not the value.
    const shown = /@/.test(String(text)) ? 'a URL with user info' : JSON.stringify(String(text).slice(0, 80));
    throw new TypeError(
      `hubUrl: ${shown} is not allowed (the hub's http:// or https:// URL, e.g. https://hub.example.org, with no user info, query or fragment)`,
    );
  }
  return text.trim().replace(/\/+$/, '');
}

/**
 * The viewer's link: the camera's deep link, or the camera list when `cameraId` is undefined.
 * @param {string} base
 * @param {string} gatewayId
 * @param {string | undefined} cameraId
 */
function viewerLink(base, gatewayId, cameraId) {
  if (!ID_RE.test(gatewayId))
    throw new TypeError(`gateway id ${JSON.stringify(String(gatewayId).slice(0, 80))} is not valid`);
  if (cameraId === undefined) return `${base}/`;
  if (!ID_RE.test(cameraId))
    throw new TypeError(`camera id ${JSON.stringify(String(cameraId).slice(0, 80))} is not valid`);
  return `${base}/#camera=${gatewayId}/${cameraId}`;
}

/**
 * What a message names: `{ gatewayId, cameraId? }` from
 * - a camgate-flags payload `{ from, to, at, flag }` or a flag itself (`{ id, kind, gatewayId, cameraId? }`),
 * - a string `CAMERA` (with `defaultGatewayId`) or `GATEWAY/CAMERA`.
 * Throws a TypeError in plain words for anything else.
 * @param {unknown} payload
 * @param {string | undefined} defaultGatewayId
 * @returns {{ gatewayId: string, cameraId?: string }}
 */
function targetOf(payload, defaultGatewayId) {
  if (typeof payload === 'string') {
    const text = payload.trim();
    const slash = text.indexOf('/');
    if (slash >= 0) return { gatewayId: text.slice(0, slash), cameraId: text.slice(slash + 1) };
    if (!defaultGatewayId) {
      throw new TypeError(
        'msg.payload is a camera id but no gateway id is configured: set one or send "GATEWAY/CAMERA"',
      );
    }
    return { gatewayId: defaultGatewayId, cameraId: text };
  }
  /** @type {any} A message payload: anything a flow sends; checked field by field below. */
  const p = payload;
  /** @type {any} */
  const flag = p && typeof p === 'object' && p.flag && typeof p.flag === 'object' ? p.flag : p;
  if (flag && typeof flag === 'object' && typeof flag.gatewayId === 'string' && typeof flag.kind === 'string') {
    return flag.cameraId === undefined || flag.cameraId === null
      ? { gatewayId: flag.gatewayId }
      : { gatewayId: flag.gatewayId, cameraId: flag.cameraId };
  }
  throw new TypeError('msg.payload must be a flag (from camgate-flags), a camera id or "GATEWAY/CAMERA"');
}

module.exports = { hubBase, viewerLink, targetOf, HUB_BASE_RE, MAX_BASE_CHARS };
