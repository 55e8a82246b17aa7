/**
 * `npm run soak [-- --minutes N]`: the full soak. Chromium watches
 * two cameras through hub → tunnel → gateway → engine for N minutes (default
 * 15) with the default timers while the tunnel is cut for 5 s, the hub
 * restarted, the engine SIGKILLed and restarted and a camera restarted, spread
 * over the run; then prints, per camera, frames decoded against frames sent,
 * the longest freeze, and the time from each fault's end to video again.
 */
import { parseArgs } from 'node:util';
import { runSoak, type FaultKind, type SoakReport } from './run.js';

const HELP = `npm run soak [-- --minutes N] [--json]

  --minutes N   how long to watch (default 15, at least 3)
  --json        print the report as JSON as well`;

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const minutes = values.minutes === undefined ? 15 : Number(values.minutes);
if (!Number.isFinite(minutes) || minutes < 3) {
  process.stderr.write(`--minutes ${values.minutes}: use a number of minutes, at least 3\n`);
  process.exit(2);
}
const durationMs = Math.round(minutes * 60_000);
// Faults spread over the run, each followed by quiet time (a ping interval or more at 15 min).
const kinds: FaultKind[] = ['tunnel-cut', 'hub-restart', 'engine-kill', 'camera-restart'];
const faults = kinds.map((kind, i) => ({ kind, atMs: Math.round(durationMs * (0.12 + 0.2 * i)) }));

// kurento-client prints its reconnect attempts with console.log: keep stdout for the report.
console.log = (...args: unknown[]) => process.stderr.write(`[kurento-client] ${args.map(String).join(' ')}\n`);

const started = new Date();
const report = await runSoak({
  durationMs,
  faults,
  log: (line) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
});
process.stdout.write(render(report, started));
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.signedIn && report.kurento.finalInvokeOk ? 0 : 1);

function s(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`;
}

function render(r: SoakReport, at: Date): string {
  const lines = [
    `camgate soak, ${at.toISOString()}: ${(r.durationMs / 60_000).toFixed(1)} min, two cameras 320x240 @ 25 fps`,
    '',
    'camera        sent  decoded  presented  decoded/sent  longest freeze  players',
  ];
  for (const c of r.cameras) {
    lines.push(
      `${c.key.padEnd(12)} ${String(c.sent).padStart(5)} ${String(c.decoded).padStart(8)} ${String(c.presented).padStart(10)}` +
        `  ${((100 * c.decoded) / Math.max(1, c.sent)).toFixed(1).padStart(11)}%  ${s(c.longestFreezeMs).padStart(14)}  ${String(c.players).padStart(7)}`,
    );
  }
  lines.push('', 'fault            at      lasted   video again after fault end (per camera)   longest freeze near it');
  for (const f of r.faults) {
    const keys = Object.keys(f.recoveryMs);
    lines.push(
      `${f.kind.padEnd(15)} ${s(f.start - (r.faults[0]?.start ?? f.start)).padStart(7)}  ${s(f.end - f.start).padStart(7)}   ` +
        keys
          .map((k) => `${k.split('/')[1]} ${s(f.recoveryMs[k])}`)
          .join(', ')
          .padEnd(40) +
        '   ' +
        keys.map((k) => `${k.split('/')[1]} ${s(f.freezeMs[k])}`).join(', '),
    );
  }
  const k = r.kurento;
  lines.push(
    '',
    `viewer signed in at the end: ${r.signedIn ? 'yes' : 'NO'}`,
    `kurento-client: session ${k.sessionId ?? '?'}, ${k.reconnects.length} reconnect(s) ` +
      `(${k.reconnects.filter((x) => x.sameSession).length} resumed the same session), ` +
      `objects made again: ${k.recreated}, invoke at the end: ${k.finalInvokeOk ? 'ok' : `FAILED (${k.finalInvokeError})`}`,
    '',
  );
  return lines.join('\n');
}
