import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KurentoEngine } from '../engine/index.js';
import { Gateway } from '../gateway/index.js';
import { addUser, Hub } from '../hub/index.js';
import { generateSecret, makeVerifier } from '../tunnel/index.js';
import { CamgateError, SecretSet } from '../util/index.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse } from './common.js';
import { CAMERA_SIM_PACKAGE, loadCameraSim, type CliCameraSim } from './load-camera-sim.js';
import { say, untilSignal } from './output.js';

export const DEMO_HELP = `camgate demo — the whole system on this machine, on embedded defaults

Usage:
  camgate demo [--port 8080] [--width 1280 --height 720]

Starts, in one process: two simulated cameras (RTSP with Digest auth), the
built-in media engine, a gateway that dials out to a hub, and the hub with
its viewer web app and a generated user. Prints the address to open and the
password. Everything listens on 127.0.0.1 only. Ctrl-C stops it all.

Options:
      --port N          the hub's web port (default 8080; 0 picks a free one)
      --width/--height  camera picture size (default 1280x720)
${LOG_HELP}

The cameras are the package ${CAMERA_SIM_PACKAGE}, installed beside camgate.`;

const GATEWAY_ID = 'home';

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...LOG_OPTIONS,
    port: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
  });
  if (values.help) return (say(DEMO_HELP), 0);
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CamgateError('CAMGATE_USAGE', `--port ${values.port}: use a port number from 0 to 65535`);
  }
  const { startCameraSim } = await loadCameraSim();
  const width = Number(values.width ?? 1280);
  const height = Number(values.height ?? 720);
  const secrets = new SecretSet();
  const logger = cliLogger({ ...values, 'log-level': values['log-level'] ?? 'warn' }, 'demo', secrets);
  const dir = await mkdtemp(join(tmpdir(), 'camgate-demo-'));
  const stops: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        logger.warn('stopping a demo part failed', { err });
      }
    }
  };
  try {
    const cameras: { id: string; name: string; sim: CliCameraSim; password: string }[] = [];
    for (const [id, name] of [
      ['porch', 'Porch'],
      ['garden', 'Garden'],
    ] as const) {
      const password = generateSecret().slice(0, 16);
      secrets.add(password);
      const sim = await startCameraSim({
        port: 0,
        username: 'admin',
        password,
        width,
        height,
        logger: logger.child(id),
      });
      stops.push(() => sim.close());
      cameras.push({ id, name, sim, password });
    }
    const logFrames = values.verbose === true;
    // The engine makes its own token; engine.url carries it to the gateway below, in this process only.
    const engine = await KurentoEngine.start({ port: 0, logFrames, logger: logger.child('engine') });
    stops.push(() => engine.close());

    const gatewaySecret = generateSecret();
    secrets.add(gatewaySecret);
    const usersFile = join(dir, 'users.json');
    const user = await addUser(usersFile, { name: 'demo', cameras: [`${GATEWAY_ID}/*`] });
    if (user.generatedPassword) secrets.add(user.generatedPassword);
    const hub = await Hub.start({
      listen: { host: '127.0.0.1', port },
      kurento: { port: 0 },
      gateways: [{ id: GATEWAY_ID, name: 'Demo home', secretHash: await makeVerifier(gatewaySecret) }],
      viewer: { usersFile },
      logFrames,
      logger: logger.child('hub'),
    });
    stops.push(() => hub.close());

    const gateway = Gateway.start({
      hub: { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: gatewaySecret },
      mediaBackendUrl: engine.url,
      logFrames,
      // Everything runs on this one host: the browser's ICE candidates and SDP addresses are loopback/LAN ones,
      // which a gateway refuses by default (the hub must not steer home traffic to LAN hosts).
      allowLanViewers: true,
      // keepWarm defaults to 'auto': with the built-in engine each camera stays pulled, so viewers get a
      // picture at once from the engine's GOP cache instead of waiting for the camera's next keyframe.
      cameras: cameras.map((c) => ({
        id: c.id,
        name: c.name,
        url: c.sim.url,
        username: 'admin',
        password: c.password,
      })),
      logger: logger.child('gateway'),
    });
    stops.push(() => gateway.close());
    await new Promise<void>((resolve) => {
      if (gateway.tunnelState === 'connected') return resolve();
      const on = (state: string): void => {
        if (state === 'connected') {
          gateway.off('state', on);
          resolve();
        }
      };
      gateway.on('state', on);
    });

    say('camgate demo is running — two simulated cameras behind a gateway that dials out to a hub.');
    say('');
    say(`  Open      ${hub.url}/`);
    say(`  User      demo`);
    say(`  Password  ${user.generatedPassword ?? '(set in the users file)'}`);
    say('');
    say(`  Cameras   ${cameras.map((c) => `${c.name} (${c.sim.url}, Digest auth)`).join(', ')}`);
    say(`  Engine    ${engine.listenUrl} (only for this demo's gateway: it requires a token)`);
    say(`  Kurento   ${hub.kurentoUrl(GATEWAY_ID)} (the official kurento-client works here unchanged)`);
    say('');
    say('Press Ctrl-C to stop.');
    const sig = await untilSignal();
    say(`\ncamgate demo: ${sig}, stopping…`);
  } finally {
    await stopAll();
  }
  return 0;
}
