/**
 * Push-to-talk in the hub's viewer page, end to end (issue 15): Chromium's
 * fake microphone plays a WAV of a 700 Hz tone; holding a tile's talk button
 * sends it through the hub, the gateway's policy and the built-in engine
 * (Opus → FFmpeg → G.711/AAC) to the simulated camera's ONVIF back channel,
 * whose recording must contain the tone. A second talker gets "busy"; a user
 * without the talk setting sees no button and is refused even when sending the
 * talk message itself; a camera without a speaker says so; talking for over
 * 60 s keeps working (every timer passes).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import type { BackchannelRecording, CameraSim } from '@camgate/camera-sim';
import { dominantFrequency, GATEWAY_ID, type Stack, signIn, untilOnPage as until, watch } from '@camgate/test-helpers';
import { startViewerStack, tile, type ViewerStack } from './helpers/viewer-stack.js';

const run = promisify(execFile);
const CAM_PASSWORD = 'talk-e2e-Cam-pw-8Qw';
const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' }; // may talk, all cameras
const BOB = { name: 'bob', password: 'bob-Pass-2Lm7' }; // may talk, porch
const CAROL = { name: 'carol', password: 'carol-Pass-5Zx1' }; // watches porch, may not talk
const MIC_HZ = 700;

/** The strongest frequency of the last second the camera recorded. */
function heardHz(rec: BackchannelRecording): number {
  const rate = rec.sampleRate;
  return dominantFrequency(rec.pcm.subarray(Math.max(0, rec.pcm.length - rate)), rate, { maxSamples: rate });
}

function talkState(page: Page, id: string): Promise<{ hidden: boolean; state: string; text: string }> {
  return page.$eval(tile(id), (el) => ({
    hidden: (el.querySelector('.tile-talk') as HTMLButtonElement).hidden === true,
    state: (el as HTMLElement).dataset.talk ?? '',
    text: el.querySelector('.tile-talk-state')?.textContent ?? '',
  }));
}

/** Holds the tile's talk button with the mouse (press and hold). */
async function holdWithMouse(page: Page, id: string): Promise<void> {
  await page.hover(`${tile(id)} .tile-talk`);
  await page.mouse.down();
}

describe('push-to-talk in the viewer page (Chromium fake microphone)', () => {
  let porch: CameraSim; // PCMA back channel
  let garage: CameraSim; // AAC back channel
  let v: ViewerStack;
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    v = await startViewerStack({
      name: 'viewer-talk',
      cameraPassword: CAM_PASSWORD,
      video: { width: 320, height: 240, fps: 15, gopSeconds: 2 },
      cameras: {
        porch: { backchannel: { codec: 'PCMA' } },
        garage: { backchannel: { codec: 'AAC', sampleRate: 16000 } },
        attic: {}, // no speaker
      },
      users: [
        { ...ALICE, cameras: [`${GATEWAY_ID}/*`], talk: true },
        { ...BOB, cameras: [`${GATEWAY_ID}/porch`], talk: true },
        { ...CAROL, cameras: [`${GATEWAY_ID}/porch`] },
      ],
      chromiumArgs: async (dir) => {
        const wav = join(dir, 'mic.wav');
        await run('ffmpeg', [
          ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=frequency=${MIC_HZ}:duration=10`],
          ...['-ac', '1', '-ar', '48000', '-c:a', 'pcm_s16le', wav],
        ]);
        return [
          '--use-fake-device-for-media-stream',
          '--use-fake-ui-for-media-stream',
          `--use-file-for-fake-audio-capture=${wav}`,
        ];
      },
    });
    ({ stack, browser } = v);
    ({ porch, garage } = v.cameras as Record<'porch' | 'garage', CameraSim>);
  });

  after(() => v?.close());

  it(
    'holding the button sends the microphone to a PCMA back channel; releasing stops it',
    { timeout: 300_000 },
    async (t) => {
      const page = await signIn(browser, stack.hub.url, ALICE.name, ALICE.password);
      const id = await watch(page, `${GATEWAY_ID}/porch`);
      assert.equal((await talkState(page, id)).hidden, false, 'alice may talk: the button shows');
      const before = (await porch.backchannelRecording()).packets;
      const held = performance.now();
      await holdWithMouse(page, id);
      const talking = await until(
        () => talkState(page, id),
        (s) => s.state === 'talking' || s.state === 'error',
        120_000,
        'talking',
      );
      assert.equal(talking.state, 'talking', talking.text);
      assert.match(talking.text, /Talking/);
      await until(
        () => porch.backchannelRecording(),
        (r) => r.packets > before + 100,
        120_000,
        '100 packets at the camera',
      );
      await sleep(1000);
      await page.mouse.up();
      const heldS = (performance.now() - held) / 1000;
      const rec = await porch.backchannelRecording();
      const hz = heardHz(rec);
      // Never more sound than time held (each voice packet goes to the camera once); slowness only lowers it.
      assert.ok((rec.packets - before) * 0.02 <= heldS * 1.1 + 1, `${rec.packets - before} packets in ${heldS} s`);
      t.diagnostic(
        `PCMA back channel: ${rec.packets} packets, tone at ${hz.toFixed(1)} Hz; load ${loadavg()[0]!.toFixed(2)}`,
      );
      assert.equal(rec.codec, 'PCMA');
      assert.ok(Math.abs(hz - MIC_HZ) <= 20, `the camera heard ${hz.toFixed(1)} Hz`);
      const idle = await until(
        () => talkState(page, id),
        (s) => s.state === 'idle',
        30_000,
        'released',
      );
      assert.equal(idle.text, '');
      // Released: the camera hears nothing more.
      await sleep(1500);
      const n = (await porch.backchannelRecording()).packets;
      await sleep(1500);
      assert.equal((await porch.backchannelRecording()).packets, n, 'nothing sent after release');
      await page.context().close();
    },
  );

  it(
    'a second talker is told the camera is busy, and may talk once the first lets go',
    { timeout: 300_000 },
    async () => {
      const bob = await signIn(browser, stack.hub.url, BOB.name, BOB.password);
      const bobId = await watch(bob, `${GATEWAY_ID}/porch`);
      await bob.focus(`${tile(bobId)} .tile-talk`);
      await bob.keyboard.down('Space'); // push-to-talk from the keyboard
      await until(
        () => talkState(bob, bobId),
        (s) => s.state === 'talking',
        120_000,
        'bob talking',
      );
      const before = (await porch.backchannelRecording()).packets;
      await until(
        () => porch.backchannelRecording(),
        (r) => r.packets > before + 25,
        60_000,
        'bob heard',
      );

      const alice = await signIn(browser, stack.hub.url, ALICE.name, ALICE.password);
      const aliceId = await watch(alice, `${GATEWAY_ID}/porch`);
      await holdWithMouse(alice, aliceId);
      const busy = await until(
        () => talkState(alice, aliceId),
        (s) => s.state === 'busy' || s.state === 'error',
        120_000,
        'busy',
      );
      assert.equal(busy.state, 'busy', busy.text);
      assert.equal(busy.text, 'Busy — someone else is talking through this camera. Try again when they are done.');
      await alice.mouse.up();

      await bob.keyboard.up('Space');
      await until(
        () => talkState(bob, bobId),
        (s) => s.state === 'idle',
        30_000,
        'bob released',
      );
      await holdWithMouse(alice, aliceId);
      await until(
        () => talkState(alice, aliceId),
        (s) => s.state === 'talking',
        120_000,
        'alice talking after bob',
      );
      await alice.mouse.up();
      await Promise.all([alice.context().close(), bob.context().close()]);
    },
  );

  it(
    'a user without the talk setting sees no button and is refused when sending the talk message itself',
    { timeout: 120_000 },
    async () => {
      const page = await signIn(browser, stack.hub.url, CAROL.name, CAROL.password);
      const id = await watch(page, `${GATEWAY_ID}/porch`);
      assert.equal((await talkState(page, id)).hidden, true);
      // The page's own code never sends it; a person with the developer tools could.
      const answer = await page.evaluate(async () => {
        const pc = new RTCPeerConnection();
        const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
        pc.addTransceiver(mic.getAudioTracks()[0]!, { direction: 'sendonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
        const offer = await pc.createOffer();
        // Opened after the offer: its `open` event must not fire before the handler is set.
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/viewer/ws`);
        return new Promise<string>((resolve) => {
          ws.onopen = () =>
            ws.send(JSON.stringify({ type: 'talk', id: 'x1', gateway: 'home-1', camera: 'porch', offer: offer.sdp }));
          ws.onmessage = (e) => {
            const m = JSON.parse(String(e.data)) as { type: string; id?: string; code?: string };
            if (m.type === 'error' && m.id === 'x1') resolve(m.code ?? '');
          };
          setTimeout(() => resolve('no answer'), 30_000);
        });
      });
      assert.equal(answer, 'CAMGATE_VIEWER_TALK_NOT_ALLOWED');
      await page.context().close();
    },
  );

  it('a camera without a speaker says so in plain words', { timeout: 300_000 }, async () => {
    const page = await signIn(browser, stack.hub.url, ALICE.name, ALICE.password);
    const id = await watch(page, `${GATEWAY_ID}/attic`);
    await holdWithMouse(page, id);
    const s = await until(
      () => talkState(page, id),
      (x) => x.state === 'error',
      120_000,
      'no speaker',
    );
    assert.equal(s.text, 'This camera has no speaker the gateway can reach (no audio back channel).');
    await page.mouse.up();
    await page.context().close();
  });

  it(
    'talks to an AAC back channel for over 60 s: every timer passes and the tone keeps arriving',
    { timeout: 400_000 },
    async (t) => {
      const page = await signIn(browser, stack.hub.url, ALICE.name, ALICE.password);
      const id = await watch(page, `${GATEWAY_ID}/garage`);
      const held = performance.now();
      await holdWithMouse(page, id);
      await until(
        () => talkState(page, id),
        (s) => s.state === 'talking',
        120_000,
        'talking',
      );
      await until(
        () => garage.backchannelRecording(),
        (r) => r.packets > 10,
        60_000,
        'first AAC packets',
      );
      const counts: number[] = [];
      for (let i = 0; i < 7; i++) {
        await sleep(10_000);
        counts.push((await garage.backchannelRecording()).packets);
        assert.equal((await talkState(page, id)).state, 'talking', `still talking after ${(i + 1) * 10} s`);
      }
      await page.mouse.up();
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! > counts[i - 1]!, `packets kept coming: ${counts}`);
      const heldS = (performance.now() - held) / 1000;
      const rec = await garage.backchannelRecording();
      const hz = heardHz(rec);
      // 1024 samples per AAC packet at 16 kHz: never more sound than time held.
      assert.ok(rec.packets * 0.064 <= heldS * 1.1 + 1, `${rec.packets} packets in ${heldS} s`);
      t.diagnostic(
        `AAC back channel after 70 s: ${rec.packets} packets, tone at ${hz.toFixed(1)} Hz; load ${loadavg()[0]!.toFixed(2)}`,
      );
      assert.equal(rec.codec, 'AAC');
      assert.ok(Math.abs(hz - MIC_HZ) <= 20, `the camera heard ${hz.toFixed(1)} Hz`);
      await page.context().close();
    },
  );
});
