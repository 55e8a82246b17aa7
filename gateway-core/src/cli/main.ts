#!/usr/bin/env node
/**
 * The `camgate` command line. One handler per command (dispatch table);
 * each command has its own --help.
 */
import { readFileSync } from 'node:fs';
import { CamgateError } from '../util/index.js';

type Command = (argv: string[]) => Promise<number>;

/**
 * Every command is loaded lazily: one missing part cannot break the rest, and a command pays only for its own
 * modules (`camgate engine` does not load the gateway's and hub's zod, yaml and mqtt: 26 MB of RSS, issue 17).
 */
const COMMANDS: Record<string, { run: Command; summary: string }> = {
  demo: {
    run: lazy('./demo.js', 'runDemo'),
    summary: 'run the whole system on this machine: cameras, engine, gateway, hub, viewer',
  },
  hub: { run: lazy('./hub.js', 'runHub'), summary: 'run the public hub (and add-gateway, add-token, add-user)' },
  gateway: {
    run: lazy('./gateway.js', 'runGateway'),
    summary: 'run the home gateway that dials out to the hub (and add-camera)',
  },
  engine: { run: lazy('./engine.js', 'runEngine'), summary: 'run the built-in Kurento-protocol media server' },
  'camera-sim': { run: lazy('./camera-sim.js', 'runCameraSim'), summary: 'run a simulated RTSP camera on loopback' },
  scan: { run: lazy('./scan.js', 'runScan'), summary: 'probe an address for exposed camera services' },
  flags: { run: lazy('./flags.js', 'runFlags'), summary: 'list exposure and compromise flags and their history' },
  canary: {
    run: lazy('./canary.js', 'runCanary'),
    summary: 'listen on a LAN address where only botnet scanners connect; report them to the gateway',
  },
};

function lazy(path: string, name: string): Command {
  return async (argv) => {
    const mod = (await import(path)) as Record<string, Command>;
    const fn = mod[name];
    if (typeof fn !== 'function') throw new CamgateError('CAMGATE_USAGE', `command not available in this build`);
    return fn(argv);
  };
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

const HELP = `camgate ${version()} — watch IP cameras from anywhere; nothing at home accepts a connection from the internet

Usage: camgate COMMAND [options]      (camgate COMMAND --help for each)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Options:
  -h, --help     this help
  -V, --version  print the version`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(`${HELP}\n`);
    return cmd ? 0 : 2;
  }
  if (cmd === '-V' || cmd === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[cmd];
  if (!command) {
    process.stderr.write(`camgate: unknown command "${cmd}"\n\n${HELP}\n`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CamgateError) {
      process.stderr.write(`camgate: ${err.message}${err.code === 'CAMGATE_USAGE' ? '' : ` [${err.code}]`}\n`);
      process.exitCode = err.code === 'CAMGATE_USAGE' ? 2 : 1;
    } else {
      process.stderr.write(`camgate: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
