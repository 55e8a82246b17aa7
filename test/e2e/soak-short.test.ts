/**
 * The short soak: the full soak's stack — Chromium,
 * hub, tunnel, gateway and engine in their own processes, two simulated
 * cameras, default timers — for 3 min 20 s, so that more than three 60 s
 * Kurento ping intervals pass, with the tunnel cut for 5 s in the middle.
 * `npm run soak` is the 15-minute run with every fault.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from '../soak/run.js';

const DURATION_MS = 200_000; // 3 min 20 s: pings at 60, 120 and 180 s from every client
const CUT_AT_MS = 75_000;

describe('short soak', () => {
  it(
    'keeps both pictures playing across three ping intervals and a tunnel cut; kurento-client keeps its session',
    { timeout: 15 * 60_000 },
    async (t) => {
      const r = await runSoak({
        durationMs: DURATION_MS,
        faults: [{ atMs: CUT_AT_MS, kind: 'tunnel-cut' }],
        log: (line) => t.diagnostic(line),
      });
      for (const c of r.cameras) {
        t.diagnostic(
          `${c.key}: sent ${c.sent}, decoded ${c.decoded}, longest freeze ${c.longestFreezeMs} ms, ` +
            `players ${c.players}, decoded at each 30 s: ${c.windows.join(', ')}`,
        );
      }
      const cut = r.faults[0]!;
      t.diagnostic(
        `tunnel cut: video again after ${JSON.stringify(cut.recoveryMs)} ms, freezes ${JSON.stringify(cut.freezeMs)}`,
      );

      assert.equal(r.signedIn, true, 'the page was never reloaded or sent to sign in');
      for (const c of r.cameras) {
        assert.ok(c.windows.length >= 6, `${c.key}: ${c.windows.length} windows of 30 s`);
        c.windows.forEach((n, i) => {
          const before = i === 0 ? 0 : c.windows[i - 1]!;
          assert.ok(n > before, `${c.key}: frames decoded grow in window ${i + 1} (${before} -> ${n})`);
        });
        assert.ok(c.decoded > 0 && c.sent > 0);
        // Generous bound, not a performance figure: the cut must not need a person to bring video back.
        const back = cut.recoveryMs[c.key];
        assert.ok(back !== undefined && back <= 20_000, `${c.key}: video again ${back} ms after the cut ended`);
      }
      assert.equal(r.kurento.finalInvokeOk, true, `kurento-client invoke at the end: ${r.kurento.finalInvokeError}`);
      assert.equal(r.kurento.recreated, 0, 'the objects made at the start still answer');
      assert.ok(
        r.kurento.reconnects.every((x) => x.sameSession),
        'any reconnect of kurento-client resumed its session',
      );
    },
  );
});
