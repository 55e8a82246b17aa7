import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CamgateError } from '../../src/util/index.js';
import { FrameType } from '../../src/tunnel/constants.js';
import {
  HEADER_BYTES,
  decodeFrame,
  decodeJson,
  decodeText,
  encodeFrame,
  seqAdd,
  seqAtOrAfter,
} from '../../src/tunnel/frame.js';

const MAX = 1024 * 1024;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as CamgateError).code;
  }
  return undefined;
}

describe('tunnel frame codec', () => {
  it('round-trips every header field big-endian', () => {
    const buf = encodeFrame({
      type: FrameType.DATA,
      channel: 0xdeadbeef,
      seq: 0xffffffff,
      ack: 7,
      payload: Buffer.from('héllo'),
    });
    assert.equal(buf.length, HEADER_BYTES + Buffer.byteLength('héllo'));
    assert.equal(buf.toString('hex', 0, HEADER_BYTES), '11deadbeefffffffff00000007');
    const f = decodeFrame(buf, MAX);
    assert.deepEqual(
      { ...f, payload: f.payload.toString() },
      {
        type: FrameType.DATA,
        channel: 0xdeadbeef,
        seq: 0xffffffff,
        ack: 7,
        payload: 'héllo',
      },
    );
  });

  it('rejects truncated headers (0..12 bytes) with CAMGATE_TUNNEL_FRAMING', () => {
    const full = encodeFrame({ type: FrameType.ACK, channel: 0, seq: 0, ack: 1 });
    for (let n = 0; n < HEADER_BYTES; n++) {
      assert.equal(
        code(() => decodeFrame(full.subarray(0, n), MAX)),
        'CAMGATE_TUNNEL_FRAMING',
        `length ${n}`,
      );
    }
  });

  it('rejects unknown frame types, naming the type', () => {
    const buf = encodeFrame({ type: FrameType.ACK, channel: 0, seq: 0, ack: 0 });
    buf[0] = 0x7f;
    assert.throws(() => decodeFrame(buf, MAX), { code: 'CAMGATE_TUNNEL_FRAMING', message: 'unknown frame type 0x7f' });
  });

  it('rejects frames over maxFrameBytes', () => {
    const buf = encodeFrame({ type: FrameType.DATA, channel: 1, seq: 1, ack: 0, payload: Buffer.alloc(2000) });
    assert.throws(() => decodeFrame(buf, 1024), { code: 'CAMGATE_TUNNEL_FRAMING', message: /too large: 2013 bytes/ });
  });

  it('never throws anything but a CamgateError on random garbage', () => {
    for (let i = 0; i < 2000; i++) {
      const buf = randomBytes(i % 40);
      try {
        decodeFrame(buf, MAX);
      } catch (err) {
        assert.ok(err instanceof CamgateError, `garbage ${buf.toString('hex')} threw ${String(err)}`);
        assert.equal(err.code, 'CAMGATE_TUNNEL_FRAMING');
      }
    }
  });

  it('refuses out-of-range header fields when encoding', () => {
    assert.throws(() => encodeFrame({ type: FrameType.DATA, channel: -1, seq: 0, ack: 0 }), RangeError);
    assert.throws(() => encodeFrame({ type: FrameType.DATA, channel: 0, seq: 2 ** 32, ack: 0 }), RangeError);
  });

  it('decodes strict UTF-8 and JSON, with clear errors', () => {
    assert.equal(decodeText(Buffer.from('ok ✓')), 'ok ✓');
    assert.throws(() => decodeText(Buffer.from([0xc3, 0x28])), { code: 'CAMGATE_TUNNEL_PAYLOAD', message: /UTF-8/ });
    // A truncated multi-byte sequence at the end is invalid too.
    assert.throws(() => decodeText(Buffer.from([0x61, 0xe2, 0x82])), { code: 'CAMGATE_TUNNEL_PAYLOAD' });
    assert.deepEqual(decodeJson(Buffer.from('{"a":1}')), { a: 1 });
    assert.throws(() => decodeJson(Buffer.from('{"a":')), { code: 'CAMGATE_TUNNEL_PAYLOAD', message: /JSON/ });
  });

  it('compares sequence numbers across the u32 wrap (RFC 1982 §3.2)', () => {
    assert.equal(seqAdd(0xffffffff, 1), 0);
    assert.ok(seqAtOrAfter(0, 0xffffffff));
    assert.ok(seqAtOrAfter(5, 5));
    assert.ok(!seqAtOrAfter(0xffffffff, 0));
    assert.ok(!seqAtOrAfter(4, 5));
  });
});
