import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnnexBSplitter, H264AccessUnitAssembler, toAnnexB } from '../../src/engine/media/index.js';

describe('Annex B (H.264 Annex B)', () => {
  const units = [Buffer.from([0x67, 1, 2]), Buffer.from([0x68, 3]), Buffer.from([0x65, 0x88, 0, 0, 3, 1, 9])];

  it('splits a byte stream into units whatever the chunking, and bounds a unit', () => {
    const stream = Buffer.concat([Buffer.from([0, 0]), toAnnexB(units), Buffer.from([0, 0, 1, 0x41, 0x9a])]);
    for (let size = 1; size <= stream.length; size++) {
      const s = new AnnexBSplitter(1024);
      const got: Buffer[] = [];
      for (let off = 0; off < stream.length; off += size) got.push(...s.push(stream.subarray(off, off + size)));
      got.push(...s.flush());
      assert.deepEqual(got, [...units, Buffer.from([0x41, 0x9a])], `chunks of ${size}`);
    }
    const s = new AnnexBSplitter(8);
    const big = toAnnexB([Buffer.alloc(100, 7), Buffer.from([0x41, 1])]);
    const got = [...s.push(big.subarray(0, 50)), ...s.push(big.subarray(50)), ...s.flush()];
    assert.deepEqual(got, [Buffer.from([0x41, 1])], 'the oversized unit is dropped, the next kept');
    assert.equal(s.oversized, 1);
  });

  it('groups units into access units at the first slice of each picture (§7.4.1.2.3)', () => {
    const a = new H264AccessUnitAssembler();
    const idr = Buffer.from([0x65, 0x88]); // first_mb_in_slice 0
    const idr2 = Buffer.from([0x65, 0x40]); // first_mb_in_slice 1: same picture
    const p = Buffer.from([0x41, 0x9a]);
    const done = [units[0]!, units[1]!, idr, idr2, p, Buffer.from([0x06, 5]), p].map((n) => a.push(n));
    assert.deepEqual(done.slice(0, 4), [undefined, undefined, undefined, undefined]);
    assert.deepEqual(done[4], [units[0], units[1], idr, idr2]);
    assert.deepEqual(done[5], [p], 'an SEI after a slice opens the next unit');
    assert.deepEqual(a.flush(), [Buffer.from([0x06, 5]), p]);
  });
});
