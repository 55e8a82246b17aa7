import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { RtspClient, type RtspClientState } from '../../src/rtsp/rtsp-client.js';
import { nalType, type H264AccessUnit } from '../../src/rtsp/h264-rtp.js';
import { startCameraSim } from '@camgate/camera-sim';
import { createLogger, memorySink } from '../../src/util/logger.js';

function nextKeyframe(client: RtspClient): Promise<H264AccessUnit> {
  return new Promise((resolve) => {
    const on = (au: H264AccessUnit): void => {
      if (!au.keyframe) return;
      client.off('accessUnit', on);
      resolve(au);
    };
    client.on('accessUnit', on);
  });
}

async function enter(client: RtspClient, want: RtspClientState): Promise<void> {
  for (;;) {
    const [state] = (await once(client, 'state')) as [RtspClientState];
    if (state === want) return;
  }
}

describe('RtspClient against the simulated camera', () => {
  it('plays with Digest auth, injects SDP parameter sets, and comes back after the camera returns', async (t) => {
    const sim = await startCameraSim({
      username: 'simuser',
      password: 'sim-pass-4711',
      width: 64,
      height: 64,
      fps: 25,
      gopSeconds: 0.2,
      sendParameterSetsInBand: false,
    });
    const sink = memorySink();
    const client = new RtspClient(sim.urlWithCredentials, {
      logger: createLogger('rtsp-sim-test', sink),
      backoff: { initialMs: 10, maxMs: 50 },
    });
    t.after(async () => {
      await client.close();
      await sim.close();
    });
    const key = nextKeyframe(client);
    client.start();
    const au = await key;
    assert.deepEqual(au.nalus.slice(0, 2).map(nalType), [7, 8], 'SPS and PPS from the SDP precede the IDR');
    assert.ok(au.nalus.some((n) => nalType(n) === 5));
    assert.equal(client.videoInfo?.codec, 'H264');
    assert.ok(client.videoInfo?.sps);

    const retrying = enter(client, 'retrying');
    await sim.stop();
    await retrying;
    const playing = enter(client, 'playing');
    await sim.resume();
    await playing;
    const again = await nextKeyframe(client);
    assert.equal(nalType(again.nalus[0]!), 7);
    assert.equal(JSON.stringify(sink.records).includes('sim-pass-4711'), false);
  });
});
