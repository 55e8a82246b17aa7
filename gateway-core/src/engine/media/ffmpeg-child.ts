/**
 * One supervised FFmpeg child process, as the engine's transcoders and the
 * talk-back pipeline run it: spawned with an argument array (no shell),
 * stdin/stdout piped to the owner, the tail of stderr kept (size-limited) for
 * the one line that says why it stopped, and — when it exits on its own —
 * restarted after an exponential backoff, or reported once and left stopped.
 * `stop()` kills it and cancels a pending restart.
 *
 * Secrets: the engine's FFmpeg children read media on stdin and never see a
 * camera URL, but FFmpeg echoes its input names in errors, so the line taken
 * from stderr still has URL credentials removed (redactString) before it
 * reaches a log, an event or an error.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { redactString, type Logger } from '../../util/index.js';

export interface FfmpegChildOptions {
  /** The FFmpeg executable (findFfmpeg). */
  ffmpegPath: string;
  /** Its arguments, asked for again at each (re)start. */
  args: () => string[];
  /** What this child is, in log lines ("transcoder", "audio transcoder", ...). */
  name: string;
  logger: Logger;
  /** Restart delay after FFmpeg exits on its own: `initialMs`, doubling, capped at `maxMs`; false: never. */
  restart: { initialMs: number; maxMs: number } | false;
  /** Characters of stderr kept (the tail), for the line that says why FFmpeg stopped. */
  maxStderrChars?: number;
  /** A process started (the first, or a restart): reset per-process state here. */
  onStart?: (pid: number | undefined) => void;
  /** Bytes FFmpeg wrote on stdout. */
  onOutput: (chunk: Buffer) => void;
  /**
   * FFmpeg stopped on its own (not by `stop()`): `detail` says why, with its last stderr line (no URL
   * credentials). Called before a restart is planned; `stop()` here prevents it.
   */
  onExit?: (detail: string) => void;
  /** A restart is planned in `delayMs` (after `onExit`; logged as a warning). */
  onRestarting?: (delayMs: number, detail: string) => void;
}

export const DEFAULT_FFMPEG_CHILD_OPTIONS = {
  maxStderrChars: 2048, // FFmpeg at -loglevel error says why in its last line or two
  maxDetailChars: 200, // of that line, in logs and events
} as const;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export class FfmpegChild {
  readonly #o: FfmpegChildOptions & { maxStderrChars: number };
  #child: Child | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stderr = '';
  #stopped = false;

  /** Starts FFmpeg at once. Throws TypeError/RangeError for bad options. */
  constructor(opts: FfmpegChildOptions) {
    if (typeof opts?.ffmpegPath !== 'string' || opts.ffmpegPath === '') {
      throw new TypeError('FfmpegChild: ffmpegPath must be a non-empty string');
    }
    const r = opts.restart;
    if (r !== false && !(Number.isInteger(r?.initialMs) && r.initialMs >= 1 && r.maxMs >= r.initialMs)) {
      throw new RangeError(
        `FfmpegChild: restart must be false or {initialMs >= 1, maxMs >= initialMs} (ms), got ${JSON.stringify(r)}`,
      );
    }
    const maxStderrChars = opts.maxStderrChars ?? DEFAULT_FFMPEG_CHILD_OPTIONS.maxStderrChars;
    if (!Number.isInteger(maxStderrChars) || maxStderrChars < 1 || maxStderrChars > 1024 * 1024) {
      throw new RangeError(`FfmpegChild: maxStderrChars must be 1..1048576, got ${String(maxStderrChars)}`);
    }
    this.#o = { ...opts, maxStderrChars };
    this.#spawn();
  }

  /** True while an FFmpeg process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The running process's id. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Bytes written to FFmpeg's stdin that it has not read yet (0 without a process). */
  get pendingBytes(): number {
    return this.#child?.stdin.writableLength ?? 0;
  }

  /** The stderr tail kept of the current (or last) process: at most `maxStderrChars`, not redacted. */
  get stderrTail(): string {
    return this.#stderr;
  }

  /** Writes to FFmpeg's stdin; false (and `done` is not called) when no process takes it. */
  write(buf: Buffer, done?: () => void): boolean {
    const child = this.#child;
    if (!child || child.stdin.destroyed) return false;
    child.stdin.write(buf, done);
    return true;
  }

  /** Output flows: the next crash starts the backoff afresh. */
  healthy(): void {
    this.#attempt = 0;
  }

  /** Kills FFmpeg and cancels a pending restart. Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    try {
      child.stdin.destroy();
    } catch {
      // already closed
    }
    // SIGKILL: nothing of its output is wanted any more, and FFmpeg may be stuck in a blocking write.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  #spawn(): void {
    const child = spawn(this.#o.ffmpegPath, this.#o.args(), { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    this.#child = child;
    this.#stderr = '';
    const cap = this.#o.maxStderrChars;
    // EPIPE when FFmpeg exits: the 'exit' handler deals with it.
    child.stdin.on('error', (err) => this.#o.logger.debug(`${this.#o.name}: FFmpeg stdin`, { error: err.message }));
    child.stdout.on('data', (chunk: Buffer) => {
      if (child === this.#child) this.#o.onOutput(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (child === this.#child) this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-cap);
    });
    child.on('error', (err) => this.#onExit(child, `cannot run FFmpeg: ${err.message}`));
    child.on('exit', (code, signal) => this.#onExit(child, signal ? `killed by ${signal}` : `exit code ${code}`));
    this.#o.logger.debug(`${this.#o.name} started`, { pid: child.pid });
    this.#o.onStart?.(child.pid);
  }

  #onExit(child: Child, why: string): void {
    if (child !== this.#child) return; // stopped, or an old process
    this.#child = undefined;
    const detail = redactString(`${why}${this.#stderrLine()}`);
    const r = this.#o.restart;
    if (r === false) this.#stopped = true;
    this.#o.onExit?.(detail);
    if (r === false || this.#stopped) return;
    const delay = Math.min(r.maxMs, r.initialMs * 2 ** Math.min(this.#attempt, 20));
    this.#attempt++;
    this.#o.logger.warn(`${this.#o.name} (FFmpeg) stopped; restarting`, { detail, nextRetryMs: delay });
    this.#o.onRestarting?.(delay, detail);
    if (this.#stopped) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopped) this.#spawn();
    }, delay);
  }

  /** `: ` and FFmpeg's last non-empty stderr line (shortened), or nothing. */
  #stderrLine(): string {
    const lines = this.#stderr.split('\n').filter((l) => l.trim() !== '');
    const last = lines.at(-1)?.trim().slice(0, DEFAULT_FFMPEG_CHILD_OPTIONS.maxDetailChars);
    return last ? `: ${last}` : '';
  }
}
