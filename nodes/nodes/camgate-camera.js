'use strict';
const { ID_RE, RTSP_RE, parsePorts } = require('../lib/validate.js');

/**
 * camgate-camera (config node): one camera on the LAN. Holds no connection;
 * the gateway reads it at deploy time. Username and password live in
 * Node-RED's credentials store, never in the flow JSON.
 */
module.exports = function (RED) {
  function CamgateCameraNode(n) {
    RED.nodes.createNode(this, n);
    this.name = n.name;
    this.cameraId = n.cameraId;
    this.url = n.url;
    this.host = n.host || '';
    this.problems = [];
    if (typeof n.cameraId !== 'string' || !ID_RE.test(n.cameraId))
      this.problems.push('camera id must be 1-63 letters, digits, "-" or "_"');
    if (typeof n.url !== 'string' || !RTSP_RE.test(n.url))
      this.problems.push('RTSP URL must be rtsp://host[:port]/path without credentials');
    try {
      this.ports = parsePorts(n.ports, 'service ports');
    } catch (err) {
      this.ports = [];
      this.problems.push(err.message);
    }
    if (this.problems.length) this.error(`camera ${n.name || n.id}: ${this.problems.join('; ')}`);
  }

  /** What the gateway runtime needs, credentials included; never put this in a message. */
  CamgateCameraNode.prototype.toCamera = function () {
    const c = this.credentials || {};
    return {
      id: this.cameraId,
      name: this.name || this.cameraId,
      url: this.url,
      host: this.host || undefined,
      ports: this.ports,
      username: c.username || undefined,
      password: c.password || undefined,
    };
  };

  RED.nodes.registerType('camgate-camera', CamgateCameraNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
