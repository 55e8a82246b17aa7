/**
 * Chromium's own H.264 decoder (WebCodecs, the same FFmpeg-based decoder its
 * WebRTC stack uses) must reproduce the simulated camera's pictures exactly,
 * across an IDR, P pictures and the next GOP. Chromium is Debian's, driven by
 * playwright-core; the page is served from 127.0.0.1 (a secure context).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { H264TestPatternEncoder, readFrameCounter } from '../src/index.js';
import { launchChromium, servePage } from '@camgate/test-helpers';
import { annexB } from './helpers/rtsp-sim.js';

/** Runs in the page: decodes Annex B chunks, returns each frame's format and luma plane as base64. */
const DECODE_IN_PAGE = `async ({ chunks, codec, width, height }) => {
  const support = await VideoDecoder.isConfigSupported({ codec, optimizeForLatency: true });
  const frames = [];
  let error = '';
  const pending = [];
  const dec = new VideoDecoder({
    output: (f) => {
      const buf = new Uint8Array(f.allocationSize());
      const idx = frames.push(null) - 1; // keep output order; copyTo resolves asynchronously
      pending.push(f.copyTo(buf).then((layout) => {
        const y = new Uint8Array(width * height);
        for (let r = 0; r < height; r++) y.set(buf.subarray(layout[0].offset + r * layout[0].stride, layout[0].offset + r * layout[0].stride + width), r * width);
        let s = ''; for (let i = 0; i < y.length; i += 8192) s += String.fromCharCode(...y.subarray(i, i + 8192));
        frames[idx] = { format: f.format, w: f.codedWidth, h: f.displayHeight, luma: btoa(s) };
        f.close();
      }));
    },
    error: (e) => { error = String(e); },
  });
  dec.configure({ codec, optimizeForLatency: true });
  chunks.forEach((c, i) => {
    const data = Uint8Array.from(atob(c.data), (ch) => ch.charCodeAt(0));
    dec.decode(new EncodedVideoChunk({ type: c.key ? 'key' : 'delta', timestamp: i * 40000, data }));
  });
  await dec.flush().catch((e) => { error = error || String(e); });
  await Promise.all(pending);
  dec.close();
  return { supported: support.supported, error, frames };
}`;

interface PageResult {
  supported: boolean;
  error: string;
  frames: { format: string; w: number; h: number; luma: string }[];
}

describe('H264TestPatternEncoder in Chromium', () => {
  it('WebCodecs decodes IDR and P pictures bit-exactly, with the right counter', { timeout: 60_000 }, async (t) => {
    const width = 640;
    const height = 360;
    const enc = new H264TestPatternEncoder({ width, height, gopFrames: 6 });
    const chunks: { key: boolean; data: string }[] = [];
    for (let i = 0; i < 9; i++) {
      const p = enc.encode();
      const nalus = p.keyframe ? [enc.sps, enc.pps, ...p.nalus] : p.nalus;
      chunks.push({ key: p.keyframe, data: annexB(nalus).toString('base64') });
    }
    const page = await servePage('<!doctype html><title>decode</title>');
    t.after(() => page.close());
    const browser = await launchChromium();
    t.after(() => browser.close());
    const tab = await browser.newPage();
    await tab.goto(page.url);
    const args = JSON.stringify({ chunks, codec: `avc1.${enc.profileLevelId}`, width, height });
    const r = (await tab.evaluate(`(${DECODE_IN_PAGE})(${args})`)) as PageResult;
    assert.equal(r.supported, true, 'Chromium does not support avc1.42e01f');
    assert.equal(r.error, '');
    assert.equal(r.frames.length, 9);
    assert.equal(r.frames[0]!.format, 'I420');
    assert.equal(r.frames[0]!.h, height); // cropping applied (368 coded lines)
    const lumas = r.frames.map((f) => Buffer.from(f.luma, 'base64'));
    lumas.forEach((y, i) => assert.equal(readFrameCounter(y, width, height), i));
    const last = lumas[8]!;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (last[y * width + x] !== enc.lumaAt(x, y))
          assert.fail(`luma (${x},${y}) ${last[y * width + x]} != ${enc.lumaAt(x, y)}`);
      }
    }
  });
});
