/**
 * coturn from Debian (`turnserver`) on loopback, configured for the TURN REST
 * scheme (`use-auth-secret` + `static-auth-secret`), for tests and benchmarks
 * that prove media crosses a real TURN relay. Missing `turnserver` fails
 * loudly (CI installs the Debian package `coturn`); it is never skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

export const TURNSERVER_PATH = '/usr/bin/turnserver';

export interface CoturnOptions {
  /** coturn's static-auth-secret; random when omitted. */
  secret?: string;
  /** The realm coturn announces (RFC 8489 §14.9). */
  realm?: string;
}

export interface Coturn {
  host: '127.0.0.1';
  port: number;
  secret: string;
  realm: string;
  /** `turn:127.0.0.1:PORT?transport=udp` */
  url: string;
  /** Relay ports coturn may allocate (min-port..max-port). */
  relayPorts: [number, number];
  pid: number;
  /** coturn's log so far (for failure messages). */
  log(): Promise<string>;
  close(): Promise<void>;
}

/** A port free on 127.0.0.1 for both UDP and TCP right now (coturn listens on both; it cannot take port 0). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', resolve);
    });
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    const sock = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => sock.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error('coturn helper: no port free for both UDP and TCP on 127.0.0.1');
}

/** One STUN Binding request (RFC 8489 §6) answered by a Binding success: coturn is up. */
export async function stunBinding(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const sock = dgram.createSocket('udp4');
  const txid = randomBytes(12);
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0); // Binding request
  req.writeUInt16BE(0, 2);
  req.writeUInt32BE(0x2112a442, 4); // magic cookie, RFC 8489 §5
  txid.copy(req, 8);
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      sock.on('message', (msg) => {
        if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(txid)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      sock.on('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      sock.send(req, port, host);
    });
  } finally {
    sock.close();
  }
}

/**
 * Starts `turnserver` on 127.0.0.1 with a generated config; resolves once it
 * answers STUN. With `t`, it is stopped after the test.
 */
export async function startCoturn(t?: TestContext, opts: CoturnOptions = {}): Promise<Coturn> {
  if (!existsSync(TURNSERVER_PATH)) {
    throw new Error(`${TURNSERVER_PATH} not found: install the Debian package coturn (apt-get install -y coturn)`);
  }
  const secret = opts.secret ?? randomBytes(24).toString('hex');
  const realm = opts.realm ?? 'camgate.test';
  const dir = await mkdtemp(join(tmpdir(), 'camgate-coturn-'));
  const port = await freePort();
  // A relay range of 200 ports somewhere in 50000..59799, so parallel test files rarely share one.
  const min = 50_000 + Math.floor(Math.random() * 49) * 200;
  const relayPorts: [number, number] = [min, min + 199];
  const logPath = join(dir, 'turnserver.log');
  const config = [
    'listening-ip=127.0.0.1',
    `listening-port=${port}`,
    'relay-ip=127.0.0.1',
    `min-port=${relayPorts[0]}`,
    `max-port=${relayPorts[1]}`,
    // TURN REST scheme: draft-uberti-behave-turn-rest-00; coturn README.turnserver.
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    `realm=${realm}`,
    // The browser, the engine and the relay all live on 127.0.0.1: coturn refuses loopback peers unless told.
    'allow-loopback-peers',
    'no-multicast-peers',
    'no-cli',
    'no-tls',
    'no-dtls',
    'fingerprint',
    'no-software-attribute',
    'no-rfc5780', // no alternate port for NAT behaviour discovery: one listening port only
    `log-file=${logPath}`,
    'simple-log',
    'no-stdout-log',
    `pidfile=${join(dir, 'turnserver.pid')}`,
    `userdb=${join(dir, 'turndb')}`,
    '',
  ].join('\n');
  const confPath = join(dir, 'turnserver.conf');
  await writeFile(confPath, config, { mode: 0o600 });

  const child: ChildProcess = spawn(TURNSERVER_PATH, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-16_384)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-16_384)));
  let exited: { code: number | null; signal: string | null } | undefined;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const log = async (): Promise<string> => {
    const file = await readFile(logPath, 'utf8').catch(() => '');
    return `${file}${output}`;
  };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (!exited) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exitedP;
      clearTimeout(killTimer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  t?.after(close);

  // Ready when it answers a STUN Binding; bounded so a broken install fails instead of hanging.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      const text = await log();
      await close();
      throw new Error(`turnserver exited (${JSON.stringify(exited)}) before listening:\n${text.slice(-4000)}`);
    }
    if (await stunBinding('127.0.0.1', port)) break;
    if (Date.now() > deadline) {
      const text = await log();
      await close();
      throw new Error(`turnserver did not answer STUN on 127.0.0.1:${port} within 15 s:\n${text.slice(-4000)}`);
    }
    await sleep(50);
  }
  return {
    host: '127.0.0.1',
    port,
    secret,
    realm,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    relayPorts,
    pid: child.pid!,
    log,
    close,
  };
}
