import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer, type PacerClock } from '../../src/engine/media/pacer.js';
import { compactNtp, RtcpSrPacket, RtpHeader, type RtcpPacket } from 'werift';
import { setTimeout as sleep } from 'node:timers/promises';
import { VideoWriter, type RtpSink } from '../../src/engine/media/video-writer.js';
import { buildRtpPacket, H264Depacketizer, type H264AccessUnit } from '../../src/rtsp/index.js';
import { createLogger } from '../../src/util/index.js';

/** A clock the test moves by hand; timers fire only from `advance()`. */
class ManualClock implements PacerClock {
  t = 0;
  timers: { at: number; fn: () => void }[] = [];
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return timer;
  };
  clearTimeout = (h: unknown): void => {
    this.timers = this.timers.filter((x) => x !== h);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

// 8 Mbit/s = 1000 bytes per ms.
const OPTS = { bitrate: 8_000_000, burstBytes: 3000, maxQueueBytes: 20_000 };

describe('Pacer', () => {
  it('sends a burst at once, then the rest at the configured rate, in order', () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const p = new Pacer<number>((n) => sent.push(n), OPTS, clock);
    for (let i = 0; i < 10; i++) assert.equal(p.push(i, 1000), true);
    assert.deepEqual(sent, [0, 1, 2], 'the 3000-byte bucket lets three 1000-byte items through at once');
    assert.equal(p.queuedBytes, 7000);
    clock.advance(1);
    assert.deepEqual(sent, [0, 1, 2, 3], 'one more per ms at 1000 bytes/ms');
    clock.advance(3);
    assert.deepEqual(sent, [0, 1, 2, 3, 4, 5, 6]);
    clock.advance(100);
    assert.deepEqual(sent, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(p.queuedBytes, 0);
    assert.equal(clock.timers.length, 0, 'no timer left once the queue is empty');
  });

  it('lets steady traffic below the rate through without delay', () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const p = new Pacer<number>((n) => sent.push(n), OPTS, clock);
    for (let i = 0; i < 50; i++) {
      p.push(i, 500); // 500 bytes every ms: half the rate
      assert.equal(sent.length, i + 1, `item ${i} went out at once`);
      clock.advance(1);
    }
  });

  it('refuses what would overflow maxQueueBytes and keeps what it holds', () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const p = new Pacer<number>((n) => sent.push(n), OPTS, clock);
    let refused = 0;
    for (let i = 0; i < 40; i++) if (!p.push(i, 1000)) refused++;
    assert.equal(p.queuedBytes, 20_000);
    assert.equal(refused, 40 - 3 - 20);
    clock.advance(1000);
    assert.deepEqual(
      sent,
      Array.from({ length: 23 }, (_, i) => i),
    );
  });

  it('clear() drops what waits, also from inside the send callback', () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const p: Pacer<number> = new Pacer<number>(
      (n) => {
        sent.push(n);
        if (n === 4) assert.equal(p.clear(), 5);
      },
      OPTS,
      clock,
    );
    for (let i = 0; i < 10; i++) p.push(i, 1000);
    clock.advance(1000);
    assert.deepEqual(sent, [0, 1, 2, 3, 4]);
    assert.equal(p.queuedBytes, 0);
    p.push(10, 1000);
    assert.deepEqual(sent, [0, 1, 2, 3, 4, 10], 'usable after clear()');
  });

  it('rejects nonsense options', () => {
    assert.throws(() => new Pacer(() => undefined, { ...OPTS, bitrate: 0 }), RangeError);
    assert.throws(() => new Pacer(() => undefined, { ...OPTS, burstBytes: 0.5 }), RangeError);
    assert.throws(() => new Pacer(() => undefined, { ...OPTS, maxQueueBytes: -1 }), RangeError);
  });
});

/** Stands in for DtlsSrtpSink: records what would be encrypted and sent, headers parsed by werift. */
class RecordingSink implements RtpSink {
  readonly ssrc = 0x9234abcd; // above 2^31: the header must carry it unsigned
  packets: { header: RtpHeader; payload: Buffer }[] = [];
  reports: RtcpPacket[] = [];
  sendRtp(header: Buffer, payload: Buffer): void {
    assert.equal(header.length, 12);
    this.packets.push({ header: RtpHeader.deSerialize(Buffer.from(header)), payload });
  }
  sendRtcp(packets: RtcpPacket[]): void {
    this.reports.push(...packets);
  }
}

function nalu(type: number, size: number, fill: number): Buffer {
  const b = Buffer.alloc(size, fill);
  b[0] = 0x60 | type;
  return b;
}

describe('VideoWriter', () => {
  const logger = createLogger('test', () => undefined);
  /** A writer whose clock the test moves (`clock.now`, ms), with room for `bufferBytes` in its pacer. */
  const clockedWriter = (sender: RecordingSink, clock: { now: number }, bufferBytes = 1 << 20): VideoWriter =>
    new VideoWriter(sender, {
      payloadType: 102,
      mtu: 1000,
      pacing: { bitrate: 1e9, burstBytes: bufferBytes, maxQueueBytes: bufferBytes },
      logger,
      now: () => clock.now,
    });
  const make = (maxQueueBytes = 1 << 20) => {
    const sender = new RecordingSink();
    const w = new VideoWriter(sender, {
      payloadType: 102,
      mtu: 1000,
      pacing: { bitrate: 1e9, burstBytes: 1 << 20, maxQueueBytes },
      logger,
    });
    return { sender, w };
  };

  it('sends RFC 6184 packets the depacketizer turns back into the same access units', () => {
    const { sender, w } = make();
    const aus: H264AccessUnit[] = [
      { nalus: [nalu(7, 12, 1), nalu(8, 4, 2), nalu(5, 5000, 3)], timestamp: 9000, keyframe: true },
      { nalus: [nalu(1, 800, 4)], timestamp: 12600, keyframe: false },
    ];
    for (const au of aus) assert.equal(w.write(au), true);
    const seqs = sender.packets.map((p) => p.header.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, 'consecutive');
    assert.deepEqual(
      sender.packets.map((p) => p.header.marker),
      sender.packets.map((_, i) => i === sender.packets.length - 2 || i === sender.packets.length - 1),
      'the marker ends each access unit',
    );
    const d = new H264Depacketizer();
    const out: H264AccessUnit[] = [];
    for (const { header: h, payload } of sender.packets) {
      const { payloadType, sequenceNumber, timestamp, ssrc, marker } = h;
      out.push(...d.pushAll(buildRtpPacket({ payloadType, sequenceNumber, timestamp, ssrc, marker, payload })));
    }
    assert.equal(out.length, 2);
    assert.deepEqual(out[0]!.nalus, aus[0]!.nalus);
    assert.deepEqual(out[1]!.nalus, aus[1]!.nalus);
    assert.equal(out[1]!.timestamp - out[0]!.timestamp, 3600, "the camera's frame spacing is kept");
  });

  it('fragments a NAL unit once for every viewer that sends it', () => {
    const a = make();
    const b = make();
    const au = { nalus: [nalu(5, 5000, 7)], timestamp: 0, keyframe: true };
    a.w.write(au);
    b.w.write(au);
    assert.ok(a.sender.packets.length > 1);
    a.sender.packets.forEach((p, i) => assert.equal(p.payload, b.sender.packets[i]!.payload, 'the same Buffer'));
  });

  it('drops what a slow viewer cannot take until the next keyframe, leaving no sequence gap', () => {
    const sender = new RecordingSink();
    const w = new VideoWriter(sender, {
      payloadType: 102,
      mtu: 1000,
      pacing: { bitrate: 8_000, burstBytes: 2000, maxQueueBytes: 4000 },
      logger,
    });
    assert.equal(w.write({ nalus: [nalu(5, 3000, 1)], timestamp: 0, keyframe: true }), true);
    assert.equal(w.write({ nalus: [nalu(1, 9000, 2)], timestamp: 3600, keyframe: false }), false, 'overflow');
    assert.equal(w.queuedBytes, 0, 'the queue is dropped');
    assert.equal(w.write({ nalus: [nalu(1, 10, 3)], timestamp: 7200, keyframe: false }), false, 'undecodable now');
    assert.equal(w.write({ nalus: [nalu(5, 10, 4)], timestamp: 10800, keyframe: true }), true, 'a keyframe resumes');
    assert.equal(w.queuedBytes, 10 + 22, 'only the new keyframe waits (payload + RTP header + SRTP tag)');
    const seqs = sender.packets.map((p) => p.header.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff);
    w.close();
  });
  it('sends every packet with the viewer SSRC and payload type; NACKed packets again, as they were', () => {
    const sender = new RecordingSink();
    const clock = { now: 5_000 };
    const w = clockedWriter(sender, clock);
    w.write({ nalus: [nalu(5, 3500, 9)], timestamp: 0, keyframe: true });
    const sent = sender.packets.slice();
    assert.equal(sent.length, 4);
    for (const p of sent) {
      assert.equal(p.header.ssrc, sender.ssrc);
      assert.equal(p.header.payloadType, 102);
    }
    const second = sent[1]!.header.sequenceNumber;
    const unknown = (sent[3]!.header.sequenceNumber + 100) & 0xffff;
    w.retransmit([second, unknown]);
    assert.equal(sender.packets.length, 5, 'one packet sent again');
    const again = sender.packets[4]!;
    assert.equal(again.header.sequenceNumber, second);
    assert.equal(again.header.timestamp, sent[1]!.header.timestamp);
    assert.equal(again.payload, sent[1]!.payload);
    assert.deepEqual(w.stats, { retransmitted: 1, unavailable: 1, limited: 0, repeated: 0 });
    w.retransmit([second]);
    assert.equal(sender.packets.length, 5, 'asked again at once: the copy is on its way');
    assert.equal(w.stats.repeated, 1);
    clock.now += 10;
    w.retransmit([second, second]);
    assert.equal(sender.packets.length, 6, 'asked again a hold (10 ms before any RTT) later: sent again, once');
    assert.deepEqual(w.stats, { retransmitted: 2, unavailable: 1, limited: 0, repeated: 2 });
    w.close();
  });

  it('caps what NACKs may make it send: 256 packets a NACK, 1024 a second', () => {
    const sender = new RecordingSink();
    const clock = { now: 5_000 };
    const w = clockedWriter(sender, clock, 1 << 22);
    w.write({ nalus: [nalu(5, 1_600_000, 9)], timestamp: 0, keyframe: true });
    const seqs = sender.packets.map((p) => p.header.sequenceNumber);
    assert.ok(seqs.length > 1536 && seqs.length < 2048, 'all held for NACKs');
    w.retransmit(seqs.slice(0, 5000));
    assert.equal(w.stats.retransmitted, 256, 'one NACK asks for at most 256 packets');
    for (let i = 1; i < 6; i++) w.retransmit(seqs.slice(256 * i, 256 * (i + 1)));
    assert.equal(w.stats.retransmitted, 1024, 'at most 1024 retransmissions a second, however many NACKs come');
    assert.equal(w.stats.limited, 256 * 6 - 1024);
    clock.now += 1_000;
    w.retransmit([seqs[1400]!]);
    assert.equal(w.stats.retransmitted, 1025, 'a new second, a new budget');
    w.close();
  });

  it('holds a repeated NACK for one round trip, measured from the receiver reports', async () => {
    const sender = new RecordingSink();
    const clock = { now: 1_000 };
    const w = clockedWriter(sender, clock);
    w.write({ nalus: [nalu(5, 10, 1)], timestamp: 0, keyframe: true });
    for (let i = 0; i < 100 && sender.reports.length === 0; i++) await sleep(50);
    const sr = sender.reports[0] as RtcpSrPacket;
    assert.ok(sr instanceof RtcpSrPacket, 'a sender report within 5 s');
    assert.equal(w.rttMs, undefined);
    // The viewer got the report 30 ms after it left and answered 20 ms later (DLSR in 1/65536 s).
    const lsr = compactNtp(sr.senderInfo.ntpTimestamp);
    clock.now += 50;
    w.receiverReport((lsr + 1) >>> 0, 20 * 65.536);
    assert.equal(w.rttMs, undefined, 'an LSR that is none of our reports is ignored');
    w.receiverReport(lsr, 20 * 65.536);
    assert.ok(Math.abs(w.rttMs! - 30) < 1e-6, `RTT 30 ms, got ${w.rttMs}`);
    const seq = sender.packets[0]!.header.sequenceNumber;
    w.retransmit([seq]);
    clock.now += 20;
    w.retransmit([seq]);
    assert.equal(w.stats.repeated, 1, 'asked again within the RTT: not sent');
    clock.now += 10;
    w.retransmit([seq]);
    assert.equal(w.stats.retransmitted, 2, 'a round trip later: sent again');
    w.close();
  });

  it('retransmits with its own clock when none is given', () => {
    const { sender, w } = make();
    w.write({ nalus: [nalu(5, 10, 1)], timestamp: 0, keyframe: true });
    w.retransmit([sender.packets[0]!.header.sequenceNumber]);
    assert.equal(sender.packets.length, 2);
    w.close();
  });

  it('sends RFC 3550 sender reports with what it sent, and stops when closed', async () => {
    const { sender, w } = make();
    w.write({ nalus: [nalu(5, 3500, 9)], timestamp: 0, keyframe: true });
    w.write({ nalus: [nalu(1, 100, 1)], timestamp: 3600, keyframe: false });
    for (let i = 0; i < 100 && sender.reports.length === 0; i++) await sleep(50);
    const sr = sender.reports[0];
    assert.ok(sr instanceof RtcpSrPacket, 'a sender report within 5 s');
    assert.equal(sr.ssrc, sender.ssrc);
    assert.equal(sr.senderInfo.packetCount, sender.packets.length);
    assert.equal(
      sr.senderInfo.octetCount,
      sender.packets.reduce((n, p) => n + p.payload.length, 0),
    );
    const sentTs = sender.packets.at(-1)!.header.timestamp;
    assert.ok(
      sr.senderInfo.rtpTimestamp - sentTs >= 0,
      'the report is on the same RTP timeline, at or after the last packet',
    );
    assert.ok(sr.senderInfo.rtpTimestamp - sentTs < 90 * 10_000, 'and not beyond its own timer');
    w.close();
    const n = sender.reports.length;
    await sleep(1_500);
    assert.equal(sender.reports.length, n, 'no report after close()');
  });
});
