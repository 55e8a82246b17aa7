/**
 * MSB-first bit writer for H.264 RBSPs: fixed-width fields u(n), Exp-Golomb
 * ue(v)/se(v) (ITU-T H.264 §9.1), byte alignment and rbsp_trailing_bits
 * (§7.3.2.11). It grows its buffer geometrically so a 1.4 MB I_PCM picture is
 * written with a handful of reallocations.
 */
export class BitWriter {
  #buf: Buffer;
  /** Bytes fully written. */
  #pos = 0;
  /** Bits pending in `#cur`, 0..7. */
  #bits = 0;
  #cur = 0;

  constructor(initialBytes = 256) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.#pos * 8 + this.#bits;
  }

  /** True when the next bit starts a new byte (H.264 `byte_aligned()`, §7.2). */
  get byteAligned(): boolean {
    return this.#bits === 0;
  }

  #ensure(extra: number): void {
    if (this.#pos + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  /** One bit, u(1). */
  writeBit(bit: number | boolean): void {
    this.#cur = (this.#cur << 1) | (bit ? 1 : 0);
    if (++this.#bits === 8) {
      this.#ensure(1);
      this.#buf[this.#pos++] = this.#cur;
      this.#cur = 0;
      this.#bits = 0;
    }
  }

  /** `n` bits of `value`, most significant first: u(n), 0 <= n <= 32. */
  writeBits(value: number, n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 32) throw new RangeError(`BitWriter: bit count must be 0..32, got ${n}`);
    if (!Number.isInteger(value) || value < 0 || (n < 32 && value >= 2 ** n) || value > 0xffffffff) {
      throw new RangeError(`BitWriter: value ${value} does not fit in ${n} bits`);
    }
    for (let i = n - 1; i >= 0; i--) this.writeBit(Math.floor(value / 2 ** i) & 1);
  }

  /** Unsigned Exp-Golomb ue(v) (§9.1): leadingZeroBits zeros, then codeNum + 1 in binary. */
  writeUE(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xfffffffe) {
      throw new RangeError(`BitWriter: ue(v) value must be an integer 0..4294967294, got ${value}`);
    }
    const v = value + 1;
    const bits = v.toString(2).length; // codeNum + 1 has leadingZeroBits + 1 significant bits
    for (let i = 0; i < bits - 1; i++) this.writeBit(0);
    this.writeBits(v, bits);
  }

  /** Signed Exp-Golomb se(v) (§9.1.1, Table 9-3): k > 0 maps to 2k-1, k <= 0 maps to -2k. */
  writeSE(value: number): void {
    if (!Number.isInteger(value) || Math.abs(value) > 0x7fffffff) {
      throw new RangeError(`BitWriter: se(v) value must be an integer within ±2147483647, got ${value}`);
    }
    this.writeUE(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** Zero bits up to the next byte boundary (pcm_alignment_zero_bit, §7.3.5). */
  alignZero(): void {
    while (this.#bits !== 0) this.writeBit(0);
  }

  /** rbsp_trailing_bits() (§7.3.2.11): a stop bit 1, then zeros to the byte boundary. */
  writeTrailingBits(): void {
    this.writeBit(1);
    this.alignZero();
  }

  /** Whole bytes; fast when byte-aligned (I_PCM samples), bit by bit otherwise. */
  writeBytes(bytes: Uint8Array): void {
    if (this.#bits === 0) {
      this.#ensure(bytes.length);
      this.#buf.set(bytes, this.#pos);
      this.#pos += bytes.length;
      return;
    }
    for (const b of bytes) this.writeBits(b, 8);
  }

  /** A copy of the bytes written; throws if the last byte is incomplete. */
  toBuffer(): Buffer {
    if (this.#bits !== 0) throw new RangeError('BitWriter: not byte-aligned; write trailing bits first');
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }
}
