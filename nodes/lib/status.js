'use strict';
/**
 * Node status for a gateway state, following Node-RED's colours: green dot
 * when working, yellow ring while trying again, red when refused or failed,
 * grey ring when stopped (core 10-mqtt.js uses the same scheme).
 */
function gatewayStatus(state, info = {}) {
  switch (state) {
    case 'connected':
      return { fill: 'green', shape: 'dot', text: 'connected' };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: 'connecting' };
    case 'reconnecting': {
      const s = Number.isFinite(info.nextRetryMs) ? Math.max(0, Math.ceil(info.nextRetryMs / 1000)) : undefined;
      return { fill: 'yellow', shape: 'ring', text: s === undefined ? 'reconnecting' : `reconnecting in ${s} s` };
    }
    case 'refused':
      return { fill: 'red', shape: 'dot', text: `refused: ${short(info.reason ?? info.code ?? 'unknown reason')}` };
    case 'unconfigured':
      return { fill: 'yellow', shape: 'ring', text: `not configured: ${short(info.reason ?? '')}` };
    case 'failed':
      return { fill: 'red', shape: 'ring', text: `failed: ${short(info.reason ?? '')}` };
    default:
      return { fill: 'grey', shape: 'ring', text: state };
  }
}

/**
 * Node status for a camera's state (core Gateway `cameraState`): green dot live, yellow ring
 * connecting / reconnecting, red ring unreachable with the reason, grey ring idle (keepWarm off:
 * the camera is pulled only while someone watches, so its state is not known).
 */
function cameraStatus(s) {
  switch (s?.state) {
    case 'live':
      return { fill: 'green', shape: 'dot', text: s.notice ? `live: ${short(s.notice.message)}` : 'live' };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: 'connecting' };
    case 'reconnecting':
      return { fill: 'yellow', shape: 'ring', text: 'camera lost — reconnecting' };
    case 'unreachable':
      return { fill: 'red', shape: 'ring', text: `unreachable: ${short(s.reason ?? 'unknown reason')}` };
    default:
      return { fill: 'grey', shape: 'ring', text: 'idle (not watched)' };
  }
}

/** Status for an exposure summary state (`exposed` / `at-risk` / `ok`). */
function exposureStatus(summary) {
  if (summary.state === 'exposed') return { fill: 'red', shape: 'dot', text: `exposed (${summary.flags.length})` };
  if (summary.state === 'at-risk') return { fill: 'yellow', shape: 'dot', text: `at risk (${summary.flags.length})` };
  return { fill: 'green', shape: 'dot', text: 'ok' };
}

/** Node status text is one short line in the editor. */
function short(s) {
  const text = String(s).replace(/\s+/g, ' ');
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

module.exports = { gatewayStatus, exposureStatus, cameraStatus };
