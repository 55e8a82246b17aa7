/**
 * Banners come from hostile or broken hosts: anything we keep is bounded and
 * turned into printable ASCII so logs, MQTT payloads and the UI never carry
 * control characters, escape sequences or invalid UTF-8.
 */

/** Default limit for a banner kept as evidence (characters after escaping). */
export const MAX_BANNER_CHARS = 512;

/**
 * Escapes `input` to printable ASCII: 0x20–0x7E are kept (backslash doubled),
 * `\r`, `\n`, `\t` are written as such, every other byte as `\xNN`. Output is cut
 * at `maxChars` with a `…[+N bytes]` marker naming what was dropped.
 */
export function toPrintable(input: Buffer | string, maxChars = MAX_BANNER_CHARS): string {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let out = '';
  let i = 0;
  for (; i < buf.length; i++) {
    const b = buf[i] as number;
    let piece: string;
    if (b === 0x5c) piece = '\\\\';
    else if (b >= 0x20 && b <= 0x7e) piece = String.fromCharCode(b);
    else if (b === 0x0d) piece = '\\r';
    else if (b === 0x0a) piece = '\\n';
    else if (b === 0x09) piece = '\\t';
    else piece = `\\x${b.toString(16).padStart(2, '0')}`;
    if (out.length + piece.length > maxChars) break;
    out += piece;
  }
  if (i < buf.length) out += `…[+${buf.length - i} bytes]`;
  return out;
}

/** A single header or title value: printable, whitespace collapsed, bounded. */
export function cleanText(s: string, maxChars = 200): string {
  return toPrintable(s.replace(/\s+/g, ' ').trim(), maxChars);
}
