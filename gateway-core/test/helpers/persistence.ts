/**
 * Helpers for the persistence, bad-input and no-listen tests: hub and gateway
 * fixtures in child processes (so they can be SIGKILLed and their sockets
 * listed), a listening-socket reader over /proc, and a bounded poller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GatewayOptions } from '../../src/gateway/index.js';
import type { HubOptions } from '../../src/hub/index.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildFixture<Info> {
  child: ChildProcess;
  pid: number;
  /** The JSON line the fixture printed once ready. */
  info: Info;
  /** Everything the child wrote on stderr so far (for failure messages). */
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGKILL by default) if still running and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `test/fixtures/<name>` under tsx with `env` and waits for its first stdout line (JSON). */
export async function spawnFixture<Info>(
  name: string,
  env: Record<string, string>,
  readyTimeoutMs = 20_000,
): Promise<ChildFixture<Info>> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURES + name], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (err.length < 64 * 1024) err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const info = await new Promise<Info>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${name} not ready within ${readyTimeoutMs} ms; stderr: ${err}`));
    }, readyTimeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, nl)) as Info);
      } catch (e) {
        reject(new Error(`fixture ${name} printed no JSON: ${out.slice(0, 200)}`, { cause: e }));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`fixture ${name} exited (${code ?? signal}) before it was ready; stderr: ${err}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    info,
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface HubProcessConfig {
  listenPort: number;
  kurentoPort: number;
  gateways: NonNullable<HubOptions['gateways']>;
  tunnel?: HubOptions['tunnel'];
}

export interface HubProcessInfo {
  pid: number;
  url: string;
  tunnelUrl: string;
  listenPort: number;
  kurentoPort: number;
}

/** A Hub in a child process (test/fixtures/hub-process.ts), on loopback. */
export function startHubProcess(cfg: HubProcessConfig): Promise<ChildFixture<HubProcessInfo>> {
  return spawnFixture<HubProcessInfo>('hub-process.ts', { CAMGATE_HUB_FIXTURE: JSON.stringify(cfg) });
}

/** A Gateway in a child process (test/fixtures/gateway-process.ts); ready once its tunnel is connected. */
export function startGatewayProcess(cfg: {
  gateway: Omit<GatewayOptions, 'logger'>;
  alsoListen?: 'tcp' | 'udp';
}): Promise<ChildFixture<{ pid: number; state: string }>> {
  return spawnFixture('gateway-process.ts', { CAMGATE_GATEWAY_FIXTURE: JSON.stringify(cfg) });
}

export interface ListeningSocket {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  /** Local address:port as the kernel shows it (hex). */
  local: string;
  port: number;
  inode: number;
}

/** TCP state LISTEN in /proc/net/tcp (include/net/tcp_states.h: TCP_LISTEN = 10). */
const TCP_LISTEN = '0A';
/** UDP sockets show TCP_CLOSE (7) when unconnected: they accept datagrams from anyone. */
const UDP_UNCONNECTED = '07';

/**
 * The sockets of process `pid` that accept traffic from others: TCP in LISTEN
 * and unconnected UDP. Matches the socket inodes in /proc/PID/fd against the
 * tables in /proc/PID/net/{tcp,tcp6,udp,udp6} (proc(5)).
 */
export function listeningSockets(pid: number): ListeningSocket[] {
  const inodes = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(Number(m[1]));
  }
  const found: ListeningSocket[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
    let table: string;
    try {
      table = readFileSync(`/proc/${pid}/net/${proto}`, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of table.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const [, local, , state] = cols;
      const inode = Number(cols[9]);
      if (!inodes.has(inode) || !local) continue;
      const listening = proto.startsWith('tcp') ? state === TCP_LISTEN : state === UDP_UNCONNECTED;
      if (listening) found.push({ proto, local, port: parseInt(local.split(':')[1] ?? '0', 16), inode });
    }
  }
  return found;
}

/** Number of sockets (any kind) process `pid` holds: proves the reader saw the process at all. */
export function socketCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}
