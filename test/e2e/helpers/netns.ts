/**
 * Network namespaces for the end-to-end test: create them (unique names),
 * run commands in them, spawn fixture processes that speak the JSON-lines
 * protocol of `fixtures/netns-rpc.ts`, and delete everything afterwards.
 * Every command is an argument array (never a shell string).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** How long a wait may hang before it fails with the process's recent output (diagnosis, not a timing test). */
const WAIT_GUARD_MS = 90_000;

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs a command and returns stdout; rejects with stderr in the message. */
export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run(cmd, args, { timeout: 30_000 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
    p.stdin.end(input);
  });
}

/** A suffix that keeps names unique per run (interface names stay within 15 characters). */
export const uniqueSuffix = (): string => randomBytes(3).toString('hex');

export interface Line {
  event?: string;
  /** A reply's request number; on event lines, whatever id the event carries (a flag's id is a string). */
  id?: number | string;
  ok?: boolean;
  result?: unknown;
  error?: string;
  [k: string]: unknown;
}

/** One process running in a namespace, speaking JSON lines. */
export class NsProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  stderr = '';
  readonly #waiters = new Set<() => void>();
  #nextId = 1;
  readonly exited: Promise<number | null>;

  constructor(ns: string, argv: string[], name: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.child.stdin!.on('error', () => {});
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      let msg: Line;
      try {
        msg = JSON.parse(l) as Line;
      } catch {
        msg = { event: 'text', text: l };
      }
      this.lines.push(msg);
      for (const w of [...this.#waiters]) w();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
      for (const w of [...this.#waiters]) w();
    });
    void this.exited.then(() => {
      for (const w of [...this.#waiters]) w();
    });
    this.name = name;
  }

  readonly name: string;

  /** The first line (already received or to come) for which `pred` holds; rejects if the process exits first. */
  waitFor(pred: (l: Line) => boolean, what = 'a line'): Promise<Line> {
    return new Promise((resolve, reject) => {
      // Not a timing assertion: a guard so a hang fails with what this process said instead of a bare test timeout.
      const guard = setTimeout(() => {
        this.#waiters.delete(check);
        const recent = this.lines.slice(-15).map((l) => JSON.stringify(l).slice(0, 300));
        reject(new Error(`${this.name}: no ${what} after ${WAIT_GUARD_MS} ms; its last lines:\n${recent.join('\n')}`));
      }, WAIT_GUARD_MS);
      const check = (): void => {
        const hit = this.lines.find(pred);
        if (hit) {
          clearTimeout(guard);
          this.#waiters.delete(check);
          resolve(hit);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(guard);
          this.#waiters.delete(check);
          reject(new Error(`${this.name} exited (${this.child.exitCode}) before ${what}; stderr:\n${this.stderr}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once stderr matches `re` (e.g. a daemon's "listening" log line), counting from `from` characters. */
  waitStderr(re: RegExp, from = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (re.test(this.stderr.slice(from))) {
          this.#waiters.delete(check);
          resolve();
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.#waiters.delete(check);
          reject(new Error(`${this.name} exited (${this.child.exitCode}); stderr:\n${this.stderr}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  event(name: string, pred: (l: Line) => boolean = () => true): Promise<Line> {
    return this.waitFor((l) => l.event === name && pred(l), `event ${name}`);
  }

  async request<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    const reply = await this.waitFor((l) => l.id === id, `the reply to ${cmd}`);
    if (!reply.ok) throw new Error(`${this.name} ${cmd}: ${reply.error}`);
    return reply.result as T;
  }

  /** Asks the fixture to close, then kills it if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end(`${JSON.stringify({ cmd: 'close' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `node --import tsx FIXTURE JSON` inside `ns` and waits for its `ready` event. */
export async function startFixture(ns: string, fixture: string, args: unknown): Promise<{ p: NsProcess; ready: Line }> {
  const file = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const p = new NsProcess(ns, [process.execPath, '--import', 'tsx', file, JSON.stringify(args)], fixture);
  try {
    const ready = await p.event('ready');
    return { p, ready };
  } catch (err) {
    p.child.kill('SIGKILL');
    throw err;
  }
}
