/**
 * SendRing: a viewer's SRTP packets are built in reused slots, and a slot is
 * taken again only when no pending send can still read it. Then the whole
 * path on two real werift ICE agents over 127.0.0.1: a burst larger than the
 * ring, and a stream spread over many turns, arrive intact and decrypt.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { ProtectionProfileAes128CmHmacSha1_80, RtpPacket, type RTCRtpSender } from 'werift';
import { DtlsSrtpSink } from '../../src/engine/media/dtls-srtp-sink.js';
import { SendRing } from '../../src/engine/media/send-ring.js';
import { loadWerift } from '../../src/engine/media/werift-lazy.js';
import { buildRtpPacket } from '../../src/rtsp/index.js';
import { createLogger } from '../../src/util/index.js';
import { keyPair } from '../helpers/dtls-srtp.js';
import { connectedPair } from '../helpers/ice-pair.js';

describe('SendRing', () => {
  it('hands out its slots in turn and again after a full round, within one turn of the event loop', () => {
    const ring = new SendRing(4, 100);
    const slots = Array.from({ length: 4 }, () => ring.take(60, 0));
    assert.ok(slots.every((s) => s?.length === 60));
    assert.equal(new Set(slots.map((s) => s!.byteOffset)).size, 4, 'four different slots');
    assert.equal(ring.take(60, 0), undefined, 'a fifth send this turn: the first slot may still be read');
    assert.deepEqual(ring.stats, { reused: 4, allocated: 1 });
  });

  it('counts the sends libuv still queues, and starts counting again each turn', async () => {
    const ring = new SendRing(4, 100);
    const first = ring.take(10, 0)!;
    assert.equal(ring.take(10, 3), undefined, 'one send this turn plus three queued: all four slots may be read');
    await nextTurn();
    const again = ring.take(10, 2);
    assert.ok(again, 'a new turn: this send and two queued leave a slot free');
    assert.notEqual(again.byteOffset, first.byteOffset, 'the next slot, not the one just written');
    ring.take(10, 0);
    ring.take(10, 0);
    await nextTurn();
    assert.equal(ring.take(10, 0)!.byteOffset, first.byteOffset, 'after a full round the first slot comes back');
  });

  it('leaves a datagram larger than a slot to the caller, and rejects a ring too small to use', () => {
    const ring = new SendRing(4, 100);
    assert.equal(ring.take(101, 0), undefined);
    assert.deepEqual(ring.stats, { reused: 0, allocated: 1 });
    assert.throws(() => new SendRing(1, 100), RangeError);
    assert.throws(() => new SendRing(4, 0), RangeError);
  });
});

describe('DtlsSrtpSink on a real ICE pair', () => {
  before(() => loadWerift());

  it(
    'sends what it built in the ring intact: a burst larger than the ring, then a paced stream',
    { timeout: 30_000 },
    async (t) => {
      const { a, b } = await connectedPair();
      t.after(() => Promise.all([a.close(), b.close()]));
      const { sender: ours, viewer } = keyPair(ProtectionProfileAes128CmHmacSha1_80);
      const ssrc = 0x5e1f0001;
      // werift's RTCRtpSender as far as the sink reaches into it, on agent a's real connection.
      const sender = {
        ssrc,
        transport: { srtpStarted: true, srtp: ours, bytesSent: 0, packetsSent: 0, iceTransport: { connection: a } },
      };
      const sink = new DtlsSrtpSink(
        sender as unknown as RTCRtpSender,
        createLogger('test', () => undefined),
      );
      const got = new Map<number, Buffer>();
      b.onData.subscribe((d) => {
        const rtp = RtpPacket.deSerialize(viewer.decrypt(d));
        got.set(rtp.header.sequenceNumber, rtp.payload);
      });
      const sent = new Map<number, Buffer>();
      const send = (seq: number): void => {
        const payload = randomBytes(300 + (seq % 7) * 50);
        sent.set(seq, payload);
        const header = buildRtpPacket({
          payloadType: 102,
          sequenceNumber: seq,
          timestamp: seq * 3600,
          ssrc,
          marker: false,
          payload: Buffer.alloc(0),
        });
        sink.sendRtp(header, payload);
      };
      const arrived = async (n: number): Promise<void> => {
        for (let i = 0; i < 200 && got.size < n; i++) await sleep(20);
      };

      for (let seq = 0; seq < 120; seq++) send(seq); // one turn: more than the ring's 64 slots
      await arrived(120);
      assert.ok(sink.ring.stats.reused >= 60, `${sink.ring.stats.reused} packets built in the ring`);
      assert.ok(sink.ring.stats.allocated > 0, 'past the ring within one turn, packets get buffers of their own');
      const allocatedInBurst = sink.ring.stats.allocated;

      for (let seq = 120; seq < 520; seq++) {
        send(seq);
        if (seq % 8 === 7) await nextTurn(); // as the pacer sends: a few packets per turn
      }
      await arrived(520);
      assert.equal(sink.ring.stats.allocated, allocatedInBurst, 'paced, every packet is built in the ring');
      assert.equal(got.size, 520, 'every packet arrived and decrypted');
      for (const [seq, payload] of sent) assert.deepEqual(got.get(seq), payload, `packet ${seq} intact`);
      assert.equal(sender.transport.packetsSent, 520);
    },
  );
});
