import { randomUUID } from 'node:crypto';
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { Logger } from '../../util/index.js';
import { parseAudioSection, type AudioFrame, type ViewerAudioCodec } from './audio-codecs.js';
import { AudioWriter } from './audio-writer.js';
import { DtlsSrtpSink } from './dtls-srtp-sink.js';
import type { ViewerClock } from './lip-sync.js';

/**
 * A viewer's audio: the answer (or the viewer's answer to our offer) accepts
 * Opus and/or the G.711 laws; the peer does not know yet what the camera
 * sends (the player may be connected later), so it answers with every codec
 * it may send and the source picks per frame (source-audio.ts). Audio is
 * sent only once DTLS is up; there is nothing to cache.
 */
export class PeerAudio {
  readonly #log: Logger;
  readonly #clock: ViewerClock;
  #transceiver: RTCRtpTransceiver | undefined;
  #writer: AudioWriter | undefined;
  #closed = false;
  /** Talk-back: the viewer's voice, Opus RTP payloads and timestamps (48 kHz), when its offer only sends audio. */
  onVoice: ((payload: Buffer, timestamp: number) => void) | undefined;

  constructor(clock: ViewerClock, logger: Logger) {
    this.#clock = clock;
    this.#log = logger;
  }

  /** The codecs negotiated with this viewer (none: no audio section, or it takes none of ours). */
  get accepted(): ViewerAudioCodec[] {
    return this.#writer?.accepted ?? [];
  }

  /**
   * Takes the audio transceiver werift made for the offer's audio section: we only send on it — unless the
   * viewer's offer only sends audio (push-to-talk, docs/engine.md "Talking back"): then we only receive
   * (RFC 3264 §6.1) and hand its Opus packets to `onVoice`.
   */
  answerOffer(t: RTCRtpTransceiver | undefined, offer?: string): void {
    if (!t) return;
    this.#transceiver = t;
    const offered = offer === undefined ? undefined : parseAudioSection(offer);
    if (offered?.direction === 'sendonly' && offered.port !== 0) {
      t.setDirection('recvonly');
      const opus = offered.payloads.find((p) => p.codec === 'OPUS')?.payloadType;
      const heard = new Set<MediaStreamTrack>();
      const listen = (track: MediaStreamTrack): void => {
        // The same track can be both in `receiver.tracks` and announced by `onTrack`: listen once.
        if (heard.has(track)) return;
        heard.add(track);
        track.onReceiveRtp.subscribe((rtp) => {
          // Only Opus goes to the talk-back pipeline (talkback.ts decodes Opus); other payloads are dropped.
          if (this.#closed || opus === undefined || rtp.header.payloadType !== opus) return;
          this.onVoice?.(rtp.payload, rtp.header.timestamp);
        });
      };
      // werift made the remote track while applying the offer (before this call), or makes it later.
      for (const track of t.receiver.tracks) listen(track);
      t.onTrack.subscribe((track) => listen(track));
      return;
    }
    t.setDirection('sendonly'); // RFC 3264 §6.1: we send; talking back is a separate path (talkback.ts)
  }

  /** Adds a sendonly audio section to our offer. */
  addToOffer(add: (kind: 'audio') => RTCRtpTransceiver): void {
    this.#transceiver = add('audio');
  }

  /**
   * Reads what the viewer takes from the SDP that fixed the payloads (our answer, or the viewer's
   * answer to our offer). A section with port 0 or inactive/sendonly on the viewer's side gets nothing.
   */
  negotiated(sdp: string, ours: boolean): void {
    const t = this.#transceiver;
    if (!t || this.#closed) return;
    const section = parseAudioSection(sdp);
    if (!section || section.port === 0 || section.payloads.length === 0) return;
    const blocked = ours ? ['recvonly', 'inactive'] : ['sendonly', 'inactive'];
    if (blocked.includes(section.direction)) return;
    this.#writer = new AudioWriter(new DtlsSrtpSink(t.sender, this.#log), {
      payloads: section.payloads,
      clock: this.#clock,
      logger: this.#log,
    });
    this.#log.debug('audio negotiated', { codecs: this.#writer.accepted });
  }

  /** Sends one frame if its codec was negotiated; false otherwise. */
  write(frame: AudioFrame, connected: boolean): boolean {
    if (!connected || this.#closed) return false;
    return this.#writer?.write(frame) ?? false;
  }

  close(): void {
    this.#closed = true;
    this.#writer?.close();
  }
}

/**
 * Puts the camera's video and audio in one media stream (`a=msid:<stream> <track>` with the same
 * stream id, RFC 8830 §2): a browser lines up the playout of tracks by the sender reports only
 * within one stream (Chromium's sync group is the stream id). werift's senders carry no stream unless
 * given one, which leaves the pairing of the two tracks to the browser's defaults.
 */
export function oneMediaStream(pc: RTCPeerConnection): void {
  const id = `camgate-${randomUUID()}`;
  for (const t of pc.getTransceivers())
    if (t.direction === 'sendonly' || t.direction === 'sendrecv') t.sender.streamId = id;
}
