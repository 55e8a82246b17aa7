/**
 * A 4:2:0 picture stored macroblock by macroblock in exactly the order of an
 * I_PCM macroblock (ITU-T H.264 §7.3.5 and §8.3.5): 256 luma samples in
 * raster order, then 64 Cb, then 64 Cr. Encoding a macroblock is therefore a
 * 384-byte copy, and "did this macroblock change" is one Buffer.compare.
 */
export const MB_BYTES = 384;
const CB_OFFSET = 256;
const CR_OFFSET = 320;

export class MbPicture {
  readonly widthMbs: number;
  readonly heightMbs: number;
  readonly data: Buffer;

  constructor(widthMbs: number, heightMbs: number) {
    this.widthMbs = widthMbs;
    this.heightMbs = heightMbs;
    this.data = Buffer.alloc(widthMbs * heightMbs * MB_BYTES, 128);
  }

  get mbCount(): number {
    return this.widthMbs * this.heightMbs;
  }

  /** The 384 I_PCM bytes of macroblock `mb` (a view, not a copy). */
  macroblock(mb: number): Buffer {
    return this.data.subarray(mb * MB_BYTES, (mb + 1) * MB_BYTES);
  }

  /**
   * Fills a rectangle given in luma coordinates, clipped to the coded picture.
   * Luma gets `y`; when `cb`/`cr` are given, the co-sited chroma rectangle
   * (half resolution, rounded outwards) gets them.
   */
  fillRect(x0: number, y0: number, w: number, h: number, y: number, cb?: number, cr?: number): void {
    const maxX = this.widthMbs * 16;
    const maxY = this.heightMbs * 16;
    const xa = Math.max(0, Math.floor(x0));
    const ya = Math.max(0, Math.floor(y0));
    const xb = Math.min(maxX, Math.floor(x0 + w));
    const yb = Math.min(maxY, Math.floor(y0 + h));
    if (xa >= xb || ya >= yb) return;
    this.#fillPlane(xa, ya, xb, yb, 16, 0, y);
    if (cb !== undefined && cr !== undefined) {
      const cxa = xa >> 1;
      const cya = ya >> 1;
      const cxb = (xb + 1) >> 1;
      const cyb = (yb + 1) >> 1;
      this.#fillPlane(cxa, cya, cxb, cyb, 8, CB_OFFSET, cb);
      this.#fillPlane(cxa, cya, cxb, cyb, 8, CR_OFFSET, cr);
    }
  }

  /** Fills [xa,xb) x [ya,yb) of one plane whose macroblock side is `side` samples, run by run. */
  #fillPlane(xa: number, ya: number, xb: number, yb: number, side: number, base: number, v: number): void {
    const shift = side === 16 ? 4 : 3;
    const mask = side - 1;
    for (let yy = ya; yy < yb; yy++) {
      const rowMb = (yy >> shift) * this.widthMbs;
      const rowOff = (yy & mask) * side + base;
      let x = xa;
      while (x < xb) {
        const runEnd = Math.min(xb, ((x >> shift) + 1) << shift);
        const off = (rowMb + (x >> shift)) * MB_BYTES + rowOff + (x & mask);
        this.data.fill(v, off, off + (runEnd - x));
        x = runEnd;
      }
    }
  }

  /** Copies macroblock `mb` from `src` (same geometry). */
  copyMacroblockFrom(src: MbPicture, mb: number): void {
    src.data.copy(this.data, mb * MB_BYTES, mb * MB_BYTES, (mb + 1) * MB_BYTES);
  }

  /** The luma sample at (x, y), for tests. */
  lumaAt(x: number, y: number): number {
    const mb = (y >> 4) * this.widthMbs + (x >> 4);
    return this.data[mb * MB_BYTES + (y & 15) * 16 + (x & 15)]!;
  }
}
