/**
 * Defence in depth on the way back to the hub: even though the policy
 * refuses every operation known to echo a URI, anything the backend sends
 * (results, error messages, event data) is scrubbed of the real camera URLs
 * and their credentials before it leaves the gateway.
 */
import type { JsonValue } from './jsonrpc.js';
import { redactString, REDACTED } from '../util/index.js';

/** Passwords shorter than this are not replaced on their own (they would corrupt SDP numbers); the full URI and `user:pass@` still are. */
const MIN_BARE_SECRET = 8;
const MAX_DEPTH = 64;

/** The real camera URLs handed out so far and what to put in their place. */
export class CameraUriRegistry {
  /** real → replacement, longest first when applied. */
  readonly #replacements = new Map<string, string>();
  /** Registering more than this many distinct URIs is a sign of abuse; the oldest are forgotten. */
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  /** Remembers `realUri` (for camera `cameraId`) so every form of it can be replaced. */
  add(cameraId: string, realUri: string): void {
    const placeholder = `camera://${cameraId}`;
    const forms = new Map<string, string>([[realUri, placeholder]]);
    try {
      const u = new URL(realUri);
      const user = u.username;
      const pass = u.password;
      for (const [enc, dec] of [
        [user, safeDecode(user)],
        [pass, safeDecode(pass)],
      ] as const) {
        if (dec.length >= MIN_BARE_SECRET) forms.set(dec, REDACTED);
        if (enc.length >= MIN_BARE_SECRET) forms.set(enc, REDACTED);
      }
      if (user || pass) {
        forms.set(`${user}:${pass}@`, `${REDACTED}@`);
        forms.set(`${safeDecode(user)}:${safeDecode(pass)}@`, `${REDACTED}@`);
      }
      // GStreamer and JSON may escape slashes.
      forms.set(realUri.replaceAll('/', '\\/'), placeholder);
    } catch {
      // Not a parseable URL: the literal form above is still replaced.
    }
    for (const [k, v] of forms) {
      if (k.length === 0) continue;
      this.#replacements.delete(k);
      this.#replacements.set(k, v);
    }
    while (this.#replacements.size > this.#max) {
      const oldest = this.#replacements.keys().next().value as string;
      this.#replacements.delete(oldest);
    }
  }

  /** Replaces every known form, then strips credentials from any other URL (`scheme://user:pass@`). */
  scrubString(s: string): string {
    let out = s;
    const keys = [...this.#replacements.keys()].sort((a, b) => b.length - a.length);
    for (const k of keys) {
      if (out.includes(k)) out = out.split(k).join(this.#replacements.get(k)!);
    }
    return redactString(out);
  }

  /** A deep copy of `value` with every string scrubbed. */
  scrub<T extends JsonValue>(value: T, depth = 0): T {
    if (typeof value === 'string') return this.scrubString(value) as T;
    if (value === null || typeof value !== 'object') return value;
    // Deeper than anything parseMessage accepts: drop rather than recurse without bound.
    if (depth > MAX_DEPTH) return null as T;
    if (Array.isArray(value)) return value.map((v) => this.scrub(v, depth + 1)) as T;
    const out: { [k: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key must stay a plain key.
      Object.defineProperty(out, this.scrubString(k), {
        value: this.scrub(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out as T;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
