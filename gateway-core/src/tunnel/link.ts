import { CamgateError, type Logger } from '../util/index.js';
import { Channel, type ChannelHost } from './channel.js';
import { CHANNEL_CLOSE, FrameType, SEQUENCED_TYPES, type FrameTypeValue } from './constants.js';
import {
  HEADER_BYTES,
  decodeJson,
  decodeText,
  encodeFrame,
  encodeJson,
  isObject,
  seqAdd,
  seqAtOrAfter,
  type Frame,
} from './frame.js';
import type { ResolvedCommonOptions } from './options.js';
import { FrameQueue, type OutFrame } from './queue.js';

/** The sending half of a connection, as the link sees it (implemented by Wire). */
export interface FrameSink {
  send(buf: Buffer): void;
}

export interface LinkHooks {
  /** gateway only: the hub opened a channel. */
  onOpen?(ch: Channel): void;
  onControl(msg: unknown): void;
  /** hub only: the gateway sent a fresh announce. */
  onAnnounce?(msg: unknown): void;
}

/** Channel frames are acknowledged in batches: after this many, an ACK goes out by the end of the tick. */
const ACK_EVERY_FRAMES = 64;

function protocolError(message: string): CamgateError {
  return new CamgateError('CAMGATE_TUNNEL_PROTOCOL', message);
}

/**
 * The reliable, multiplexed session shared by both ends (docs/tunnel.md
 * "Resume and acknowledgement"). One sequence space per direction; every
 * frame piggybacks the cumulative count received in order; sent frames stay
 * in a bounded retransmit buffer until acknowledged and are sent again after
 * a resume. Frames that cannot be sent yet (detached, or window full) wait
 * unsequenced in a send queue, so a channel that overflows can be dropped
 * from it without leaving a gap in the sequence.
 */
export class Link implements ChannelHost {
  /** Session id assigned by the hub; '' before the first welcome. */
  session = '';
  readonly #role: 'hub' | 'gateway';
  readonly #opts: ResolvedCommonOptions;
  readonly #log: Logger;
  readonly #hooks: LinkHooks;
  readonly #channels = new Map<number, Channel>();
  #sendSeq = 0; // last sequence number assigned
  #recvSeq = 0; // last sequence number received in order
  #peerAck = 0; // highest cumulative ack from the peer
  #unacked = new FrameQueue(); // sequenced, sent, not yet acknowledged
  #pending = new FrameQueue(); // not yet sequenced
  #pendingBytes = new Map<number, number>(); // per channel id (0 = control)
  #sink: FrameSink | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  #unackedIn = 0; // frames received since we last told the peer
  #ackSoon = false; // an ACK is due at the end of this tick (ACK_EVERY_FRAMES reached)
  #nextChannelId = 1;

  constructor(role: 'hub' | 'gateway', opts: ResolvedCommonOptions, log: Logger, hooks: LinkHooks) {
    this.#role = role;
    this.#opts = opts;
    this.#log = log;
    this.#hooks = hooks;
  }

  get attached(): boolean {
    return this.#sink !== undefined;
  }
  get recvSeq(): number {
    return this.#recvSeq;
  }
  get channelCount(): number {
    return this.#channels.size;
  }
  /** Counters for diagnostics and tests. */
  stats(): { sendSeq: number; recvSeq: number; unackedFrames: number; unackedBytes: number; pendingFrames: number } {
    return {
      sendSeq: this.#sendSeq,
      recvSeq: this.#recvSeq,
      unackedFrames: this.#unacked.length,
      unackedBytes: this.#unacked.bytes,
      pendingFrames: this.#pending.length,
    };
  }

  /** True when the peer's resume point `peerRecv` lies inside what we can still retransmit. */
  canResume(peerRecv: number): boolean {
    return seqAtOrAfter(peerRecv, this.#peerAck) && seqAtOrAfter(this.#sendSeq, peerRecv);
  }

  /**
   * Starts sending on a connection. `peerRecv` is how many of our frames the
   * peer already has (from hello/welcome); the rest are retransmitted.
   */
  attach(sink: FrameSink, peerRecv: number): void {
    if (!this.canResume(peerRecv))
      throw protocolError(`resume point ${peerRecv} is outside ${this.#peerAck}..${this.#sendSeq}`);
    this.#applyAck(peerRecv); // before the sink is set, so nothing new jumps ahead of the retransmission
    this.#sink = sink;
    for (const f of this.#unacked) this.#write(f);
    this.#flush();
    for (const ch of [...this.#channels.values()]) ch._setAttached(true);
  }

  /** The connection is gone; keep everything for a resume. */
  detach(): void {
    if (!this.#sink) return;
    this.#sink = undefined;
    this.#clearAckTimer();
    for (const ch of [...this.#channels.values()]) ch._setAttached(false);
  }

  /**
   * Ends the session: every channel closes with `code`/`reason`, counters
   * restart. Control messages not yet acknowledged are kept and sent in the
   * next session (at-least-once across a session loss, exactly-once within one).
   */
  reset(code: number, reason: string): void {
    const keep = [...this.#unacked, ...this.#pending].filter((f) => f.type === FrameType.CONTROL);
    this.#unacked = new FrameQueue();
    this.#pending = new FrameQueue();
    this.#pendingBytes.clear();
    this.#sendSeq = 0;
    this.#recvSeq = 0;
    this.#peerAck = 0;
    this.#unackedIn = 0;
    this.#clearAckTimer();
    this.session = '';
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const ch of channels) ch._closed(code, reason);
    for (const f of keep) this.#enqueue({ type: f.type, channel: 0, payload: f.payload, seq: 0 });
  }

  /** Drops everything, including queued control messages (final shutdown). */
  dispose(code: number, reason: string): void {
    this.detach();
    this.reset(code, reason);
    this.#pending = new FrameQueue();
    this.#pendingBytes.clear();
  }

  /** hub only: opens a channel to the gateway. */
  openChannel(meta: Record<string, unknown>): Channel {
    if (this.#channels.size >= this.#opts.maxChannels) {
      throw new CamgateError(
        'CAMGATE_TUNNEL_CHANNEL_LIMIT',
        `channel limit reached: ${this.#channels.size} of ${this.#opts.maxChannels} channels open`,
      );
    }
    const payload = encodeJson(meta);
    this.#checkSize(payload);
    const id = this.#nextChannelId;
    // Ids are never reused within a session, so a late frame for a closed id is recognisably stale.
    this.#nextChannelId = this.#nextChannelId >= 0xffff_ffff ? 1 : this.#nextChannelId + 1;
    const ch = new Channel(this, id, meta, this.attached);
    this.#channels.set(id, ch);
    this.#enqueue({ type: FrameType.OPEN, channel: id, payload, seq: 0 });
    return ch;
  }

  /** Queues a control message (either side). Throws CAMGATE_TUNNEL_BUFFER_FULL when too much is queued. */
  sendControl(type: typeof FrameType.CONTROL | typeof FrameType.ANNOUNCE, msg: unknown): void {
    const payload = encodeJson(msg);
    this.#checkSize(payload);
    if ((this.#pendingBytes.get(0) ?? 0) + payload.length > this.#opts.maxChannelBufferBytes) {
      throw new CamgateError('CAMGATE_TUNNEL_BUFFER_FULL', 'control send queue is full while the tunnel is down');
    }
    this.#enqueue({ type, channel: 0, payload, seq: 0 });
  }

  channelSend(ch: Channel, text: string): void {
    const payload = Buffer.from(text, 'utf8');
    this.#checkSize(payload);
    const queued = this.#pendingBytes.get(ch.id) ?? 0;
    if (queued + payload.length > this.#opts.maxChannelBufferBytes) {
      this.#log.warn('channel send buffer overflow', { channel: ch.id, queued });
      this.#pending.removeWhere((f) => f.channel === ch.id && f.type === FrameType.DATA);
      this.#pendingBytes.delete(ch.id);
      this.#closeChannel(
        ch,
        CHANNEL_CLOSE.LIMIT,
        `send buffer overflow: more than ${this.#opts.maxChannelBufferBytes} bytes queued`,
      );
      return;
    }
    this.#enqueue({ type: FrameType.DATA, channel: ch.id, payload, seq: 0 });
  }

  channelClose(ch: Channel, code: number, reason: string): void {
    this.#closeChannel(ch, code, reason);
  }

  /** Handles one decoded frame. Throws CAMGATE_TUNNEL_PROTOCOL on a violation (caller closes with 4400). */
  handleFrame(f: Frame): void {
    if (f.type === FrameType.HELLO || f.type === FrameType.WELCOME) throw protocolError('unexpected handshake frame');
    this.#applyAck(f.ack);
    if (!SEQUENCED_TYPES.has(f.type)) {
      if (f.channel !== 0 || f.seq !== 0 || f.payload.length !== 0) throw protocolError('malformed ACK frame');
      return;
    }
    const expected = seqAdd(this.#recvSeq, 1);
    if (f.seq !== expected) {
      if (seqAtOrAfter(this.#recvSeq, f.seq)) return; // duplicate of something already delivered
      throw protocolError(`sequence gap: expected ${expected}, got ${f.seq}`);
    }
    this.#recvSeq = f.seq;
    this.#noteReceived();
    switch (f.type) {
      case FrameType.OPEN:
        return this.#onOpen(f);
      case FrameType.DATA:
        return this.#onData(f);
      case FrameType.CLOSE:
        return this.#onClose(f);
      case FrameType.CONTROL:
      case FrameType.ANNOUNCE:
        return this.#onControl(f);
    }
  }

  // ---- receive handlers (one per frame type) ----

  #onOpen(f: Frame): void {
    if (this.#role !== 'gateway') throw protocolError('only the hub opens channels');
    if (f.channel === 0) throw protocolError('OPEN on channel 0');
    const existing = this.#channels.get(f.channel);
    if (existing) {
      this.#closeChannel(existing, CHANNEL_CLOSE.INVALID_DATA, 'malformed frame: duplicate OPEN');
      return;
    }
    let meta: unknown;
    try {
      meta = decodeJson(f.payload);
    } catch (err) {
      meta = err;
    }
    if (!isObject(meta)) {
      this.#log.warn('malformed OPEN frame', { channel: f.channel });
      this.#sendClose(f.channel, CHANNEL_CLOSE.INVALID_DATA, 'malformed frame: OPEN meta must be a JSON object');
      return;
    }
    if (this.#channels.size >= this.#opts.maxChannels) {
      this.#sendClose(f.channel, CHANNEL_CLOSE.LIMIT, `gateway channel limit reached (${this.#opts.maxChannels})`);
      return;
    }
    const ch = new Channel(this, f.channel, meta, true);
    this.#channels.set(f.channel, ch);
    this.#hooks.onOpen?.(ch);
  }

  #onData(f: Frame): void {
    if (f.channel === 0) throw protocolError('DATA on channel 0');
    const ch = this.#channels.get(f.channel);
    if (!ch) return; // closed here while the frame was in flight; our CLOSE is on its way
    let text: string;
    try {
      text = decodeText(f.payload);
    } catch {
      this.#log.warn('malformed DATA frame', { channel: f.channel });
      this.#closeChannel(ch, CHANNEL_CLOSE.INVALID_DATA, 'malformed frame: payload is not valid UTF-8');
      return;
    }
    ch._deliver(text);
  }

  #onClose(f: Frame): void {
    if (f.channel === 0) throw protocolError('CLOSE on channel 0');
    const ch = this.#channels.get(f.channel);
    if (!ch) return;
    this.#channels.delete(f.channel);
    this.#dropPending(f.channel);
    let code: number = CHANNEL_CLOSE.INVALID_DATA;
    let reason = 'malformed frame: CLOSE payload';
    try {
      const body = decodeJson(f.payload);
      if (
        isObject(body) &&
        Number.isInteger(body.code) &&
        (body.code as number) >= 1000 &&
        (body.code as number) <= 4999 &&
        typeof body.reason === 'string'
      ) {
        code = body.code as number;
        reason = body.reason.slice(0, 200);
      }
    } catch {
      // keep the malformed-close code and reason
    }
    ch._closed(code, reason);
  }

  #onControl(f: Frame): void {
    if (f.channel !== 0) throw protocolError('control frame on a channel');
    if (f.type === FrameType.ANNOUNCE && this.#role !== 'hub') throw protocolError('ANNOUNCE sent to a gateway');
    let msg: unknown;
    try {
      msg = decodeJson(f.payload);
    } catch (err) {
      throw protocolError(`malformed control frame: ${(err as Error).message}`);
    }
    if (f.type === FrameType.ANNOUNCE) this.#hooks.onAnnounce?.(msg);
    else this.#hooks.onControl(msg);
  }

  // ---- sending ----

  #closeChannel(ch: Channel, code: number, reason: string): void {
    if (!this.#channels.has(ch.id)) return;
    this.#channels.delete(ch.id);
    this.#sendClose(ch.id, code, reason);
    ch._closed(code, reason);
  }

  #sendClose(id: number, code: number, reason: string): void {
    this.#enqueue({ type: FrameType.CLOSE, channel: id, payload: encodeJson({ code, reason }), seq: 0 });
  }

  #dropPending(id: number): void {
    if (!this.#pendingBytes.has(id)) return;
    this.#pending.removeWhere((f) => f.channel === id && f.type === FrameType.DATA);
    this.#pendingBytes.delete(id);
  }

  #checkSize(payload: Buffer): void {
    if (payload.length + HEADER_BYTES > this.#opts.maxFrameBytes) {
      throw new CamgateError(
        'CAMGATE_TUNNEL_FRAME_TOO_LARGE',
        `message of ${payload.length} bytes does not fit a ${this.#opts.maxFrameBytes}-byte frame`,
      );
    }
  }

  #enqueue(f: OutFrame): void {
    this.#pending.push(f);
    this.#pendingBytes.set(f.channel, (this.#pendingBytes.get(f.channel) ?? 0) + f.payload.length);
    this.#flush();
  }

  /** Moves queued frames into the window while the peer keeps acknowledging. */
  #flush(): void {
    if (!this.#sink) return;
    for (;;) {
      const next = this.#pending.peek();
      if (!next) return;
      const full =
        this.#unacked.length >= this.#opts.maxUnackedFrames ||
        (this.#unacked.length > 0 &&
          this.#unacked.bytes + next.payload.length + HEADER_BYTES > this.#opts.maxUnackedBytes);
      if (full) return;
      this.#pending.shift();
      const left = (this.#pendingBytes.get(next.channel) ?? 0) - next.payload.length;
      if (left > 0) this.#pendingBytes.set(next.channel, left);
      else this.#pendingBytes.delete(next.channel);
      this.#sendSeq = seqAdd(this.#sendSeq, 1);
      next.seq = this.#sendSeq;
      this.#unacked.push(next);
      this.#write(next);
      if (!this.#sink) return; // the write failed and detached us
    }
  }

  #write(f: OutFrame): void {
    const buf = encodeFrame({ type: f.type, channel: f.channel, seq: f.seq, ack: this.#recvSeq, payload: f.payload });
    this.#unackedIn = 0;
    this.#clearAckTimer();
    this.#sink?.send(buf);
  }

  #applyAck(ack: number): void {
    if (!seqAtOrAfter(this.#sendSeq, ack))
      throw protocolError(`ack ${ack} is beyond the last frame sent (${this.#sendSeq})`);
    if (!seqAtOrAfter(ack, this.#peerAck)) return; // older than what we know; harmless
    this.#peerAck = ack;
    let dropped = false;
    for (let f = this.#unacked.peek(); f && seqAtOrAfter(ack, f.seq); f = this.#unacked.peek()) {
      this.#unacked.shift();
      dropped = true;
    }
    if (dropped) this.#flush();
  }

  #noteReceived(): void {
    this.#unackedIn++;
    if (!this.#sink) return;
    if (this.#opts.ackDelayMs === 0) {
      this.sendAck();
    } else if (this.#unackedIn >= ACK_EVERY_FRAMES) {
      // At the end of this tick rather than now: a burst of frames read in one go then gets one
      // ACK, not one per 64 — and none if a frame we send in the meantime carries it.
      if (!this.#ackSoon) {
        this.#ackSoon = true;
        process.nextTick(this.#ackAtTickEnd);
      }
    } else if (!this.#ackTimer) {
      this.#ackTimer = setTimeout(() => {
        this.#ackTimer = undefined;
        this.sendAck();
      }, this.#opts.ackDelayMs);
    }
  }

  #ackAtTickEnd = (): void => {
    this.#ackSoon = false;
    if (this.#unackedIn > 0) this.sendAck();
  };

  /**
   * On a heartbeat: a standalone ACK only if frames arrived that nothing has acknowledged yet (the ackDelayMs
   * timer normally has) — an idle tunnel then sends nothing but the heartbeat itself.
   */
  heartbeat(): void {
    if (this.#unackedIn > 0) this.sendAck();
  }

  /** Sends a standalone cumulative ACK now. */
  sendAck(): void {
    if (!this.#sink) return;
    this.#write({ type: FrameType.ACK as FrameTypeValue, channel: 0, seq: 0, payload: Buffer.alloc(0) });
  }

  #clearAckTimer(): void {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }
}
