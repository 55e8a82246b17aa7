'use strict';
/**
 * Node status for a gateway state, following Node-RED's colours: green dot
 * when working, yellow ring while trying again, red when refused or failed,
 * grey ring when stopped (core 10-mqtt.js uses the same scheme).
 *
 * Every text comes from the message catalogs (locales/en-US/*.json) through
 * the `t` the node passes in, Node-RED's `RED._`. Keys are absolute
 * (`module/set:key`) because several node files show these statuses and
 * `RED._` prefixes only relative keys with the calling file's own catalog.
 */

/** @typedef {import('./types').Translate} Translate */
/** @typedef {import('./types').NodeStatus} NodeStatus */

const GW = 'node-red-contrib-camgate/camgate-gateway:camgate-gateway.status';
const CAM = 'node-red-contrib-camgate/camgate-camera:camgate-camera.status';
const EXP = 'node-red-contrib-camgate/camgate-exposure:camgate-exposure.status';

/**
 * @param {Translate} t
 * @param {string} state  a GatewayRuntime state
 * @param {{ reason?: string, code?: string, nextRetryMs?: number }} [info]
 * @returns {NodeStatus}
 */
function gatewayStatus(t, state, info = {}) {
  switch (state) {
    case 'connected':
      return { fill: 'green', shape: 'dot', text: t(`${GW}.connected`) };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t(`${GW}.connecting`) };
    case 'reconnecting': {
      const s = Number.isFinite(info.nextRetryMs) ? Math.max(0, Math.ceil(Number(info.nextRetryMs) / 1000)) : undefined;
      return {
        fill: 'yellow',
        shape: 'ring',
        text: s === undefined ? t(`${GW}.reconnecting`) : t(`${GW}.reconnectingIn`, { seconds: s }),
      };
    }
    case 'refused':
      return {
        fill: 'red',
        shape: 'dot',
        text: t(`${GW}.refused`, { reason: short(info.reason ?? info.code ?? t(`${GW}.unknownReason`)) }),
      };
    case 'unconfigured':
      return { fill: 'yellow', shape: 'ring', text: t(`${GW}.unconfigured`) };
    case 'failed':
      return { fill: 'red', shape: 'ring', text: t(`${GW}.failed`, { reason: short(info.reason ?? '') }) };
    case 'idle':
    case 'starting':
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: t(`${GW}.${state}`) };
    default:
      return { fill: 'grey', shape: 'ring', text: t(`${GW}.other`, { state: short(state) }) };
  }
}

/**
 * Node status for a camera's state (core Gateway `cameraState`): green dot live, yellow ring
 * connecting / reconnecting, red ring unreachable with the reason, grey ring idle (keepWarm off:
 * the camera is pulled only while someone watches, so its state is not known).
 * @param {Translate} t
 * @param {{ state?: string, reason?: string, notice?: { message: string } } | undefined} s
 * @returns {NodeStatus}
 */
function cameraStatus(t, s) {
  switch (s?.state) {
    case 'live':
      return {
        fill: 'green',
        shape: 'dot',
        text: s.notice ? t(`${CAM}.liveNotice`, { notice: short(s.notice.message) }) : t(`${CAM}.live`),
      };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t(`${CAM}.connecting`) };
    case 'reconnecting':
      return { fill: 'yellow', shape: 'ring', text: t(`${CAM}.reconnecting`) };
    case 'unreachable':
      return {
        fill: 'red',
        shape: 'ring',
        text: t(`${CAM}.unreachable`, { reason: short(s.reason ?? t(`${CAM}.unknownReason`)) }),
      };
    default:
      return { fill: 'grey', shape: 'ring', text: t(`${CAM}.idle`) };
  }
}

/**
 * Status for the LAN audit node: the worst current flag state of the gateway (`exposed` / `at-risk`), whatever
 * raised it. With no flag, "ok" only once an audit of this node has run with every check completed: before the
 * first audit nothing has been looked at (grey), and a check that failed proves nothing (yellow).
 * @param {Translate} t
 * @param {{ state: string, flags: unknown[] }} summary  core `exposureOf()`
 * @param {{ audits: number, failedChecks: number }} audit  audits finished by this node; checks the last one failed
 * @returns {NodeStatus}
 */
function exposureStatus(t, summary, audit) {
  const count = summary.flags.length;
  if (summary.state === 'exposed') return { fill: 'red', shape: 'dot', text: t(`${EXP}.exposed`, { flags: count }) };
  if (summary.state === 'at-risk') return { fill: 'yellow', shape: 'dot', text: t(`${EXP}.atRisk`, { flags: count }) };
  if (audit.audits === 0) return { fill: 'grey', shape: 'ring', text: t(`${EXP}.waiting`) };
  if (audit.failedChecks > 0)
    return { fill: 'yellow', shape: 'ring', text: t(`${EXP}.incomplete`, { checks: audit.failedChecks }) };
  return { fill: 'green', shape: 'dot', text: t(`${EXP}.ok`) };
}

/**
 * Node status text is one short line in the editor.
 * @param {unknown} s
 */
function short(s) {
  const text = String(s).replace(/\s+/g, ' ');
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

module.exports = { gatewayStatus, exposureStatus, cameraStatus };
