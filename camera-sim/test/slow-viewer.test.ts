/**
 * A viewer that stops reading must not make the camera buffer without bound:
 * RtspServer drops its pictures while too much is queued and resumes only at
 * an IDR, because P pictures need the chain before them (H.264 §8.2.5).
 * Driven through RtspServer#deliver directly, so no timer is involved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { H264Depacketizer, type H264AccessUnit } from '@camgate/core/rtsp-wire';
import { RtspServer, type SimPicture } from '../src/rtsp-server.js';
import { createLogger, memorySink } from '@camgate/core';
import { RawRtspClient } from './helpers/rtsp-sim.js';

const SPS = Buffer.from('6742e01f', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

function picture(frameNumber: number, keyframe: boolean, bytes: number): SimPicture {
  const nal = Buffer.alloc(bytes, 0x11);
  nal[0] = keyframe ? 0x65 : 0x41; // IDR / non-IDR slice NAL headers
  return { frameNumber, keyframe, nalus: [nal], captureMs: Date.now() };
}

describe('RtspServer', () => {
  describe('#deliver to a viewer that stops reading', () => {
    it('drops pictures while its queue is over maxQueuedBytes and resumes at the next IDR', async (t) => {
      const server = new RtspServer({
        path: '/s',
        auth: undefined,
        logger: createLogger('test', memorySink()),
        sessionTimeoutS: 60,
        maxQueuedBytes: 1,
        maxConnections: 4,
        stream: {
          fps: 25,
          width: 320,
          height: 240,
          profileLevelId: '42e01f',
          spropParameterSets: `${SPS.toString('base64')},${PPS.toString('base64')}`,
          sps: SPS,
          pps: PPS,
          parameterSetsInBand: true,
        },
        onPlayingChange: () => undefined,
      });
      const port = await server.listen('127.0.0.1', 0);
      t.after(() => server.shutdown());
      const c = await RawRtspClient.connect(port);
      t.after(() => c.close());
      const setup = await c.request('SETUP', `rtsp://127.0.0.1:${port}/s/trackID=0`, {
        Transport: 'RTP/AVP/TCP;interleaved=0-1',
      });
      const session = setup.headers.get('session')!.split(';')[0]!;
      await c.request('PLAY', `rtsp://127.0.0.1:${port}/s`, { Session: session });

      c.socket.pause();
      // 32 MiB: more than loopback socket buffers (a few MiB each side) can absorb, so it stays queued.
      server.deliver(picture(0, true, 32 * 1024 * 1024));
      server.deliver(picture(1, false, 1000));
      server.deliver(picture(2, true, 1000)); // an IDR, but the queue is still full
      assert.equal(server.framesDropped, 2);

      const dep = new H264Depacketizer({ maxAccessUnitBytes: 64 * 1024 * 1024 });
      const aus: H264AccessUnit[] = [];
      let used = 0;
      const until = (n: number): Promise<void> =>
        c.waitFor(() => {
          for (; used < c.frames.length; used++)
            if (c.frames[used]!.channel === 0) aus.push(...dep.pushAll(c.frames[used]!.data));
          return aus.length >= n;
        }, `${n} access units`);
      c.socket.resume();
      await until(1);
      // A round trip, so the server has seen its queue drain before the next pictures.
      assert.equal((await c.request('GET_PARAMETER', `rtsp://127.0.0.1:${port}/s`, { Session: session })).status, 200);
      server.deliver(picture(3, false, 1000)); // still waiting for an IDR
      server.deliver(picture(4, true, 1000));
      server.deliver(picture(5, false, 1000));
      await until(3);
      assert.equal(server.framesDropped, 3);
      const t0 = aus[0]!.timestamp;
      assert.deepEqual(
        aus.map((a) => [a.keyframe, ((a.timestamp - t0) >>> 0) / 3600]),
        [
          [true, 0],
          [true, 4],
          [false, 5],
        ],
      );
      assert.deepEqual(aus[1]!.nalus[0], SPS); // in-band parameter sets before every IDR
    });
  });
});
