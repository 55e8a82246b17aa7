import { CanaryReporter, DEFAULT_CANARY_PORTS, LanCanary, SCANNER_PORTS } from '../exposure/index.js';
import { CamgateError } from '../util/index.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse, requireOption } from './common.js';
import { say, untilSignal } from './output.js';

export const CANARY_HELP = `camgate canary — a LAN canary: catches a camera (or any device) that is already infected

Usage:
  camgate canary --listen ADDRESS [--ports 23,2323,...] [--report SOCKET] [options]

Listens on a private or link-local LAN address (refuses any other), on the
ports botnet scanners try, and offers nothing there: at most a fake "login:"
prompt, then it reads what the other side sends first (256 bytes, 5 s at
most) and closes. Nothing on a home network has a reason to connect there,
so every connection is recorded (source address, port, time, first bytes)
and printed as one JSON line, and sent to the gateway with --report: the
gateway raises a "compromise" flag naming the camera whose address it is,
or the device's address otherwise, on MQTT, Home Assistant, Node-RED and
HomeKit like every flag. Set compromise.canarySocket in gateway.yaml to the
same path. Run it on a spare LAN address (ip addr add ADDRESS dev IF) that no
router forwards. Ports below 1024 need root or CAP_NET_BIND_SERVICE.

Default ports (docs/exposure.md "Compromise behaviour" cites each):
${SCANNER_PORTS.map((p) => `  ${String(p.port).padEnd(6)} ${p.source}`).join('\n')}

Options:
  -l, --listen ADDRESS  the LAN address to listen on (private or link-local)
  -p, --ports LIST      comma-separated TCP ports (default ${DEFAULT_CANARY_PORTS.join(',')})
  -r, --report SOCKET   the gateway's canary socket (compromise.canarySocket)
      --no-prompt       send nothing, not even the fake "login:" prompt
      --per-source N    recorded connections per source per minute (default 30)
${LOG_HELP}`;

function ports(list: string | undefined): number[] | undefined {
  if (list === undefined) return undefined;
  const out = list.split(',').map((p) => p.trim());
  if (out.some((p) => !/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535))
    throw new CamgateError('CAMGATE_USAGE', `--ports ${list}: use a comma-separated list of TCP ports (1-65535)`);
  return out.map(Number);
}

export async function runCanary(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...LOG_OPTIONS,
    listen: { type: 'string', short: 'l' },
    ports: { type: 'string', short: 'p' },
    report: { type: 'string', short: 'r' },
    'no-prompt': { type: 'boolean' },
    'per-source': { type: 'string' },
  });
  if (values.help) return (say(CANARY_HELP), 0);
  const listen = requireOption(values.listen, 'listen', 'camgate canary');
  const perSource = values['per-source'] === undefined ? undefined : Number(values['per-source']);
  if (perSource !== undefined && (!Number.isInteger(perSource) || perSource < 1))
    throw new CamgateError('CAMGATE_USAGE', `--per-source ${values['per-source']}: use a whole number >= 1`);
  const logger = cliLogger(values, 'canary');
  const p = ports(values.ports);
  const canary = await LanCanary.start({
    address: listen,
    ...(p ? { ports: p } : {}),
    prompt: values['no-prompt'] !== true,
    ...(perSource ? { perSourcePerMinute: perSource } : {}),
    logger: logger.child('listen'),
  });
  const reporter = values.report
    ? new CanaryReporter({ path: values.report, logger: logger.child('report') })
    : undefined;
  canary.on('attempt', (a) => {
    say(JSON.stringify({ event: 'attempt', ...a }));
    reporter?.send({ source: a.source, port: a.port, at: a.at, firstBytes: a.firstBytes, suppressed: a.suppressed });
  });
  say(
    `camgate canary: listening on ${listen} ports ${canary.ports.join(',')}` +
      (reporter ? `, reporting to ${values.report}` : ' (not reporting: no --report)'),
  );
  const sig = await untilSignal();
  logger.info('stopping', { signal: sig });
  await canary.close();
  await reporter?.close();
  return 0;
}
