/**
 * Child processes for the soak: engine, hub and gateway each in their own
 * process (a fault kills or restarts one without touching the others), run
 * under tsx, ready when they print their first JSON line on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface Child<Info> {
  readonly child: ChildProcess;
  readonly info: Info;
  /** The last 64 KiB the child wrote on stderr (for failure messages). */
  stderr(): string;
  /** Sends `signal` if still running and waits (at most 15 s, then SIGKILL) for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `file` (relative to the repository root) under tsx with `env`; resolves with its first JSON line. */
export async function spawnChild<Info>(
  file: string,
  env: Record<string, string>,
  readyMs = 120_000,
): Promise<Child<Info>> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  // CAMGATE_SOAK_LOGS=DIR keeps every child's stderr (run with DEBUG=camgate* for the components' logs).
  const logDir = process.env.CAMGATE_SOAK_LOGS;
  const logFile = logDir ? join(logDir, `${basename(file, '.ts')}-${Date.now()}.log`) : undefined;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-64 * 1024);
    if (logFile) appendFileSync(logFile, d);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<Info>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} not ready within ${readyMs} ms; stderr: ${err}`));
    }, readyMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (out.includes('\n')) return;
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, nl)) as Info);
      } catch (e) {
        reject(new Error(`${file} printed no JSON: ${out.slice(0, 200)}`, { cause: e }));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${child.exitCode ?? child.signalCode}) before it was ready; stderr: ${err}`));
    });
  });
  return {
    child,
    info,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface EngineInfo {
  pid: number;
  url: string;
  port: number;
}

export function startEngineProcess(port = 0): Promise<Child<EngineInfo>> {
  return spawnChild('test/soak/fixtures/engine-process.ts', { CAMGATE_SOAK_ENGINE: JSON.stringify({ port }) });
}

export interface HubInfo {
  pid: number;
  url: string;
  listenPort: number;
  kurentoPort: number;
}

export function startHubProcess(cfg: {
  listenPort: number;
  kurentoPort: number;
  gatewayId: string;
  secretHash: string;
  usersFile: string;
}): Promise<Child<HubInfo>> {
  return spawnChild('test/soak/fixtures/hub-process.ts', { CAMGATE_SOAK_HUB: JSON.stringify(cfg) });
}

/** The gateway fixture of @camgate/core's tests; ready once its tunnel is connected. */
export function startGatewayProcess(gateway: Record<string, unknown>): Promise<Child<{ pid: number; state: string }>> {
  return spawnChild('gateway-core/test/fixtures/gateway-process.ts', {
    CAMGATE_GATEWAY_FIXTURE: JSON.stringify({ gateway }),
  });
}
