/**
 * Runs a real mosquitto (Debian package) on a loopback port for tests.
 * `restart()` stops it (SIGTERM: mosquitto writes its persistence file) and
 * starts it again on the same port and config, so retained messages survive
 * when `persistenceDir` is given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MosquittoOptions {
  /** Loopback port; a free one is picked when unset. */
  port?: number;
  /** Directory for `persistence true`; unset = no persistence. */
  persistenceDir?: string;
  /** A password file made with `mosquitto_passwd`; unset = anonymous allowed. */
  passwordFile?: string;
}

export interface Mosquitto {
  url: string;
  port: number;
  /** Everything mosquitto wrote to stderr (its log). */
  readonly log: string;
  stop(): Promise<void>;
  /** Stops mosquitto, runs `whileDown` (if given), starts it again on the same port. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** A free loopback TCP port (bound and released; mosquitto binds with SO_REUSEADDR). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Resolves once something accepts TCP on 127.0.0.1:port; rejects when `child` exits first. */
async function waitListening(port: number, child: ChildProcess, deadline: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  const confDir = await mkdtemp(join(tmpdir(), 'camgate-mosquitto-'));
  const conf = [
    `listener ${port} 127.0.0.1`,
    opts.passwordFile ? `password_file ${opts.passwordFile}` : 'allow_anonymous true',
    opts.passwordFile ? 'allow_anonymous false' : '',
    opts.persistenceDir ? `persistence true\npersistence_location ${opts.persistenceDir}/` : 'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    // mosquitto drops root privileges to this user; stay as the test's user so temp files stay readable.
    'user root',
  ].join('\n');
  const confPath = join(confDir, 'mosquitto.conf');
  await writeFile(confPath, `${conf}\n`);
  let log = '';
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const c = spawn(MOSQUITTO_BIN, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await waitListening(port, c, Date.now() + 10_000);
  };
  const halt = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get log() {
      return log;
    },
    async stop() {
      await halt();
      await rm(confDir, { recursive: true, force: true });
    },
    async restart(whileDown) {
      await halt();
      await whileDown?.();
      await launch();
    },
  };
}

/** Writes a mosquitto password file with one user (`mosquitto_passwd -c -b`). */
export async function mosquittoPasswordFile(dir: string, user: string, password: string): Promise<string> {
  const file = join(dir, 'passwd');
  await writeFile(file, '');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('/usr/bin/mosquitto_passwd', ['-b', file, user, password], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_passwd exited with ${code}`))));
  });
  return file;
}
