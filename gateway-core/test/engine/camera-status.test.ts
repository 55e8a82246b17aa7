/** CameraStatusTracker: the RTSP client's states into what a person is told (issue 11). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CameraStatusTracker, plainReason } from '../../src/engine/media/camera-status.js';
import { CamgateError } from '../../src/util/index.js';

const err = (code: string, message = 'x') => new CamgateError(code, message);

describe('CameraStatusTracker', () => {
  it('is live only once video arrives, not when PLAY is answered', () => {
    const t = new CameraStatusTracker();
    assert.equal(t.update('connecting', undefined), undefined);
    assert.equal(t.update('playing', undefined), undefined);
    assert.deepEqual(t.update('media', undefined), { state: 'live' });
    assert.equal(t.update('media', undefined), undefined);
  });

  it('says reconnecting when a live camera is lost, unreachable when it stays away past the grace', () => {
    let now = 0;
    const t = new CameraStatusTracker({ now: () => now, lostGraceMs: 5_000 });
    t.update('media', undefined);
    assert.deepEqual(t.update('retrying', err('CAMGATE_RTSP_STALLED')), {
      state: 'reconnecting',
      reason: 'stopped sending video',
      code: 'CAMGATE_RTSP_STALLED',
    });
    now = 1_000;
    assert.equal(t.update('connecting', undefined), undefined);
    assert.equal(t.update('retrying', err('CAMGATE_RTSP_CONNECT', 'connect ECONNREFUSED 127.0.0.1:1')), undefined);
    now = 5_000;
    assert.deepEqual(t.update('retrying', err('CAMGATE_RTSP_CONNECT', 'connect ECONNREFUSED 127.0.0.1:1')), {
      state: 'unreachable',
      reason: 'refused',
      code: 'CAMGATE_RTSP_CONNECT',
    });
    assert.deepEqual(t.update('playing', undefined), { state: 'connecting' });
    assert.deepEqual(t.update('media', undefined), { state: 'live' });
  });

  it('says unreachable at the first failed connection of a camera never seen live, and final for a wrong password', () => {
    const t = new CameraStatusTracker();
    assert.equal(
      t.update('retrying', err('CAMGATE_RTSP_CONNECT', 'connect timed out after 5000 ms'))?.reason,
      'no answer',
    );
    assert.deepEqual(t.update('failed', err('CAMGATE_RTSP_AUTH')), {
      state: 'unreachable',
      reason: 'wrong password',
      final: true,
      code: 'CAMGATE_RTSP_AUTH',
    });
  });

  it('words every RTSP error without echoing its message', () => {
    assert.equal(plainReason(err('CAMGATE_RTSP_UNSUPPORTED')), 'unsupported stream');
    assert.equal(plainReason(err('CAMGATE_RTSP_NOT_FOUND')), 'no stream at this address');
    assert.equal(plainReason(err('CAMGATE_RTSP_TIMEOUT')), 'no answer');
    assert.equal(plainReason(err('CAMGATE_RTSP_DISCONNECTED')), 'connection dropped');
    assert.equal(plainReason(err('CAMGATE_RTSP_PROTOCOL', 'rtsp://admin:pw@10.0.0.9/ garbage')), 'camera error');
    assert.equal(plainReason(undefined), 'camera error');
  });
});
