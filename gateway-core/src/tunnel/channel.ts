import { EventEmitter } from 'node:events';
import { CamgateError } from '../util/index.js';
import { CHANNEL_CLOSE } from './constants.js';

export type ChannelState = 'open' | 'detached' | 'closed';

/** What a Channel needs from the tunnel that carries it (implemented by Link). */
export interface ChannelHost {
  channelSend(ch: Channel, text: string): void;
  channelClose(ch: Channel, code: number, reason: string): void;
}

export interface ChannelCloseInfo {
  code: number;
  reason: string;
}

/**
 * One logical, ordered, lossless text stream inside the tunnel (one Kurento
 * client connection at the hub). Survives a tunnel reconnect in `detached`
 * state; `close` is emitted exactly once, whoever closes it.
 */
export class Channel extends EventEmitter<{
  message: [string];
  close: [ChannelCloseInfo];
  detached: [];
  attached: [];
}> {
  readonly id: number;
  readonly meta: Record<string, unknown>;
  #state: ChannelState;
  #host: ChannelHost;

  /** @internal Created by the tunnel; users get channels from openChannel() or the client's `channel` event. */
  constructor(host: ChannelHost, id: number, meta: Record<string, unknown>, attached: boolean) {
    super();
    this.#host = host;
    this.id = id;
    this.meta = meta;
    this.#state = attached ? 'open' : 'detached';
  }

  get state(): ChannelState {
    return this.#state;
  }

  /**
   * Sends one text message. While detached it is queued (bounded by
   * maxChannelBufferBytes; beyond that the channel closes with code 1008).
   * Throws CAMGATE_TUNNEL_CHANNEL_CLOSED on a closed channel and
   * CAMGATE_TUNNEL_FRAME_TOO_LARGE when the text cannot fit one frame.
   */
  send(text: string): void {
    if (typeof text !== 'string') throw new TypeError(`Channel.send: text must be a string, got ${typeof text}`);
    if (this.#state === 'closed') {
      throw new CamgateError('CAMGATE_TUNNEL_CHANNEL_CLOSED', `channel ${this.id} is closed`);
    }
    this.#host.channelSend(this, text);
  }

  /** Closes the channel at both ends. Idempotent. */
  close(code: number = CHANNEL_CLOSE.NORMAL, reason = ''): void {
    if (this.#state === 'closed') return;
    if (!Number.isInteger(code) || code < 1000 || code > 4999) {
      throw new RangeError(`Channel.close: code must be an integer 1000..4999, got ${code}`);
    }
    if (typeof reason !== 'string') throw new TypeError('Channel.close: reason must be a string');
    this.#host.channelClose(this, code, reason.slice(0, 200));
  }

  /** @internal */
  _deliver(text: string): void {
    if (this.#state !== 'closed') this.emit('message', text);
  }

  /** @internal Marks the channel closed and emits `close` once. */
  _closed(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.emit('close', { code, reason });
  }

  /** @internal */
  _setAttached(attached: boolean): void {
    if (this.#state === 'closed') return;
    const next = attached ? 'open' : 'detached';
    if (next === this.#state) return;
    this.#state = next;
    this.emit(attached ? 'attached' : 'detached');
  }
}
