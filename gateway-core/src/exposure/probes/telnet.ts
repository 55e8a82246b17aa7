import type { ProbeEvidence } from '../evidence.js';
import { toPrintable } from '../printable.js';
import { ProbeConnection } from './connection.js';
import { checkHostPort, connectOrClosed, resolveProbeOptions, type ProbeOptions } from './options.js';

// RFC 854 command bytes.
const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;

/**
 * A stateful telnet stream filter: separates data from IAC commands (RFC 854)
 * across chunk boundaries and builds refusals — every DO gets WONT, every WILL
 * gets DONT — once per option (RFC 1143: never answer a request that would not
 * change state, which also bounds what a hostile server can make us send).
 */
export class TelnetFilter {
  #state: 'data' | 'iac' | 'opt' | 'sb' | 'sb-iac' = 'data';
  #verb = 0;
  readonly #refused = new Set<number>();

  /** Returns the data bytes of `chunk` and the refusals to write back. */
  feed(chunk: Buffer): { data: Buffer; reply: Buffer } {
    const data: number[] = [];
    const reply: number[] = [];
    for (const b of chunk) {
      switch (this.#state) {
        case 'data':
          if (b === IAC) this.#state = 'iac';
          else data.push(b);
          break;
        case 'iac':
          if (b === IAC) {
            data.push(IAC); // escaped 0xFF
            this.#state = 'data';
          } else if (b === DO || b === DONT || b === WILL || b === WONT) {
            this.#verb = b;
            this.#state = 'opt';
          } else if (b === SB) this.#state = 'sb';
          else this.#state = 'data'; // two-byte command (NOP, GA…): nothing to do
          break;
        case 'opt': {
          const key = (this.#verb === DO ? 0 : 256) + b;
          if ((this.#verb === DO || this.#verb === WILL) && !this.#refused.has(key)) {
            this.#refused.add(key);
            reply.push(IAC, this.#verb === DO ? WONT : DONT, b);
          }
          this.#state = 'data';
          break;
        }
        case 'sb': // subnegotiation payload is skipped until IAC SE (RFC 855)
          if (b === IAC) this.#state = 'sb-iac';
          break;
        case 'sb-iac':
          this.#state = b === SE ? 'data' : 'sb';
          break;
      }
    }
    return { data: Buffer.from(data), reply: Buffer.from(reply) };
  }
}

/** A login or shell prompt: the banner is complete, stop waiting. */
const PROMPT = /(?:login|user(?:name)?|password)\s*:\s*$|[#$>]\s*$/i;

/**
 * Reads a telnet banner for up to `readTimeoutMs` and `maxBytes`, refusing
 * every option the server asks for. Never sends a username or password: the
 * only bytes we write are IAC WONT/DONT refusals.
 */
export async function probeTelnet(host: string, port: number, options: ProbeOptions = {}): Promise<ProbeEvidence> {
  checkHostPort(host, port);
  const o = resolveProbeOptions(options);
  const conn = await connectOrClosed(host, port, 'telnet', o);
  if (!(conn instanceof ProbeConnection)) return conn;
  const at = new Date().toISOString();
  const filter = new TelnetFilter();
  const text: Buffer[] = [];
  let textLen = 0;
  let commands = false;
  let rawLen = 0;
  try {
    const res = await conn.read(
      (buf) => {
        // Consume everything as it arrives so the filter sees each byte once.
        if (buf.length === 0) return undefined;
        rawLen += buf.length;
        const { data, reply } = filter.feed(buf);
        if (reply.length) {
          commands = true;
          conn.write(reply);
        }
        if (data.length < buf.length) commands = true;
        text.push(data);
        textLen += data.length;
        conn.consume(buf.length);
        // A stream of bare commands (IAC NOP…) is bounded too: 4× the data limit.
        if (textLen >= o.maxBytes || rawLen >= 4 * o.maxBytes) return 0;
        return PROMPT.test(Buffer.concat(text).toString('latin1')) ? 0 : undefined;
      },
      { timeoutMs: o.readTimeoutMs, maxBytes: o.maxBytes, signal: o.signal },
    );
    const all = Buffer.concat(text).subarray(0, o.maxBytes);
    const ev: ProbeEvidence = {
      host,
      port,
      protocol: 'telnet',
      open: true,
      detail:
        all.length === 0
          ? `no banner (${res.end === 'complete' ? 'empty' : res.end})`
          : PROMPT.test(all.toString('latin1'))
            ? 'login prompt'
            : `banner (${res.end === 'complete' ? 'limit' : res.end})`,
      facts: { negotiation: commands },
      at,
    };
    if (all.length) ev.banner = toPrintable(all, o.maxBannerChars);
    return ev;
  } finally {
    conn.close();
  }
}
