'use strict';
const { ID_RE, RTSP_RE, parsePorts, portsMessage } = require('../lib/validate.js');

/**
 * camgate-camera (config node): one camera on the LAN. Holds no connection;
 * the gateway reads it at deploy time. Username and password live in
 * Node-RED's credentials store, never in the flow JSON.
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').CameraNode}
   * @param {import('../lib/types').CameraNodeDef} n
   */
  function CamgateCameraNode(n) {
    RED.nodes.createNode(this, n);
    this.name = n.name;
    this.cameraId = String(n.cameraId ?? '');
    this.url = String(n.url ?? '');
    this.host = typeof n.host === 'string' ? n.host : '';
    this.problems = [];
    if (typeof n.cameraId !== 'string' || !ID_RE.test(n.cameraId))
      this.problems.push(RED._('camgate-camera.errors.runtimeId'));
    if (typeof n.url !== 'string' || !RTSP_RE.test(n.url))
      this.problems.push(RED._('camgate-camera.errors.runtimeUrl'));
    try {
      this.ports = parsePorts(n.ports);
    } catch (err) {
      this.ports = [];
      this.problems.push(portsMessage(RED._, err, RED._('camgate-camera.errors.portsName')));
    }
    if (this.problems.length)
      this.error(
        RED._('camgate-camera.errors.invalid', { camera: n.name || n.id, problems: this.problems.join('; ') }),
      );
  }

  /**
   * What the gateway runtime needs, credentials included; never put this in a message.
   * @this {import('../lib/types').CameraNode}
   * @returns {import('../lib/types').CameraEntry}
   */
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
