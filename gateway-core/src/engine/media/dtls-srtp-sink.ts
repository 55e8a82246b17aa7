import type { RTCRtpSender, RtcpPacket, SrtpSession } from 'werift';
import type { Logger } from '../../util/index.js';
import { queuedSends, sendDatagram } from './ice-datagram.js';
import { SendRing } from './send-ring.js';
import { SrtpProtector } from './srtp.js';
import { SrtpGcmProtector } from './srtp-gcm.js';
import { loadedWerift, loadWerift, type WeriftModule } from './werift-lazy.js';
import type { RtpSink } from './video-writer.js';

/** DTLS-SRTP profile numbers werift's sessions carry: RFC 5764 §4.1.2 and RFC 7714 §14.2. */
const PROFILE_AES128_CM_HMAC_SHA1_80 = 0x0001;
const PROFILE_AEAD_AES_128_GCM = 0x0007;

const PROFILE_NAMES = new Map([
  [PROFILE_AES128_CM_HMAC_SHA1_80, 'AES_CM_128_HMAC_SHA1_80'],
  [PROFILE_AEAD_AES_128_GCM, 'AEAD_AES_128_GCM'],
]);

/** What builds a viewer's SRTP packets in our send ring: one of the two profiles WebRTC peers choose. */
type Protector = Pick<SrtpProtector, 'workBytes' | 'protectParts'>;

/**
 * A viewer's RTP leaves through werift's DTLS transport: the SRTP keys are
 * the ones its DTLS handshake negotiated and the packets go out on the ICE
 * pair it selected (through the TURN relay when that is the pair). Only the
 * encryption is ours: AES_CM_128_HMAC_SHA1_80 (what Chromium picks when it
 * offers) by `SrtpProtector`, which costs half of werift's SRTP per packet
 * (werift creates a cipher and an HMAC object for each one, and this runs
 * once per packet per viewer), and AEAD_AES_128_GCM (what werift picks as
 * the DTLS server: when the engine offers, or a werift viewer does) by
 * `SrtpGcmProtector`; both build the packet in the send ring and send it
 * on the pair's socket, where werift's `sendRtp` allocates per packet at
 * every step. Another profile would go through werift's `sendRtp`. RTCP
 * (sender reports) always goes through werift.
 */
export class DtlsSrtpSink implements RtpSink {
  readonly #sender: RTCRtpSender;
  readonly #log: Logger;
  /** The werift SRTP session our protector was keyed from; werift makes a new one when DTLS is redone. */
  #keyedFrom: SrtpSession | undefined;
  #protector: Protector | undefined;
  /** Where packets sent on our own socket path are built (`send-ring.ts`); werift's path gets new buffers. */
  readonly ring = new SendRing();
  readonly #onSendError = (err: unknown): void => this.#log.debug('sending SRTP failed', { err });

  constructor(sender: RTCRtpSender, logger: Logger) {
    this.#sender = sender;
    this.#log = logger;
  }

  get ssrc(): number {
    return this.#sender.ssrc;
  }

  sendRtp(header: Buffer, payload: Buffer): void {
    const transport = this.#sender.transport;
    // Before the DTLS handshake there are no keys; werift drops such packets too.
    if (!transport.srtpStarted) return;
    if (transport.srtp !== this.#keyedFrom) this.#key(transport.srtp);
    if (!this.#protector) {
      const send = (w: WeriftModule, h: Buffer): void => {
        transport
          .sendRtp(payload, w.RtpHeader.deSerialize(h))
          .catch((err: unknown) => this.#log.debug('sendRtp failed', { err }));
      };
      // werift is loaded once a peer negotiated (werift-lazy.ts); the header is reused after we return.
      const w = loadedWerift();
      if (w) send(w, header);
      else void loadWerift().then((m) => send(m, Buffer.from(header)));
      return;
    }
    const connection = transport.iceTransport.connection;
    const queued = queuedSends(connection);
    const work = this.#protector.workBytes(header.length + payload.length);
    const out = queued === undefined ? undefined : this.ring.take(work, queued);
    const packet = this.#protector.protectParts(header, payload, out);
    transport.bytesSent += packet.length;
    transport.packetsSent++;
    sendDatagram(connection, packet, this.#onSendError);
  }

  sendRtcp(packets: RtcpPacket[]): void {
    this.#sender.transport.sendRtcp(packets).catch((err: unknown) => this.#log.debug('sendRtcp failed', { err }));
  }

  #key(session: SrtpSession): void {
    this.#keyedFrom = session;
    const { profile, keys } = session.config;
    const keyAndSalt = Buffer.concat([keys.localMasterKey, keys.localMasterSalt]);
    this.#protector =
      profile === PROFILE_AES128_CM_HMAC_SHA1_80
        ? new SrtpProtector('AES_128_CM_HMAC_SHA1_80', keyAndSalt)
        : profile === PROFILE_AEAD_AES_128_GCM
          ? new SrtpGcmProtector(keyAndSalt)
          : undefined;
    this.#log.debug('SRTP keyed', { profile: PROFILE_NAMES.get(profile) ?? `werift profile ${profile}` });
  }
}
