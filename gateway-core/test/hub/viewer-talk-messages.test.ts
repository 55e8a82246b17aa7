/**
 * The viewer's push-to-talk message (`{type:'talk'}`, messages.ts) and the plain words of the talk refusals
 * (plain-words.ts): what the page may send, and what a person reads when talking is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkTalkOffer, parseBrowserMessage, ViewerProtocolError } from '../../src/hub/viewer/messages.js';
import { describeFailure, describePlayerError, PLAIN } from '../../src/hub/viewer/plain-words.js';
import { KurentoRpcError } from '../../src/kurento/index.js';

const LIMITS = { maxMessageBytes: 64 * 1024, maxSdpChars: 32 * 1024 };
const OFFER =
  'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n';

describe('viewer talk message', () => {
  it('parses a talk request with a microphone offer', () => {
    const msg = parseBrowserMessage(
      JSON.stringify({ type: 'talk', id: 't1', gateway: 'home-1', camera: 'porch', offer: OFFER }),
      LIMITS,
    );
    assert.deepEqual(msg, { type: 'talk', id: 't1', gateway: 'home-1', camera: 'porch', offer: OFFER });
  });

  it('refuses an offer without sound, garbage and oversized offers, naming the talk id', () => {
    const videoOnly = OFFER.replace(/m=audio[^]*?m=video/, 'm=video');
    assert.equal(checkTalkOffer(videoOnly, 32_000), 'The microphone offer from your browser carries no sound.');
    assert.match(checkTalkOffer('x=garbage', 32_000) ?? '', /microphone offer/);
    assert.match(checkTalkOffer(OFFER + 'a=x\r\n'.repeat(10_000), 32_000) ?? '', /too large/);
    assert.throws(
      () =>
        parseBrowserMessage(
          JSON.stringify({ type: 'talk', id: 't2', gateway: 'home-1', camera: '../x', offer: OFFER }),
          LIMITS,
        ),
      (e) => e instanceof ViewerProtocolError && e.streamId === 't2',
    );
    assert.throws(
      () => parseBrowserMessage(JSON.stringify({ type: 'talk', id: 't3', gateway: 'home-1', camera: 'porch' }), LIMITS),
      /no microphone offer/,
    );
  });

  it('says busy, no speaker and not allowed in plain words', () => {
    const busy = { type: 'CAMGATE_ENGINE_TALK_BUSY', description: 'CAMGATE_ENGINE_TALK_BUSY: someone else is talking' };
    assert.equal(describePlayerError(busy), PLAIN.talkBusy);
    assert.equal(describePlayerError({ type: 'CAMGATE_ENGINE_NO_BACKCHANNEL', description: 'x' }), PLAIN.noSpeaker);
    const policy = new KurentoRpcError('invoke', {
      code: -32001,
      message: 'camgate policy: talk-not-granted (connect into the player of porch)',
    });
    assert.equal(describeFailure(policy, 'setup'), PLAIN.talkNotAllowed);
    assert.match(PLAIN.talkBusy.message, /^Busy — someone else is talking/);
  });
});
