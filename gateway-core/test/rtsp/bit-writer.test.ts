import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BitWriter } from '../../src/rtsp/bit-writer.js';
import { addEmulationPrevention, makeNalUnit, removeEmulationPrevention } from '../../src/rtsp/nal-unit.js';

/** The bits written, as a '0'/'1' string (pads with the trailing bits so toBuffer works). */
function bits(write: (w: BitWriter) => void): string {
  const w = new BitWriter(4);
  write(w);
  const n = w.bitLength;
  w.alignZero();
  return [...w.toBuffer()]
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('')
    .slice(0, n);
}

describe('BitWriter', () => {
  describe('#writeUE', () => {
    // ITU-T H.264 §9.1, Table 9-2: bit strings of codeNum 0..8
    const table: [number, string][] = [
      [0, '1'],
      [1, '010'],
      [2, '011'],
      [3, '00100'],
      [4, '00101'],
      [5, '00110'],
      [6, '00111'],
      [7, '0001000'],
      [8, '0001001'],
      [25, '000011010'], // I_PCM mb_type in I slices
      [30, '000011111'], // I_PCM mb_type in P slices
    ];
    for (const [v, s] of table) {
      it(`codes ${v} as ${s}`, () =>
        assert.equal(
          bits((w) => w.writeUE(v)),
          s,
        ));
    }
    it('codes 2^32-2, the largest ue(v) value, in 63 bits', () => {
      assert.equal(
        bits((w) => w.writeUE(0xfffffffe)),
        '0'.repeat(31) + '1'.repeat(32),
      );
    });
    it('refuses negative, fractional and too large values', () => {
      const w = new BitWriter();
      assert.throws(() => w.writeUE(-1), RangeError);
      assert.throws(() => w.writeUE(1.5), RangeError);
      assert.throws(() => w.writeUE(0xffffffff), RangeError);
    });
  });

  describe('#writeSE', () => {
    // §9.1.1, Table 9-3: codeNum 1 -> 1, 2 -> -1, 3 -> 2, 4 -> -2
    const table: [number, string][] = [
      [0, '1'],
      [1, '010'],
      [-1, '011'],
      [2, '00100'],
      [-2, '00101'],
      [3, '00110'],
    ];
    for (const [v, s] of table) {
      it(`codes ${v} as ${s}`, () =>
        assert.equal(
          bits((w) => w.writeSE(v)),
          s,
        ));
    }
  });

  describe('#writeBits', () => {
    it('writes most significant bit first, across byte boundaries', () => {
      const w = new BitWriter(1);
      w.writeBits(0b101, 3);
      w.writeBits(0x1234, 16);
      w.writeBits(0xffffffff, 32);
      w.writeBits(0, 5);
      assert.equal(w.bitLength, 56);
      assert.equal(w.toBuffer().toString('hex'), 'a2469fffffffe0');
    });
    it('refuses a value that does not fit', () => {
      assert.throws(() => new BitWriter().writeBits(8, 3), /does not fit in 3 bits/);
      assert.throws(() => new BitWriter().writeBits(1, 33), RangeError);
    });
  });

  describe('#writeTrailingBits and #alignZero', () => {
    it('rbsp_trailing_bits is a 1 then zeros to the byte boundary (§7.3.2.11)', () => {
      const w = new BitWriter();
      w.writeBits(0b11, 2);
      w.writeTrailingBits();
      assert.deepEqual([...w.toBuffer()], [0b11100000]);
      const a = new BitWriter();
      a.writeTrailingBits();
      assert.deepEqual([...a.toBuffer()], [0x80]);
    });
    it('alignZero adds nothing when already aligned', () => {
      const w = new BitWriter();
      w.writeBits(0xab, 8);
      w.alignZero();
      assert.equal(w.bitLength, 8);
    });
  });

  describe('#writeBytes', () => {
    it('copies aligned bytes and shifts unaligned ones', () => {
      const w = new BitWriter(2);
      w.writeBytes(Buffer.from([1, 2, 3]));
      w.writeBit(1);
      w.writeBytes(Buffer.from([0xff]));
      w.writeBits(0, 7);
      assert.equal(w.toBuffer().toString('hex'), '010203ff80');
    });
    it('grows past its initial size', () => {
      const w = new BitWriter(16);
      const data = randomBytes(100_000);
      w.writeBytes(data);
      assert.deepEqual(w.toBuffer(), data);
    });
  });

  it('toBuffer refuses an incomplete last byte', () => {
    const w = new BitWriter();
    w.writeBit(1);
    assert.throws(() => w.toBuffer(), /not byte-aligned/);
  });
});

describe('emulation prevention (H.264 §7.4.1)', () => {
  const vec: [string, string][] = [
    ['000000', '00000300'], // the output ends 03 00: no final 03 needed
    ['000001', '00000301'],
    ['000002', '00000302'],
    ['000003', '00000303'],
    ['000004', '000004'],
    ['0000000000', '00000300000300'],
    ['80000000000000', '80000003000003000003'], // ends in 00 00 after escaping: a final 03 follows
    ['11000001000002', '1100000301000003' + '02'],
    ['0000', '000003'], // final zeros would read as trailing_zero_8bits of the byte stream
    ['1100', '1100'],
    ['00ff01', '00ff01'],
  ];
  for (const [input, output] of vec) {
    it(`escapes ${input} as ${output}`, () => {
      assert.equal(addEmulationPrevention(Buffer.from(input, 'hex')).toString('hex'), output);
    });
  }

  it('returns the same buffer when nothing needs escaping (no copy of big pictures)', () => {
    const b = Buffer.from('1020304050', 'hex');
    assert.equal(addEmulationPrevention(b), b);
  });

  it('round-trips random data and leaves no 00 00 0x (x <= 3) inside', () => {
    for (let i = 0; i < 50; i++) {
      // Biased towards zeros so escapes are frequent.
      const raw = Buffer.from([...randomBytes(2000)].map((b) => (b < 160 ? 0 : b & 3)));
      const esc = addEmulationPrevention(raw);
      for (let j = 0; j + 2 < esc.length; j++) {
        if (esc[j] === 0 && esc[j + 1] === 0) assert.ok(esc[j + 2]! === 3, `00 00 ${esc[j + 2]} at ${j}`);
      }
      assert.deepEqual(removeEmulationPrevention(esc), raw);
    }
  });

  it('makeNalUnit writes forbidden_zero_bit 0, nal_ref_idc and nal_unit_type (§7.3.1)', () => {
    const nal = makeNalUnit(3, 7, Buffer.from([0, 0, 1, 0x80]));
    assert.equal(nal.toString('hex'), '670000030180');
  });
});
