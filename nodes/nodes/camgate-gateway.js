'use strict';
const { GatewayRuntime, flagFileFor } = require('../lib/gateway-runtime.js');
const { gatewayStatus } = require('../lib/status.js');

/**
 * camgate-gateway (config node + runtime): dials out to the hub on deploy and
 * relays Kurento for the cameras it lists, through the policy. Like core's
 * mqtt-broker, it holds the connection and shows its state on the nodes that
 * use it (events, exposure, flags, mqtt bridge). Starts on deploy; on
 * redeploy or shutdown `close` stops the tunnel, the engine and the flag
 * store before Node-RED starts the next one.
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').GatewayNode}
   * @param {import('../lib/types').GatewayNodeDef} n
   */
  function CamgateGatewayNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.name = n.name;
    node.gatewayId = String(n.gatewayId ?? '');
    /** Nodes showing this gateway's status, by id. */
    node.users = new Map();
    const cameraIds = Array.isArray(n.cameras) ? n.cameras.filter((id) => typeof id === 'string') : [];
    const creds = /** @type {{ secret?: string }} */ (node.credentials || {});
    node.runtime = new GatewayRuntime({
      hubUrl: n.hubUrl,
      gatewayId: n.gatewayId,
      secret: creds.secret || undefined,
      fingerprint256: n.fingerprint256 || undefined,
      allowInsecure: n.allowInsecure === true || n.allowInsecure === 'true',
      backend: n.backend === 'kms' ? 'kms' : 'engine',
      kmsUrl: n.kmsUrl,
      // Where viewers reach the built-in engine's WebRTC: the LAN address (or 127.0.0.1 on one host).
      mediaAddress: typeof n.mediaAddress === 'string' && n.mediaAddress.trim() ? n.mediaAddress.trim() : undefined,
      // Unset (a flow saved before the option existed) counts as on.
      keepWarm: n.keepWarm !== false && n.keepWarm !== 'false',
      // Unset (a flow saved before the option existed) counts as off: core's safe default.
      allowLanViewers: n.allowLanViewers === true || n.allowLanViewers === 'true',
      flagFile: n.persistFlags === false ? undefined : flagFileFor(RED.settings.userDir, n.gatewayId),
      // The LAN canary's report socket (`camgate canary --report PATH`); empty = off.
      canary: typeof n.canary === 'string' && n.canary.trim() ? n.canary.trim() : undefined,
      // Where the exposure responder asks the router for its UPnP port mappings (like camgate-exposure's SSDP
      // fields); empty = the SSDP multicast group and port 1900.
      ssdpAddress: typeof n.ssdpAddress === 'string' && n.ssdpAddress.trim() ? n.ssdpAddress.trim() : undefined,
      ssdpPort: Number.isInteger(Number(n.ssdpPort)) && Number(n.ssdpPort) > 0 ? Number(n.ssdpPort) : undefined,
      // Seconds between readings of the neighbour table for the cameras' IPv6 addresses; empty = core's 5 min.
      ipv6IntervalS:
        Number.isInteger(Number(n.ipv6Interval)) && Number(n.ipv6Interval) > 0 ? Number(n.ipv6Interval) : undefined,
      cameras: () =>
        cameraIds.flatMap((id) => {
          const cam = /** @type {import('../lib/types').CameraNode | null} */ (RED.nodes.getNode(id));
          if (!cam || typeof cam.toCamera !== 'function') {
            node.warn(RED._('camgate-gateway.errors.cameraMissing', { id }));
            return [];
          }
          return cam.problems.length ? [] : [cam.toCamera()];
        }),
      log: (level, msg) => {
        if (level === 'error') node.error(msg);
        else if (level === 'warn') node.warn(msg);
        else if (level === 'info') node.log(msg);
        else node.debug(msg);
      },
    });
    node.runtime.on('status', (/** @type {string} */ state, /** @type {object} */ info) => {
      const s = gatewayStatus(RED._, state, info);
      for (const user of node.users.values()) user.status(s);
    });

    /** A node that shows this gateway's status (10-mqtt.js `register`). */
    /** @param {import('../lib/types').Node} user */
    node.register = (user) => {
      node.users.set(user.id, user);
      user.status(gatewayStatus(RED._, node.runtime.state, node.runtime.info));
    };
    /** @param {import('../lib/types').Node} user */
    node.deregister = (user) => {
      node.users.delete(user.id);
    };

    node.on('close', (removed, done) => {
      node.users.clear();
      node.runtime.close().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('camgate-gateway', CamgateGatewayNode, {
    credentials: { secret: { type: 'password' } },
  });
};
