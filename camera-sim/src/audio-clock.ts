/**
 * Paces the camera's audio packets on its own clock: packet p holds the
 * samples captured from start + p·packetMs, and leaves once its last sample
 * is captured, at start + (p+1)·packetMs — whether or not the timer was late
 * (late packets are caught up, at most `MAX_CATCH_UP` of them, so a stalled
 * event loop does not become a burst of old audio).
 */
import { performance } from 'node:perf_hooks';

const MAX_CATCH_UP = 10; // packets: 200 ms of G.711, 640 ms of 16 kHz AAC

export class AudioClock {
  readonly #t0: number;
  readonly #packetMs: number;
  readonly #send: (index: number) => void;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `t0` is the camera's start (performance.now() time base), shared with the picture. */
  constructor(t0: number, packetMs: number, send: (index: number) => void) {
    this.#t0 = t0;
    this.#packetMs = packetMs;
    this.#send = send;
  }

  /** Starts sending with the packet being captured now. */
  start(): void {
    if (this.#timer) return;
    this.#next = Math.max(this.#next, this.#lastComplete() + 1);
    this.#schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The last packet whose samples are all captured. */
  #lastComplete(): number {
    return Math.floor((performance.now() - this.#t0) / this.#packetMs) - 1;
  }

  #schedule(): void {
    const at = this.#t0 + (this.#next + 1) * this.#packetMs;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - performance.now()));
  }

  #tick(): void {
    const last = this.#lastComplete();
    this.#next = Math.max(this.#next, last - MAX_CATCH_UP + 1);
    while (this.#next <= last) this.#send(this.#next++);
    this.#schedule();
  }
}
