'use strict';
const net = require('node:net');

const GATEWAY_ID = 'home-1';
const GATEWAY_SECRET = 'gw-secret-Nr7qTz2mVx9cLp4Hs8Kd';
const CAMERA_PASSWORD = 'cam-pass-Wq3zRt8Ly5';
const CAMERA_USER = 'admin-user-x';

/** A hub on loopback (port 0) that knows GATEWAY_ID; `extra` HubOptions (e.g. `viewer`) are merged in. */
async function startHub(extra = {}) {
  const core = await import('@camgate/core');
  const hub = await core.Hub.start({
    listen: { host: '127.0.0.1', port: 0 },
    kurento: { host: '127.0.0.1', port: 0 },
    // makeVerifier (SCRAM) replaced hashSecret in the hub's directory; accept either while both exist.
    gateways: [
      { id: GATEWAY_ID, name: 'Home', secretHash: await (core.makeVerifier ?? core.hashSecret)(GATEWAY_SECRET) },
    ],
    ...extra,
  });
  const tunnelUrl = `${hub.url.replace(/^http/, 'ws').replace(/\/$/, '')}/tunnel`;
  return { hub, tunnelUrl, core };
}

/** A loopback telnet lookalike (IAC negotiation, banner, login prompt). */
async function startTelnet() {
  const sockets = new Set();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.write(Buffer.from([255, 253, 24, 255, 251, 1, 255, 251, 3]));
    sock.write('BusyBox on camera\r\ncamera login: ');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Waits for `emitter` to emit `event` with args matching `pred`. */
function waitFor(emitter, event, pred = () => true) {
  return new Promise((resolve) => {
    const on = (...args) => {
      if (!pred(...args)) return;
      emitter.off(event, on);
      resolve(args);
    };
    emitter.on(event, on);
  });
}

/** A port nothing listens on (bound then released). */
async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

module.exports = {
  GATEWAY_ID,
  GATEWAY_SECRET,
  CAMERA_PASSWORD,
  CAMERA_USER,
  startHub,
  startTelnet,
  waitFor,
  closedPort,
};
