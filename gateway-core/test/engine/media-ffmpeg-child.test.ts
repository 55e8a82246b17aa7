/**
 * FfmpegChild (engine/media/ffmpeg-child.ts) with the real FFmpeg: the
 * supervision the transcoders and talk-back share — restart with backoff,
 * a capped stderr tail, no URL credentials in what it reports, stop().
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '@camgate/test-helpers';
import { FfmpegChild, type FfmpegChildOptions } from '../../src/engine/media/ffmpeg-child.js';
import { createLogger, type LogRecord } from '../../src/util/index.js';

const FFMPEG = '/usr/bin/ffmpeg';
/** FFmpeg that exits at once with code 1 and one error line naming its input. */
const FAILING = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', '/nonexistent/camgate-input.wav'];
/** FFmpeg that copies 8 kHz mono PCM from stdin to stdout until stdin ends. */
const ECHO = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 's16le', '-ar', '8000', '-ac', '1'];
ECHO.push('-i', 'pipe:0', '-f', 's16le', '-flush_packets', '1', 'pipe:1');

function child(
  args: string[],
  extra: Partial<FfmpegChildOptions> = {},
): { records: LogRecord[]; details: string[]; delays: number[]; starts: number[]; ff: FfmpegChild } {
  const records: LogRecord[] = [];
  const details: string[] = [];
  const delays: number[] = [];
  const starts: number[] = [];
  const ff = new FfmpegChild({
    ffmpegPath: FFMPEG,
    args: () => args,
    name: 'test child',
    logger: createLogger('test', (r) => records.push(r)),
    restart: { initialMs: 50, maxMs: 200 },
    onStart: (pid) => starts.push(pid ?? -1),
    onOutput: () => undefined,
    onExit: (detail) => details.push(detail),
    onRestarting: (delay) => delays.push(delay),
    ...extra,
  });
  return { records, details, delays, starts, ff };
}

describe('FfmpegChild (real FFmpeg)', () => {
  it('restarts an FFmpeg that exits, 50, 100, 200, 200 ms apart, and says why with its stderr', async (t) => {
    const c = child(FAILING);
    t.after(() => c.ff.stop());
    await waitUntil(() => c.delays.length >= 4, 'four restarts', 20_000);
    assert.deepEqual(c.delays.slice(0, 4), [50, 100, 200, 200], 'doubling, capped at maxMs');
    assert.ok(c.starts.length >= 4, 'a new process each time');
    assert.equal(new Set(c.starts).size, c.starts.length, 'each with its own pid');
    assert.match(c.details[0]!, /^exit code 1: .*nonexistent\/camgate-input\.wav: No such file or directory$/);
    const warn = c.records.find((r) => r.level === 'warn');
    assert.equal(warn?.msg, 'test child (FFmpeg) stopped; restarting');
  });

  it('starts the backoff afresh once the owner reports healthy output', async (t) => {
    const c = child(FAILING, { restart: { initialMs: 40, maxMs: 10_000 } });
    t.after(() => c.ff.stop());
    await waitUntil(() => c.delays.length >= 2, 'two restarts', 20_000);
    c.ff.healthy();
    const seen = c.delays.length;
    await waitUntil(() => c.delays.length > seen, 'the next restart', 20_000);
    assert.deepEqual(c.delays.slice(0, 2), [40, 80]);
    assert.equal(c.delays[seen], 40, 'back to initialMs');
  });

  it('keeps at most maxStderrChars of stderr: the tail', async (t) => {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'debug', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono'];
    args.push('-t', '0.2', '-f', 'null', '-');
    const c = child(args, { maxStderrChars: 256, restart: false });
    t.after(() => c.ff.stop());
    let longest = 0;
    const timer = setInterval(() => (longest = Math.max(longest, c.ff.stderrTail.length)), 1);
    t.after(() => clearInterval(timer));
    await waitUntil(() => c.details.length === 1, 'FFmpeg to finish', 20_000);
    clearInterval(timer);
    assert.equal(c.ff.stderrTail.length, 256, 'FFmpeg at debug level writes kilobytes; 256 characters are kept');
    assert.ok(longest <= 256, `never more than the cap (saw ${longest})`);
    assert.match(c.details[0]!, /^exit code 0/);
    assert.ok(c.details[0]!.length <= 'exit code 0: '.length + 200, 'one shortened line');
  });

  it('removes URL credentials FFmpeg echoes from what it reports', async (t) => {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', 'file://cam-user:cam-secret@/nonexistent/x'];
    const c = child(args, { restart: { initialMs: 10_000, maxMs: 10_000 } });
    t.after(() => c.ff.stop());
    await waitUntil(() => c.delays.length === 1, 'the first exit', 20_000);
    assert.ok(c.ff.stderrTail.includes('cam-secret'), 'FFmpeg did echo the credentials');
    assert.match(c.details[0]!, /file:\/\/\[redacted\]@\/nonexistent\/x/);
    const reported = JSON.stringify([c.details, c.records]);
    assert.ok(!reported.includes('cam-secret') && !reported.includes('cam-user'), reported);
  });

  it('reports an exit once and does not restart with restart: false', async (t) => {
    const c = child(FAILING, { restart: false });
    t.after(() => c.ff.stop());
    await waitUntil(() => c.details.length === 1, 'the exit', 20_000);
    await sleep(300);
    assert.equal(c.details.length, 1);
    assert.deepEqual(c.delays, []);
    assert.equal(c.starts.length, 1);
    assert.equal(c.ff.running, false);
  });

  it('pipes stdin to FFmpeg and its stdout back; stop() kills it and reports nothing', async (t) => {
    const out: Buffer[] = [];
    const c = child(ECHO, { onOutput: (b) => out.push(b) });
    t.after(() => c.ff.stop());
    const pid = c.ff.pid!;
    assert.ok(c.ff.running && existsSync(`/proc/${pid}`), 'FFmpeg runs');
    const pcm = Buffer.alloc(1600 * 2, 0x11); // 0.4 s of 8 kHz s16le
    for (let i = 0; i < 10; i++) assert.equal(c.ff.write(pcm), true);
    await waitUntil(() => Buffer.concat(out).length >= 4 * pcm.length, 'PCM back from FFmpeg', 20_000);
    assert.ok(
      out.every((b) => b.every((x) => x === 0x11)),
      'the same samples',
    );
    c.ff.stop();
    c.ff.stop(); // idempotent
    assert.equal(c.ff.running, false);
    assert.equal(c.ff.write(pcm), false, 'nothing takes input after stop');
    await waitUntil(() => !existsSync(`/proc/${pid}`), 'the process to be gone (killed and reaped)', 10_000);
    await sleep(200);
    assert.deepEqual(c.details, [], 'a stop is not an exit');
    assert.deepEqual(c.delays, [], 'and not restarted');
  });

  it('cancels a pending restart on stop()', async (t) => {
    const c = child(FAILING, { restart: { initialMs: 100, maxMs: 100 } });
    t.after(() => c.ff.stop());
    await waitUntil(() => c.delays.length === 1, 'the first exit', 20_000);
    c.ff.stop();
    await sleep(400);
    assert.equal(c.starts.length, 1, 'not started again');
  });

  it('rejects bad options by name', () => {
    const opts = (o: Partial<FfmpegChildOptions>): FfmpegChildOptions => ({
      ffmpegPath: FFMPEG,
      args: () => FAILING,
      name: 'x',
      logger: createLogger('test', () => undefined),
      restart: false,
      onOutput: () => undefined,
      ...o,
    });
    assert.throws(() => new FfmpegChild(opts({ ffmpegPath: '' })), { name: 'TypeError', message: /ffmpegPath/ });
    assert.throws(() => new FfmpegChild(opts({ restart: { initialMs: 0, maxMs: 10 } })), {
      name: 'RangeError',
      message: /restart/,
    });
    assert.throws(() => new FfmpegChild(opts({ restart: { initialMs: 100, maxMs: 10 } })), /restart/);
    assert.throws(() => new FfmpegChild(opts({ maxStderrChars: 0 })), {
      name: 'RangeError',
      message: /maxStderrChars/,
    });
  });
});
