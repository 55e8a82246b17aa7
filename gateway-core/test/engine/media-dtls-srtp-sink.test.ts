/**
 * DtlsSrtpSink: what it sends on the ICE connection is SRTP that werift,
 * keyed as the viewer's end of the DTLS session, decrypts, in both profiles
 * WebRTC peers negotiate. (Chromium, in media-chromium.test.ts, negotiates
 * AES_CM_128_HMAC_SHA1_80 when it offers and AEAD_AES_128_GCM when the
 * engine does, and plays both.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtcpSrPacket,
  RtcpSenderInfo,
  RtpHeader,
  RtpPacket,
  SrtpSession,
  type RTCRtpSender,
  type RtcpPacket,
} from 'werift';
import { DtlsSrtpSink } from '../../src/engine/media/dtls-srtp-sink.js';
import { keyPair } from '../helpers/dtls-srtp.js';
import { loadWerift } from '../../src/engine/media/werift-lazy.js';
import { buildRtpPacket } from '../../src/rtsp/index.js';
import { createLogger } from '../../src/util/index.js';

/** werift's RTCRtpSender as far as the sink reaches into it: its SSRC and DTLS transport. */
class FakeSender {
  readonly ssrc = 0xcafe1234;
  readonly sent: Buffer[] = [];
  readonly viaWerift: { payload: Buffer; header: RtpHeader }[] = [];
  readonly rtcp: RtcpPacket[] = [];
  readonly transport = {
    srtpStarted: false,
    srtp: undefined as SrtpSession | undefined,
    bytesSent: 0,
    packetsSent: 0,
    iceTransport: {
      connection: {
        send: (data: Buffer): Promise<void> => {
          this.sent.push(data);
          return Promise.resolve();
        },
      },
    },
    sendRtp: (payload: Buffer, header: RtpHeader): Promise<number> => {
      this.viaWerift.push({ payload, header });
      return Promise.resolve(payload.length);
    },
    sendRtcp: (packets: RtcpPacket[]): Promise<number> => {
      this.rtcp.push(...packets);
      return Promise.resolve(0);
    },
  };
}

/** The 12-byte RTP header VideoWriter hands the sink. */
const header = (seq: number, ssrc: number, marker = false): Buffer =>
  buildRtpPacket({ payloadType: 102, sequenceNumber: seq, timestamp: 90_000, ssrc, marker, payload: Buffer.alloc(0) });

describe('DtlsSrtpSink', () => {
  // The engine loads werift (werift-lazy.ts) before a peer, hence a sink, exists; so does this test.
  before(() => loadWerift());
  const logger = createLogger('test', () => undefined);

  for (const [name, profile, tag] of [
    ['AES_CM_128_HMAC_SHA1_80', ProtectionProfileAes128CmHmacSha1_80, 10],
    ['AEAD_AES_128_GCM', ProtectionProfileAeadAes128Gcm, 16],
  ] as const) {
    it(`encrypts ${name} itself, with the DTLS keys, for werift to decrypt`, () => {
      const fake = new FakeSender();
      const sink = new DtlsSrtpSink(fake as unknown as RTCRtpSender, logger);
      assert.equal(sink.ssrc, fake.ssrc);
      sink.sendRtp(header(1, fake.ssrc), Buffer.from('before DTLS'));
      assert.equal(fake.sent.length + fake.viaWerift.length, 0, 'nothing leaves before the handshake');

      const first = keyPair(profile);
      fake.transport.srtp = first.sender;
      fake.transport.srtpStarted = true;
      const payloads = Array.from({ length: 40 }, (_, i) => randomBytes(100 + i * 29));
      payloads.forEach((p, i) => sink.sendRtp(header(65_520 + i, fake.ssrc, i % 5 === 4), p)); // across a wrap
      assert.equal(fake.viaWerift.length, 0);
      assert.equal(fake.sent.length, 40);
      fake.sent.forEach((wire, i) => {
        const rtp = RtpPacket.deSerialize(first.viewer.decrypt(wire));
        assert.equal(rtp.header.sequenceNumber, (65_520 + i) & 0xffff);
        assert.equal(rtp.header.ssrc, fake.ssrc);
        assert.equal(rtp.header.marker, i % 5 === 4);
        assert.deepEqual(rtp.payload, payloads[i]);
        assert.equal(wire.length, 12 + payloads[i]!.length + tag);
      });
      assert.equal(fake.transport.packetsSent, 40, "werift's transport counters still count");
      assert.equal(
        fake.transport.bytesSent,
        fake.sent.reduce((n, b) => n + b.length, 0),
      );

      // DTLS done again (an ICE restart): werift makes a new session, the sink follows it.
      const second = keyPair(profile);
      fake.transport.srtp = second.sender;
      sink.sendRtp(header(100, fake.ssrc), Buffer.from('after the new handshake'));
      assert.equal(
        RtpPacket.deSerialize(second.viewer.decrypt(fake.sent.at(-1)!)).payload.toString(),
        'after the new handshake',
      );
      assert.throws(() => first.viewer.decrypt(fake.sent.at(-1)!), 'the old keys no longer fit');
    });
  }

  it("leaves a profile it does not implement to werift's own sendRtp, and RTCP always", () => {
    const fake = new FakeSender();
    const sink = new DtlsSrtpSink(fake as unknown as RTCRtpSender, logger);
    // SRTP_AES128_CM_HMAC_SHA1_32 (RFC 5764 §4.1.2): werift never negotiates it, the sink must not guess.
    const { sender } = keyPair(ProtectionProfileAes128CmHmacSha1_80);
    fake.transport.srtp = { config: { ...sender.config, profile: 0x0002 } } as unknown as SrtpSession;
    fake.transport.srtpStarted = true;
    sink.sendRtp(header(7, fake.ssrc, true), Buffer.from('sha1_32'));
    assert.equal(fake.sent.length, 0);
    assert.equal(fake.viaWerift.length, 1);
    const { header: h, payload } = fake.viaWerift[0]!;
    assert.deepEqual(
      [h.sequenceNumber, h.ssrc, h.marker, h.payloadType, h.timestamp],
      [7, fake.ssrc, true, 102, 90_000],
    );
    assert.equal(payload.toString(), 'sha1_32');
    const sr = new RtcpSrPacket({ ssrc: fake.ssrc, senderInfo: new RtcpSenderInfo({}) });
    sink.sendRtcp([sr]);
    assert.deepEqual(fake.rtcp, [sr]);
  });
});
