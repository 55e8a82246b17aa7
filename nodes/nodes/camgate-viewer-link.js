'use strict';
const { hubBase, viewerLink, targetOf } = require('../lib/viewer-link.js');

/**
 * camgate-viewer-link: turns a flag (from camgate-flags) or a camera id into
 * `msg.url`, the hub viewer's link to that camera, so a notification can
 * open the live picture. Pure: no connection, nothing to close.
 */
module.exports = function (RED) {
  function CamgateViewerLinkNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    let base;
    try {
      base = hubBase(n.hubUrl);
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: 'bad hub URL' });
      node.error(`camgate-viewer-link: ${err.message}`);
    }
    const gatewayId = typeof n.gatewayId === 'string' && n.gatewayId.trim() ? n.gatewayId.trim() : undefined;
    node.on('input', (msg, send, done) => {
      if (base === undefined) return done(new Error('camgate-viewer-link: the hub URL is not valid'));
      let url;
      try {
        const t = targetOf(msg.payload, gatewayId);
        url = viewerLink(base, t.gatewayId, t.cameraId);
      } catch (err) {
        return done(new Error(`camgate-viewer-link: ${err.message}`));
      }
      msg.url = url;
      send(msg);
      done();
    });
  }
  RED.nodes.registerType('camgate-viewer-link', CamgateViewerLinkNode);
};
