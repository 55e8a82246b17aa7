import { performance } from 'node:perf_hooks';

export interface PacerOptions {
  /** Long-run sending rate, bits per second. */
  bitrate: number;
  /** Bytes that may go out back to back before the rate applies (the bucket's depth). */
  burstBytes: number;
  /** Bytes a pacer may hold; a push beyond this is refused. */
  maxQueueBytes: number;
}

/** What the pacer needs from time; tests pass a manual clock. */
export interface PacerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_CLOCK: PacerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * A token bucket in front of a socket: items go out at once while the bucket
 * holds bytes, the rest wait and leave at `bitrate`. A camera hands over a
 * keyframe as one block (a megabyte and more at 720p); written to UDP in one
 * go it overflows the viewer's receive buffer and the lost packets cost a
 * keyframe request, which is why WebRTC senders pace (libwebrtc's PacedSender
 * does the same job). Order is kept; nothing is dropped except on `clear()`.
 */
export class Pacer<T> {
  readonly #send: (item: T) => void;
  readonly #bytesPerMs: number;
  readonly #burst: number;
  readonly #max: number;
  readonly #clock: PacerClock;
  #queue: { item: T; bytes: number }[] = [];
  #head = 0;
  #queued = 0;
  #tokens: number;
  #refilledAt: number;
  #timer: unknown;

  constructor(send: (item: T) => void, opts: PacerOptions, clock: PacerClock = SYSTEM_CLOCK) {
    const { bitrate, burstBytes, maxQueueBytes } = opts;
    if (!Number.isFinite(bitrate) || bitrate < 8_000) throw new RangeError(`Pacer: bitrate must be >= 8000 bit/s`);
    if (!Number.isInteger(burstBytes) || burstBytes < 1) throw new RangeError('Pacer: burstBytes must be >= 1');
    if (!Number.isInteger(maxQueueBytes) || maxQueueBytes < 1)
      throw new RangeError('Pacer: maxQueueBytes must be >= 1');
    this.#send = send;
    this.#bytesPerMs = bitrate / 8 / 1000;
    this.#burst = burstBytes;
    this.#max = maxQueueBytes;
    this.#clock = clock;
    this.#tokens = burstBytes;
    this.#refilledAt = clock.now();
  }

  /** Bytes waiting to be sent. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Sends `item` now or queues it; false (and nothing queued) when the queue would exceed `maxQueueBytes`. */
  push(item: T, bytes: number): boolean {
    if (this.#queued === 0) {
      this.#refill();
      if (this.#tokens > 0) {
        this.#tokens -= bytes;
        this.#send(item);
        return true;
      }
    }
    if (this.#queued + bytes > this.#max) return false;
    this.#queue.push({ item, bytes });
    this.#queued += bytes;
    this.#schedule();
    return true;
  }

  /** Drops everything queued (superseded by a newer keyframe, or the viewer left); returns how many items. */
  clear(): number {
    const n = this.#queue.length - this.#head;
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    return n;
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilledAt) * this.#bytesPerMs);
    this.#refilledAt = now;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#tokens > 0 ? 0 : Math.ceil(-this.#tokens / this.#bytesPerMs);
    this.#timer = this.#clock.setTimeout(() => this.#drain(), Math.max(1, wait));
  }

  #drain(): void {
    this.#timer = undefined;
    this.#refill();
    const q = this.#queue;
    // `send` may call clear(): the loop stops when the queue it walks is no longer the pacer's.
    while (this.#queue === q && this.#head < q.length && this.#tokens > 0) {
      const { item, bytes } = q[this.#head]!;
      q[this.#head++] = undefined as never; // let the item go before the array is compacted
      this.#queued -= bytes;
      this.#tokens -= bytes;
      this.#send(item);
    }
    if (this.#queue !== q) return;
    if (this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
      return;
    }
    if (this.#head > 1024) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    this.#schedule();
  }
}
