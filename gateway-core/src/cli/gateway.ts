import { randomBytes } from 'node:crypto';
import { gatewayConfigSchema, loadConfigFile, type GatewayConfig } from '../config/index.js';
import { ExposureResponder, FlagService, Gateway, type ExposureResponderOptions } from '../gateway/index.js';
import { CamgateError, SecretSet } from '../util/index.js';
import { appendTo, editYamlConfig, idsIn, warnIfReadableByOthers } from './config-file.js';
import { resolveMediaBackendUrl } from './media-backend.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse, readStdinLine, requireOption } from './common.js';
import { say, untilSignal } from './output.js';

export const GATEWAY_HELP = `camgate gateway — run the home gateway: dials out to the hub, relays Kurento

Usage:
  camgate gateway --config gateway.yaml [options]
  camgate gateway add-camera --config gateway.yaml --name NAME --url rtsp://HOST/PATH
                             [--id ID] [--username USER] [--password-stdin]

Commands:
  (none)       connect to the hub and relay Kurento sessions to the media backend;
               the gateway opens no listening socket. With \`camgate engine\` as the
               backend, its token is read from mediaBackend.tokenFile or the engine's
               default token file and added to the URL; another client taking over
               this gateway's hub connection (4409) is logged as an error, raises the
               secret-in-use flag, and the gateway keeps reconnecting. With
               compromise.canarySocket it opens that Unix socket (a file, not a
               network port) for \`camgate canary --report\`
  add-camera   register a camera; its address and credentials stay in gateway.yaml
               and are never sent to the hub. The whole file is validated before it
               is written (atomically, mode 0600): a bad --url changes nothing

Options:
  -c, --config F        the gateway configuration (YAML); see README "Gateway configuration"
      --name NAME       camera name shown to viewers (add-camera)
      --url URL         camera RTSP URL without credentials (add-camera)
      --id ID           camera id (default: from the name)
      --username USER   camera user name (add-camera)
      --password-stdin  read the camera password from standard input (add-camera)
${LOG_HELP}`;

const GATEWAY_TEMPLATE = `# camgate gateway configuration — see README "Gateway configuration"
hub:
  url: wss://YOUR-HUB/tunnel
  gatewayId: CHANGE-ME
  secret: CHANGE-ME-USE-camgate-hub-add-gateway
mediaBackend:
  url: ws://127.0.0.1:8888/kurento
cameras: []
`;

export async function runGateway(argv: string[]): Promise<number> {
  const sub = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  const rest = sub ? argv.slice(1) : argv;
  const { values } = parse(rest, {
    ...LOG_OPTIONS,
    config: { type: 'string', short: 'c' },
    name: { type: 'string' },
    url: { type: 'string' },
    id: { type: 'string' },
    username: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  });
  if (values.help) return (say(GATEWAY_HELP), 0);
  const config = requireOption(values.config, 'config', 'camgate gateway');
  if (sub === 'add-camera') {
    return addCamera(config, {
      name: requireOption(values.name, 'name', 'camgate gateway add-camera'),
      url: requireOption(values.url, 'url', 'camgate gateway add-camera'),
      id: values.id,
      username: values.username,
      password: values['password-stdin'] ? await readStdinLine() : undefined,
    });
  }
  if (sub !== undefined)
    throw new CamgateError('CAMGATE_USAGE', `camgate gateway: unknown command "${sub}" (see --help)`);

  const cfg = await loadConfigFile(gatewayConfigSchema, config);
  const secrets = new SecretSet();
  secrets.add(cfg.hub.secret);
  for (const c of cfg.cameras) secrets.add(c.password);
  secrets.add(cfg.mqtt?.password);
  const logger = cliLogger(values, 'gateway', secrets);
  await warnIfReadableByOthers(config, logger);
  const backend = await resolveMediaBackendUrl(cfg.mediaBackend, logger);
  secrets.add(backend.token);
  const gateway = Gateway.start({
    hub: cfg.hub,
    mediaBackendUrl: backend.url,
    logFrames: values.verbose === true,
    cameras: cfg.cameras,
    sessionGraceMs: cfg.sessionGraceMs,
    keepWarm: cfg.keepWarm,
    mediaTargets: cfg.mediaTargets,
    allowLanViewers: cfg.allowLanViewers,
    allowRtpEndpoint: cfg.allowRtpEndpoint,
    logger,
  });
  gateway.on('state', (state, info) => {
    if (state === 'refused') say(`camgate gateway: the hub refused this gateway: ${info.reason ?? 'no reason given'}`);
  });
  // Flags: the LAN audit, flags the hub forwards through the tunnel, and the MQTT bridge when configured.
  const flags = await FlagService.create({
    ...FlagService.optionsFromConfig(cfg),
    control: gateway,
    logger: logger.child('flags'),
  });
  // 4409 (another client took over with this gateway's secret) raises `secret-in-use` on every flag surface.
  flags.watchTunnel(gateway);
  flags.start();
  // The hub's outside findings matched to cameras here; the cameras' global IPv6 addresses announced (docs/exposure.md).
  const responder =
    cfg.exposure?.attribution === false && cfg.exposure?.ipv6 === false
      ? undefined
      : new ExposureResponder({
          gateway:
            cfg.exposure?.attribution === false
              ? {
                  ...noAttribution,
                  setCameraAddresses: (m) => gateway.setCameraAddresses(m),
                }
              : gateway,
          cameras: cfg.cameras,
          upnp: auditUpnpOptions(cfg),
          ipv6: cfg.exposure?.ipv6 !== false,
          logger: logger.child('exposure'),
        });
  responder?.start();
  say(`camgate gateway "${cfg.hub.gatewayId}": ${cfg.cameras.length} camera(s), dialling ${cfg.hub.url}`);
  const sig = await untilSignal();
  logger.info('stopping', { signal: sig });
  responder?.close();
  try {
    await flags.close();
  } finally {
    await gateway.close();
  }
  return 0;
}

interface NewCamera {
  name: string;
  url: string;
  id?: string;
  username?: string;
  password?: string;
}

async function addCamera(config: string, cam: NewCamera): Promise<number> {
  const id = cam.id ?? slug(cam.name);
  // The whole resulting file is validated before it is written (a bad --url leaves it untouched), and the
  // refusal carries the schema's own message, naming the field: cameras[N].url: must be an rtsp:// … URL.
  await editYamlConfig(
    config,
    (doc) => {
      if (idsIn(doc, 'cameras').has(id))
        throw new CamgateError('CAMGATE_CONFIG', `${config}: camera "${id}" already exists`);
      const entry: Record<string, unknown> = { id, name: cam.name, url: cam.url };
      if (cam.username !== undefined) entry.username = cam.username;
      if (cam.password !== undefined) entry.password = cam.password;
      appendTo(doc, 'cameras', entry);
    },
    GATEWAY_TEMPLATE,
    gatewayConfigSchema,
  );
  say(`Added camera "${id}" to ${config}. Viewers open it as camera://${id}; its address and credentials stay here.`);
  return 0;
}

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s || `cam-${randomBytes(3).toString('hex')}`;
}

/** A gateway face that never receives the hub's attribution requests (`exposure.attribution: false`). */
const noAttribution = {
  on: () => undefined,
  off: () => undefined,
  sendControl: () => undefined,
  announceAttribution: () => undefined,
};

/** The UPnP settings of the LAN audit, reused to read the mappings for attribution. */
function auditUpnpOptions(cfg: GatewayConfig): ExposureResponderOptions['upnp'] {
  const u = cfg.audit?.upnp;
  if (u === false) return false;
  return typeof u === 'object' ? { ...u } : {};
}
