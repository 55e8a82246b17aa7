/**
 * The real Kurento Media Server 7.3 for end-to-end tests: the prebuilt server
 * in `../shared/kms` (beside the project root; CI has it there, read-only),
 * started with its own `run-kms.sh PORT WORKDIR` on a free loopback port, in a
 * fresh temporary WORKDIR per run, and killed by its PID afterwards.
 *
 * Where `../shared/kms` is absent the test FAILS and says why: its README says a
 * test that needs the real server does not count as passed without it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

/** The project root (this file is test/e2e/helpers/kms.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the prebuilt KMS lives: `../shared/kms` from the project root. */
export const KMS_DIR = resolve(REPO_ROOT, '..', 'shared', 'kms');

const RUN_SCRIPT = join(KMS_DIR, 'run-kms.sh');
const TARBALL = join(KMS_DIR, 'kms-7.3.0-debian12-amd64.tar.xz');

/** Most of KMS's stderr kept for failure messages (the tail matters; GStreamer warns a lot at start). */
const LOG_KEEP_BYTES = 64 * 1024;

export interface KmsOptions {
  /** How long KMS may take to answer a ping on its WebSocket (it builds a GStreamer registry on first start). */
  readyTimeoutMs?: number;
  /** Strings to mask in the log tail (camera passwords: KMS's GStreamer warnings may print the RTSP URL). */
  redact?: readonly string[];
}

export const DEFAULT_KMS_OPTIONS: Required<KmsOptions> = {
  readyTimeoutMs: 60_000, // 60 s: the first start scans ~200 GStreamer plugins on 2 shared cores
  redact: [],
};

export interface Kms {
  /** `ws://127.0.0.1:PORT/kurento` */
  url: string;
  port: number;
  pid: number;
  workdir: string;
  /** KMS's resident memory now, in MB (from /proc; for reports, never asserted). */
  rssMb(): number;
  /** The last part of KMS's stderr (GST_DEBUG=2 warnings and KMS's own log), secrets masked. */
  logTail(maxChars?: number): string;
  /** Kills the server (the PID run-kms.sh exec'd into) and removes its WORKDIR. Idempotent. */
  close(): Promise<void>;
}

/** Why the prebuilt KMS cannot be used here (a loud, multi-line message), or undefined when it is in place. */
export function kmsMissing(): string | undefined {
  if (existsSync(RUN_SCRIPT) && existsSync(TARBALL)) return undefined;
  return [
    '',
    '*** REAL KURENTO MEDIA SERVER NOT FOUND ***',
    `Expected the prebuilt KMS 7.3 at ${KMS_DIR} (run-kms.sh and kms-7.3.0-debian12-amd64.tar.xz),`,
    'i.e. ../shared/kms from the project root, as CI provides it.',
    'These tests prove camgate works with the media server the paper is about; without it they',
    'cannot run and do NOT count as passed. Put the prebuilt KMS there (see its README.md) and',
    'install its runtime packages (../shared/kms/install-kms-deps.sh, done by scripts/test.sh).',
    '',
  ].join('\n');
}

/** Throws, loudly, when the prebuilt KMS is not where tests and CI expect it. */
export function requireKms(): void {
  const why = kmsMissing();
  if (why) throw new Error(why);
}

/** A port the OS says is free on 127.0.0.1 (KMS takes a port number, not 0). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', () => ok()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/** Resolves true once a JSON-RPC ping over the WebSocket is answered, false on any failure. */
async function pingOnce(url: string): Promise<boolean> {
  return new Promise((done) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => finish(false), 2_000);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      done(ok);
    }
    ws.once('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { interval: 0 } })));
    ws.once('message', (d) => finish(String(d).includes('"pong"')));
    ws.once('error', () => finish(false));
  });
}

/**
 * Unpacks KMS into `workdir` (what run-kms.sh would do on its first run) and
 * restricts ICE gathering to the loopback interface. Why: tests send traffic
 * only to loopback, and libnice leaves loopback out unless an interface list
 * names it (nice_interfaces_get_local_ips(FALSE)); with `networkInterfaces=lo`
 * KMS offers only 127.0.0.1 / ::1 host candidates, and with `iceTcp=0` no
 * ICE-TCP ones. No STUN or TURN server is configured, so KMS contacts nobody.
 */
async function prepareWorkdir(workdir: string): Promise<void> {
  await run('tar', ['-C', workdir, '-xJf', TARBALL]);
  const ini = join(workdir, 'kms', 'etc', 'kurento', 'modules', 'kurento', 'WebRtcEndpoint.conf.ini');
  await writeFile(
    ini,
    '; camgate tests: loopback only (see test/e2e/helpers/kms.ts)\nnetworkInterfaces=lo\niceTcp=0\n',
  );
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.once('error', fail);
    p.once('exit', (code) =>
      code === 0 ? ok() : fail(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`)),
    );
  });
}

/** Starts KMS 7.3 from ../shared/kms on a free loopback port and waits until its WebSocket answers. */
export async function startKms(opts: KmsOptions = {}): Promise<Kms> {
  requireKms();
  const o = { ...DEFAULT_KMS_OPTIONS, ...opts };
  const workdir = await mkdtemp(join(tmpdir(), 'camgate-kms-'));
  try {
    await prepareWorkdir(workdir);
  } catch (err) {
    await rm(workdir, { recursive: true, force: true });
    throw err;
  }
  // Another process may take the free port before KMS binds it: try a few.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(port, workdir, o);
    } catch (err) {
      lastError = err as Error;
    }
  }
  await rm(workdir, { recursive: true, force: true });
  throw lastError!;
}

async function launch(port: number, workdir: string, o: Required<KmsOptions>): Promise<Kms> {
  const child: ChildProcess = spawn(RUN_SCRIPT, [String(port), workdir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // GST_DEBUG=2: warnings and errors (run-kms.sh's default), without terminal colours in the log tail.
    env: { ...process.env, GST_DEBUG: process.env.GST_DEBUG ?? '2', GST_DEBUG_NO_COLOR: '1' },
  });
  let log = '';
  const keep = (d: string): void => {
    log += d;
    if (log.length > LOG_KEEP_BYTES * 2) log = log.slice(-LOG_KEEP_BYTES);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once('exit', (code, signal) => ok({ code, signal })),
  );
  let gone = false;
  // If the test process ends without close() (a crash, a timeout that kills it), take KMS with it.
  const killOnExit = (): void => {
    if (!gone) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => {
    gone = true;
    process.off('exit', killOnExit);
  });
  const url = `ws://127.0.0.1:${port}/kurento`;
  const logTail = (maxChars = 4_000): string => {
    let t = collapseRepeats(log).slice(-maxChars);
    for (const s of o.redact) if (s) t = t.split(s).join('***');
    return t;
  };
  const kill = async (): Promise<void> => {
    if (gone) return;
    child.kill('SIGTERM');
    // Bounded: KMS gets 10 s to shut down cleanly, then SIGKILL. The timer is cancelled once it exits.
    const grace = new AbortController();
    const done = await Promise.race([
      exited.then(() => true),
      sleep(10_000, false, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  };

  const deadline = Date.now() + o.readyTimeoutMs;
  for (;;) {
    if (gone) {
      const { code, signal } = await exited;
      throw new Error(`KMS exited (${code ?? signal}) before it answered on ${url}; its log:\n${logTail()}`);
    }
    if (await pingOnce(url)) break;
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`KMS did not answer on ${url} within ${o.readyTimeoutMs} ms; its log:\n${logTail()}`);
    }
    await sleep(250);
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    pid: child.pid!,
    workdir,
    logTail,
    rssMb: () => {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return Math.round(Number(kb) / 1024);
    },
    close: () =>
      (closed ??= (async () => {
        await kill();
        await rm(workdir, { recursive: true, force: true });
      })()),
  };
}

/**
 * Folds runs of GStreamer log lines that differ only in their timestamp (KMS
 * repeats some warnings for every packet) into one line with a count, so a
 * log tail shows more than one message.
 */
export function collapseRepeats(log: string): string {
  const out: string[] = [];
  let prevKey = '';
  let repeats = 0;
  const key = (line: string): string => line.replace(/^\s*\d+:\d+:\d+\.\d+\s+/, '');
  for (const line of log.split('\n')) {
    const k = key(line);
    if (k === prevKey && k !== '') {
      repeats++;
      continue;
    }
    if (repeats > 0) out.push(`    (the line above repeated ${repeats} more times)`);
    repeats = 0;
    prevKey = k;
    out.push(line);
  }
  if (repeats > 0) out.push(`    (the line above repeated ${repeats} more times)`);
  return out.join('\n');
}

/**
 * Runs a test body; if it fails, the error carries KMS's log tail, so a
 * failure against the real server shows what the server said.
 */
export async function withKmsLog<T>(kms: Kms, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const e = err as Error;
    e.message = `${e.message}\n--- Kurento Media Server log (tail, ${kms.url}) ---\n${kms.logTail()}`;
    throw e;
  }
}
