'use strict';
const { hubBase, viewerLink, targetOf } = require('../lib/viewer-link.js');

/**
 * camgate-viewer-link: turns a flag (from camgate-flags) or a camera id into
 * `msg.url`, the hub viewer's link to that camera, so a notification can
 * open the live picture. Pure: no connection, nothing to close.
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').Node}
   * @param {import('../lib/types').NodeDef & { hubUrl?: unknown, gatewayId?: unknown }} n
   */
  function CamgateViewerLinkNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    /** @type {string | undefined} */
    let base;
    try {
      base = hubBase(n.hubUrl);
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-viewer-link.status.badHubUrl') });
      node.error(RED._('camgate-viewer-link.errors.prefix', { message: errorText(err) }));
    }
    const gatewayId = typeof n.gatewayId === 'string' && n.gatewayId.trim() ? n.gatewayId.trim() : undefined;
    node.on('input', (msg, send, done) => {
      if (base === undefined) return done(new Error(RED._('camgate-viewer-link.errors.badHubUrl')));
      let url;
      try {
        const t = targetOf(msg.payload, gatewayId);
        url = viewerLink(base, t.gatewayId, t.cameraId);
      } catch (err) {
        return done(new Error(RED._('camgate-viewer-link.errors.prefix', { message: errorText(err) })));
      }
      msg.url = url;
      send(msg);
      done();
    });
  }
  RED.nodes.registerType('camgate-viewer-link', CamgateViewerLinkNode);
};

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}
