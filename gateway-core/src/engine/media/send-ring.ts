/**
 * Reused output buffers for one viewer's SRTP packets. Each packet sent to
 * each viewer used to be a new buffer (~1.3 KB at 650 packets a second per
 * viewer): the largest share of what the engine allocates, and what keeps
 * V8's young generation large as viewers are added. A ring of slots is
 * written in turn instead; a slot is taken again only when the datagram last
 * built in it has certainly left.
 *
 * When a datagram has left: Node's `dgram` hands a send to libuv on the next
 * tick (it looks the address up first, even an IP literal), and libuv sends
 * in order, keeping what it could not send at once in the socket's queue
 * (`getSendQueueCount`). So the datagrams that may still be read are the
 * ones given to `send` since this turn of the event loop began, plus the
 * queued ones, and they are the newest. A slot was last written at least
 * `slots` sends ago, so it is free while fewer than `slots` sends may be
 * pending; otherwise `take` answers undefined and the caller allocates.
 */
export class SendRing {
  readonly #slab: Buffer;
  readonly #slots: number;
  readonly #slotBytes: number;
  #next = 0;
  /** Sends since this turn of the event loop began (their `dgram` lookups may still be due). */
  #sentThisTurn = 0;
  readonly #newTurn = (): void => {
    this.#sentThisTurn = 0;
  };
  /** Slots handed out, and sends that found none free (for tests and benches). */
  readonly stats = { reused: 0, allocated: 0 };

  constructor(slots = 64, slotBytes = 1536) {
    if (!Number.isInteger(slots) || slots < 2) throw new RangeError(`SendRing: slots must be an integer ≥ 2`);
    if (!Number.isInteger(slotBytes) || slotBytes < 1) throw new RangeError(`SendRing: slotBytes must be ≥ 1`);
    this.#slots = slots;
    this.#slotBytes = slotBytes;
    this.#slab = Buffer.allocUnsafeSlow(slots * slotBytes);
  }

  /**
   * A slot of `bytes` for the next datagram, which the caller then sends;
   * `queued` is the socket's `getSendQueueCount()`. Undefined (allocate
   * instead) when the datagram is larger than a slot or the oldest slot may
   * still be read by a pending send.
   */
  take(bytes: number, queued: number): Buffer | undefined {
    if (this.#sentThisTurn++ === 0) setImmediate(this.#newTurn);
    if (bytes > this.#slotBytes || this.#sentThisTurn + queued > this.#slots) {
      this.stats.allocated++;
      return undefined;
    }
    const at = this.#next * this.#slotBytes;
    this.#next = this.#next + 1 === this.#slots ? 0 : this.#next + 1;
    this.stats.reused++;
    return this.#slab.subarray(at, at + bytes);
  }
}
