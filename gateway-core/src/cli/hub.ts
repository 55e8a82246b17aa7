import { readFile } from 'node:fs/promises';
import { formatIssues, hubConfigSchema, idSchema, loadConfigFile } from '../config/index.js';
import { addUser, Hub, mintApiToken, setUserTalk } from '../hub/index.js';
import { generateGatewayId, generateSecret, makeVerifier } from '../tunnel/index.js';
import { CamgateError, SecretSet } from '../util/index.js';
import { appendTo, editYamlConfig, idsIn, warnIfReadableByOthers } from './config-file.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse, readStdinLine, requireOption } from './common.js';
import { say, untilSignal } from './output.js';

export const HUB_HELP = `camgate hub — run the public hub gateways dial out to

Usage:
  camgate hub --config hub.yaml [options]
  camgate hub add-gateway --config hub.yaml [--id ID] [--name NAME]
  camgate hub add-token --config hub.yaml
  camgate hub add-user --config hub.yaml --name NAME --cameras 'GATEWAY/CAMERA,GATEWAY/*' [--password-stdin] [--talk]
  camgate hub set-talk --config hub.yaml --name NAME on|off

Commands:
  (none)        serve /tunnel for gateways, /api/ and the Kurento endpoints
  add-gateway   mint a gateway id and secret; store only the secret's verifier
                in hub.yaml and print the secret once, for the gateway's config
                (add-* validate the whole file, then write it atomically, mode 0600)
  add-token     mint an API token (cgt_ID.SECRET); store only ID and the secret's
                hash; print the token once
  add-user      add a viewer account to the users file named by viewer.usersFile,
                granted the listed cameras; prints a generated password once
  set-talk      allow (on) or forbid (off) a viewer to talk through the speakers
                of the cameras it is granted (push-to-talk; off for new users)

Options:
  -c, --config F       the hub configuration (YAML); see README "Hub configuration"
      --id ID          gateway id for add-gateway (default: generated): 1-63 letters,
                       digits, "-" or "_", starting with a letter or digit
      --name NAME      a name for the gateway (add-gateway) or the user (add-user)
      --cameras LIST   comma-separated grants for add-user: GATEWAY/CAMERA or GATEWAY/*
      --password-stdin read the user's password from standard input (add-user)
      --talk           add-user: the user may talk through its cameras (default: may not)
${LOG_HELP}`;

const HUB_TEMPLATE = `# camgate hub configuration — see README "Hub configuration"
listen:
  host: 127.0.0.1
  port: 8443
# tls:
#   certFile: /etc/camgate/hub.crt
#   keyFile: /etc/camgate/hub.key
kurento:
  host: 127.0.0.1
  port: 8889
gateways: []
apiTokens: []
`;

export async function runHub(argv: string[]): Promise<number> {
  const sub = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  const rest = sub ? argv.slice(1) : argv;
  const { values, positionals } = parse(
    rest,
    {
      ...LOG_OPTIONS,
      config: { type: 'string', short: 'c' },
      id: { type: 'string' },
      name: { type: 'string' },
      cameras: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      talk: { type: 'boolean' },
    },
    sub === 'set-talk',
  );
  if (values.help) return (say(HUB_HELP), 0);
  const config = requireOption(values.config, 'config', 'camgate hub');
  if (sub === 'add-gateway') return addGateway(config, values.id, values.name);
  if (sub === 'add-token') return addToken(config);
  if (sub === 'add-user') {
    return addViewerUser(config, {
      name: requireOption(values.name, 'name', 'camgate hub add-user'),
      cameras: requireOption(values.cameras, 'cameras', 'camgate hub add-user'),
      password: values['password-stdin'] ? await readStdinLine() : undefined,
      talk: values.talk === true,
    });
  }
  if (sub === 'set-talk') {
    return setViewerTalk(config, requireOption(values.name, 'name', 'camgate hub set-talk'), positionals[0]);
  }
  if (sub !== undefined) throw new CamgateError('CAMGATE_USAGE', `camgate hub: unknown command "${sub}" (see --help)`);

  const cfg = await loadConfigFile(hubConfigSchema, config);
  const secrets = new SecretSet();
  secrets.add(cfg.turn?.secret);
  const logger = cliLogger(values, 'hub', secrets);
  await warnIfReadableByOthers(config, logger);
  const tls = cfg.tls ? { cert: await readFile(cfg.tls.certFile), key: await readFile(cfg.tls.keyFile) } : undefined;
  const hub = await Hub.start({
    listen: cfg.listen,
    kurento: cfg.kurento,
    tls,
    allowInsecure: cfg.allowInsecure,
    gateways: cfg.gateways,
    apiTokenHashes: cfg.apiTokens,
    trustedProxies: cfg.trustedProxies,
    forwardedHeader: cfg.forwardedHeader,
    connections: cfg.connections,
    timeouts: cfg.timeouts,
    hstsMaxAgeS: cfg.hstsMaxAgeS,
    viewer: cfg.viewer,
    turn: cfg.turn,
    exposure: cfg.exposure,
    logFrames: values.verbose === true,
    logger,
  });
  say(`camgate hub: gateways dial ${hub.tunnelUrl}; Kurento endpoints at ${hub.kurentoUrl('GATEWAY_ID')}`);
  const sig = await untilSignal();
  logger.info('stopping', { signal: sig });
  await hub.close();
  return 0;
}

async function addGateway(config: string, id: string | undefined, name: string | undefined): Promise<number> {
  if (id !== undefined) {
    // Ids become URL path segments and MQTT topic levels: `../evil` or `Home.Two` must never reach the file.
    const checked = idSchema.safeParse(id);
    if (!checked.success) {
      throw new CamgateError(
        'CAMGATE_USAGE',
        `--id ${JSON.stringify(id.slice(0, 80))}: ${formatIssues(checked.error.issues).replace(/^\(root\): /, '')}`,
      );
    }
  }
  const gatewayId = id ?? generateGatewayId();
  const secret = generateSecret();
  const verifier = await makeVerifier(secret);
  await editYamlConfig(
    config,
    (doc) => {
      if (idsIn(doc, 'gateways').has(gatewayId)) {
        throw new CamgateError('CAMGATE_CONFIG', `${config}: gateway "${gatewayId}" already exists`);
      }
      appendTo(doc, 'gateways', { id: gatewayId, ...(name ? { name } : {}), secretHash: verifier });
    },
    HUB_TEMPLATE,
    hubConfigSchema,
  );
  say(`Added gateway "${gatewayId}" to ${config} (the hub keeps only a verifier of its secret).`);
  say("Put this in the gateway's gateway.yaml — the secret is shown only now:");
  say('');
  say('hub:');
  say('  url: wss://YOUR-HUB/tunnel');
  say(`  gatewayId: ${gatewayId}`);
  say(`  secret: ${secret}`);
  return 0;
}

async function addToken(config: string): Promise<number> {
  const { id, token, stored } = await mintApiToken();
  await editYamlConfig(config, (doc) => appendTo(doc, 'apiTokens', stored), HUB_TEMPLATE, hubConfigSchema);
  say(`Added API token ${id} to ${config}. Use it as "Authorization: Bearer TOKEN" — shown only now:`);
  say(token);
  return 0;
}

async function usersFileOf(config: string): Promise<string> {
  const cfg = await loadConfigFile(hubConfigSchema, config);
  if (!cfg.viewer) {
    throw new CamgateError(
      'CAMGATE_CONFIG',
      `${config}: set viewer.usersFile first (where the viewer's accounts live)`,
    );
  }
  return cfg.viewer.usersFile;
}

async function setViewerTalk(config: string, name: string, onOff: string | undefined): Promise<number> {
  if (onOff !== 'on' && onOff !== 'off') {
    throw new CamgateError('CAMGATE_USAGE', 'camgate hub set-talk: say "on" or "off" after the options');
  }
  const usersFile = await usersFileOf(config);
  try {
    await setUserTalk(usersFile, name, onOff === 'on');
  } catch (err) {
    if (err instanceof TypeError)
      throw new CamgateError('CAMGATE_USAGE', err.message.replace(/^setUserTalk: /, 'set-talk: '));
    throw err;
  }
  say(`Viewer "${name}" ${onOff === 'on' ? 'may now talk' : 'may no longer talk'} through its cameras (${usersFile}).`);
  return 0;
}

async function addViewerUser(
  config: string,
  u: { name: string; cameras: string; password?: string; talk: boolean },
): Promise<number> {
  const usersFile = await usersFileOf(config);
  const cameras = u.cameras
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  let result;
  try {
    result = await addUser(usersFile, { name: u.name, cameras, password: u.password, talk: u.talk });
  } catch (err) {
    if (err instanceof TypeError)
      throw new CamgateError('CAMGATE_USAGE', err.message.replace(/^addUser: /, 'add-user: '));
    throw err;
  }
  say(
    `Added viewer "${result.name}" to ${usersFile}, granted ${cameras.join(', ')}; ` +
      (u.talk ? 'may talk through these cameras.' : 'may not talk through them (camgate hub set-talk).'),
  );
  if (result.generatedPassword) say(`Password (shown only now): ${result.generatedPassword}`);
  return 0;
}
