import { defaultEngineTokenFile, KurentoEngine, loadOrCreateEngineToken } from '../engine/index.js';
import { CamgateError, SecretSet } from '../util/index.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse } from './common.js';
import { say, untilSignal } from './output.js';

export const ENGINE_HELP = `camgate engine — the built-in Kurento-protocol media server (RTSP in, WebRTC out)

Usage:
  camgate engine [--host 127.0.0.1] [--port 8888] [--token-file F]

Serves ws://HOST:PORT/kurento for the gateway beside it. Pulls each camera
once and forwards its H.264 to every viewer without transcoding. Loopback by
default: the engine is for the gateway on the same machine.

It trusts only a client holding its token: generated on first start and kept
in the token file (mode 0600), which \`camgate gateway\` run by the same user
finds by itself (or names in mediaBackend.tokenFile). Other Kurento clients
connect to ws://HOST:PORT/kurento?token=TOKEN. Connections without the token
get 401; any connection from a web browser (an Origin header) gets 403.

Options:
      --host H         address to listen on (default 127.0.0.1)
      --port N         port (default 8888, Kurento Media Server's)
      --token-file F   where the token is kept (default $XDG_CONFIG_HOME/camgate/engine-token,
                       ~/.config/camgate/engine-token without XDG_CONFIG_HOME)
${LOG_HELP}`;

export async function runEngine(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...LOG_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    'token-file': { type: 'string' },
  });
  if (values.help) return (say(ENGINE_HELP), 0);
  const port = values.port === undefined ? 8888 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CamgateError('CAMGATE_USAGE', `--port ${values.port}: use a port number from 0 to 65535`);
  }
  const tokenFile = values['token-file'] ?? defaultEngineTokenFile();
  const { token, created } = await loadOrCreateEngineToken(tokenFile);
  const secrets = new SecretSet();
  secrets.add(token);
  const logger = cliLogger(values, 'engine', secrets);
  const engine = await KurentoEngine.start({
    host: values.host ?? '127.0.0.1',
    port,
    token,
    logFrames: values.verbose === true,
    logger,
  });
  if (!/^(127\.|::1$|localhost$)/.test(values.host ?? '127.0.0.1')) {
    // The token still guards it, but it travels in clear over ws:// and the camera URLs it plays do too.
    logger.warn(
      'WARNING: the engine listens beyond loopback; its token and camera URLs cross the network unencrypted',
      {
        host: values.host,
      },
    );
  }
  say(`camgate engine: Kurento protocol at ${engine.listenUrl}`);
  say(
    `  token ${created ? 'created in' : 'read from'} ${tokenFile} (clients add ?token=…; camgate gateway reads the file)`,
  );
  await untilSignal();
  await engine.close();
  return 0;
}
