/** The tile's camera state from the engine's CameraStateChanged: network input, so only known words pass. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CAMERA_STATE_TEXT, parseCameraState } from '../../src/hub/viewer/camera-state.js';

describe('parseCameraState', () => {
  it('takes the four states with their plain-words reasons', () => {
    assert.deepEqual(parseCameraState({ state: 'live' }), { state: 'live', final: false });
    assert.deepEqual(parseCameraState({ state: 'unreachable', reason: 'wrong password', final: true }), {
      state: 'unreachable',
      reason: 'wrong password',
      final: true,
    });
    assert.equal(
      parseCameraState({ state: 'reconnecting', reason: 'stopped sending video' })?.reason,
      'stopped sending video',
    );
    assert.equal(CAMERA_STATE_TEXT.unreachable('refused'), 'Camera unreachable: refused');
  });

  it('refuses unknown states and turns unknown reasons into "camera error"', () => {
    assert.equal(parseCameraState({ state: 'hacked' }), undefined);
    assert.equal(parseCameraState({ state: 7 }), undefined);
    assert.equal(
      parseCameraState({ state: 'unreachable', reason: 'see http://evil.example/' })?.reason,
      'camera error',
    );
  });

  it('keeps a notice only with a CAMGATE_ code, without control characters, cut to 300 characters', () => {
    const long = 'x'.repeat(1000);
    const n = parseCameraState({
      state: 'live',
      notice: { code: 'CAMGATE_STREAM_BFRAMES_DROPPED', message: `a\u0000b\n${long}` },
    });
    assert.equal(n?.notice?.code, 'CAMGATE_STREAM_BFRAMES_DROPPED');
    assert.equal(n?.notice?.message.length, 300);
    assert.ok(n?.notice?.message.startsWith('a b x'));
    assert.equal(parseCameraState({ state: 'live', notice: { code: 'evil', message: 'm' } })?.notice, undefined);
    assert.equal(parseCameraState({ state: 'live', notice: ['x'] })?.notice, undefined);
  });
});
