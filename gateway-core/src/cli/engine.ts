import { KurentoEngine } from '../engine/index.js';
import { CamgateError } from '../util/index.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse } from './common.js';
import { say, untilSignal } from './output.js';

export const ENGINE_HELP = `camgate engine — the built-in Kurento-protocol media server (RTSP in, WebRTC out)

Usage:
  camgate engine [--host 127.0.0.1] [--port 8888]

Serves ws://HOST:PORT/kurento for the gateway beside it (or any Kurento
client). Pulls each camera once and forwards its H.264 to every viewer
without transcoding. Loopback by default: the engine is for the home LAN.

Options:
      --host H   address to listen on (default 127.0.0.1)
      --port N   port (default 8888, Kurento Media Server's)
${LOG_HELP}`;

export async function runEngine(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...LOG_OPTIONS, host: { type: 'string' }, port: { type: 'string' } });
  if (values.help) return (say(ENGINE_HELP), 0);
  const port = values.port === undefined ? 8888 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CamgateError('CAMGATE_USAGE', `--port ${values.port}: use a port number from 0 to 65535`);
  }
  const logger = cliLogger(values, 'engine');
  const engine = await KurentoEngine.start({ host: values.host ?? '127.0.0.1', port, logger });
  say(`camgate engine: Kurento protocol at ${engine.url}`);
  await untilSignal();
  await engine.close();
  return 0;
}
