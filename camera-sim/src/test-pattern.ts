/**
 * What the simulated camera shows: colour bars and a grey ramp (drawn once),
 * a box with the frame counter and the wall clock `HH:MM:SS.cc` in a built-in
 * seven-segment font, and a white block sliding back and forth so motion is
 * visible. Samples stay within 16..235 / 16..240 (BT.601 limited range).
 */
import type { MbPicture } from './mb-picture.js';

/** 75 % colour bars as BT.601 limited-range Y, Cb, Cr (white, yellow, cyan, green, magenta, red, blue, black). */
const BARS: readonly (readonly [number, number, number])[] = [
  [180, 128, 128],
  [162, 44, 142],
  [131, 156, 44],
  [112, 72, 58],
  [84, 184, 198],
  [65, 100, 212],
  [35, 212, 114],
  [16, 128, 128],
];

const TEXT_Y = 235;
const BOX_Y = 16;
const NEUTRAL = 128;

/** Seven-segment digit masks, bits a..g = 0..6 (a top, b top-right, c bottom-right, d bottom, e bottom-left, f top-left, g middle). */
const SEGMENTS = [0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f];

/** A rectangle in luma samples. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where everything goes, derived from the picture size once. */
export interface PatternLayout {
  width: number;
  height: number;
  digitW: number;
  digitH: number;
  stroke: number;
  pitch: number;
  /** The dark box behind both text lines; its macroblocks are redrawn every frame. */
  box: Rect;
  counter: { x: number; y: number };
  clock: { x: number; y: number };
  blockSize: number;
  blockY: number;
  blockStep: number;
}

export const COUNTER_DIGITS = 8;

export function makeLayout(width: number, height: number): PatternLayout {
  const digitH = Math.max(10, 2 * Math.round(height / 24)); // ~60 px at 720p
  const digitW = Math.max(6, Math.round(digitH * 0.55));
  const stroke = Math.max(2, Math.round(digitH / 9));
  const pitch = digitW + Math.max(2, Math.round(digitH / 5));
  const margin = Math.max(4, Math.round(height / 40));
  const textW = 11 * pitch; // HH:MM:SS.cc is 8 digits + 3 narrow separators, counted as whole cells for room
  const box = { x: margin, y: margin, w: textW + 2 * margin, h: 2 * digitH + 3 * margin };
  const blockSize = Math.max(8, Math.round(height / 8));
  return {
    width,
    height,
    digitW,
    digitH,
    stroke,
    pitch,
    box,
    counter: { x: box.x + margin, y: box.y + margin },
    clock: { x: box.x + margin, y: box.y + 2 * margin + digitH },
    blockSize,
    // Below the text box and inside the bars, so the block never overlaps the text.
    blockY: Math.min(height - blockSize, Math.max(box.y + box.h + margin, Math.round(height * 0.55))),
    blockStep: Math.max(2, Math.round(width / 160)), // 8 px per frame at 1280 wide
  };
}

/** Colour bars over the top two thirds, a luma ramp below; fills the coded area including crop padding. */
export function drawBackground(pic: MbPicture, width: number, height: number): void {
  const codedW = pic.widthMbs * 16;
  const codedH = pic.heightMbs * 16;
  const barsH = Math.round((height * 2) / 3);
  for (let i = 0; i < BARS.length; i++) {
    const x0 = Math.round((i * width) / BARS.length);
    const x1 = i === BARS.length - 1 ? codedW : Math.round(((i + 1) * width) / BARS.length);
    const [y, cb, cr] = BARS[i]!;
    pic.fillRect(x0, 0, x1 - x0, barsH, y, cb, cr);
  }
  // Ramp in 2-sample columns so chroma columns line up.
  for (let x = 0; x < codedW; x += 2) {
    const y = 16 + Math.round((219 * Math.min(x, width - 1)) / Math.max(1, width - 1));
    pic.fillRect(x, barsH, 2, codedH - barsH, y, NEUTRAL, NEUTRAL);
  }
}

/** Left edge of the sliding block for frame `n` (bounces between both sides). */
export function blockRect(l: PatternLayout, n: number): Rect {
  const span = Math.max(1, l.width - l.blockSize);
  const period = 2 * span;
  const p = (n * l.blockStep) % period;
  const x = p <= span ? p : period - p;
  return { x, y: l.blockY, w: l.blockSize, h: l.blockSize };
}

/** The counter text: frame number modulo 10^8, zero-padded. */
export function counterText(frameNumber: number): string {
  return String(frameNumber % 10 ** COUNTER_DIGITS).padStart(COUNTER_DIGITS, '0');
}

/** Local wall-clock time as HH:MM:SS.cc (centiseconds). */
export function clockText(epochMs: number): string {
  const d = new Date(epochMs);
  const p2 = (v: number): string => String(v).padStart(2, '0');
  return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${p2(Math.floor(d.getMilliseconds() / 10))}`;
}

/** Draws the dark text box; part of the static background, so it is drawn once. */
export function drawTextBox(pic: MbPicture, l: PatternLayout): void {
  pic.fillRect(l.box.x, l.box.y, l.box.w, l.box.h, BOX_Y, NEUTRAL, NEUTRAL);
}

/**
 * Draws both text lines and the block over a picture whose overlay
 * macroblocks were restored to the background. Everything drawn lies in
 * `l.box` or `blockRect(l, frameNumber)`.
 */
export function drawOverlays(pic: MbPicture, l: PatternLayout, frameNumber: number, epochMs: number): void {
  drawText(pic, l, l.counter.x, l.counter.y, counterText(frameNumber));
  drawText(pic, l, l.clock.x, l.clock.y, clockText(epochMs));
  const b = blockRect(l, frameNumber);
  pic.fillRect(b.x, b.y, b.w, b.h, TEXT_Y, NEUTRAL, NEUTRAL);
}

function drawText(pic: MbPicture, l: PatternLayout, x0: number, y0: number, text: string): void {
  let x = x0;
  const narrow = Math.max(l.stroke * 2, Math.round(l.pitch / 2));
  for (const ch of text) {
    if (ch >= '0' && ch <= '9') {
      drawDigit(pic, l, x, y0, SEGMENTS[ch.charCodeAt(0) - 48]!);
      x += l.pitch;
    } else if (ch === ':') {
      pic.fillRect(x, y0 + Math.round(l.digitH * 0.25), l.stroke, l.stroke, TEXT_Y);
      pic.fillRect(x, y0 + Math.round(l.digitH * 0.7), l.stroke, l.stroke, TEXT_Y);
      x += narrow;
    } else if (ch === '.') {
      pic.fillRect(x, y0 + l.digitH - l.stroke, l.stroke, l.stroke, TEXT_Y);
      x += narrow;
    }
  }
}

function drawDigit(pic: MbPicture, l: PatternLayout, x: number, y: number, mask: number): void {
  const { digitW: w, digitH: h, stroke: t } = l;
  const mid = y + Math.floor((h - t) / 2);
  const half = Math.ceil(h / 2);
  const seg = (bit: number, sx: number, sy: number, sw: number, sh: number): void => {
    if (mask & (1 << bit)) pic.fillRect(sx, sy, sw, sh, TEXT_Y);
  };
  seg(0, x, y, w, t); // a
  seg(1, x + w - t, y, t, half); // b
  seg(2, x + w - t, y + h - half, t, half); // c
  seg(3, x, y + h - t, w, t); // d
  seg(4, x, y + h - half, t, half); // e
  seg(5, x, y, t, half); // f
  seg(6, x, mid, w, t); // g
}

/**
 * Reads the frame counter back from a decoded picture: for tests that must
 * tell live video from a frozen frame, or correlate a decoded picture with
 * `encoder.frameNumber`. `plane` is any 8-bit brightness plane at the
 * stream's native size (the luma plane, or grey computed from a browser
 * canvas); each segment's centre is compared with mid-grey. Returns
 * undefined when a digit cell holds no valid seven-segment digit.
 */
export function readFrameCounter(plane: Uint8Array, width: number, height: number, stride = width): number | undefined {
  if (plane.length < stride * height) throw new RangeError(`plane has ${plane.length} bytes, need ${stride * height}`);
  const l = makeLayout(width, height);
  const { digitW: w, digitH: h, stroke: t } = l;
  const half = Math.ceil(h / 2);
  const mid = Math.floor((h - t) / 2);
  // Segment centres relative to the digit cell, in SEGMENTS bit order a..g.
  const centres: [number, number][] = [
    [w / 2, t / 2],
    [w - t / 2, half / 2],
    [w - t / 2, h - half / 2],
    [w / 2, h - t / 2],
    [t / 2, h - half / 2],
    [t / 2, half / 2],
    [w / 2, mid + t / 2],
  ];
  let value = 0;
  for (let d = 0; d < COUNTER_DIGITS; d++) {
    const x0 = l.counter.x + d * l.pitch;
    let mask = 0;
    for (let bit = 0; bit < 7; bit++) {
      const [cx, cy] = centres[bit]!;
      const x = Math.floor(x0 + cx);
      const y = Math.floor(l.counter.y + cy);
      if (x >= width || y >= height) return undefined;
      if (plane[y * stride + x]! > 128) mask |= 1 << bit;
    }
    const digit = SEGMENTS.indexOf(mask);
    if (digit < 0) return undefined;
    value = value * 10 + digit;
  }
  return value;
}
