import type { FrameTypeValue } from './constants.js';

/** A frame waiting to be sent or acknowledged; `seq` is 0 until it enters the window. */
export interface OutFrame {
  type: FrameTypeValue;
  channel: number;
  payload: Buffer;
  seq: number;
}

/**
 * FIFO of frames with a byte count. Array with a moving head: shift() is
 * O(1) amortised, unlike Array#shift on a long retransmit buffer.
 */
export class FrameQueue implements Iterable<OutFrame> {
  #items: OutFrame[] = [];
  #head = 0;
  #bytes = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }
  /** Payload bytes plus headers of everything queued. */
  get bytes(): number {
    return this.#bytes;
  }
  push(f: OutFrame): void {
    this.#items.push(f);
    this.#bytes += f.payload.length + 13;
  }
  peek(): OutFrame | undefined {
    return this.#items[this.#head];
  }
  shift(): OutFrame | undefined {
    const f = this.#items[this.#head];
    if (!f) return undefined;
    this.#items[this.#head] = undefined as unknown as OutFrame;
    this.#head++;
    this.#bytes -= f.payload.length + 13;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return f;
  }
  removeWhere(pred: (f: OutFrame) => boolean): void {
    const kept: OutFrame[] = [];
    for (const f of this) {
      if (pred(f)) this.#bytes -= f.payload.length + 13;
      else kept.push(f);
    }
    this.#items = kept;
    this.#head = 0;
  }
  *[Symbol.iterator](): Iterator<OutFrame> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }
}
