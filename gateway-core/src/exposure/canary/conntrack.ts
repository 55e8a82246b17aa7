import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { isIP } from 'node:net';
import { CamgateError } from '../../util/index.js';

/**
 * Reading the kernel's connection tracking table, where camgate runs on the
 * router: `conntrack -L -o xml` (conntrack-tools) or `/proc/net/nf_conntrack`
 * (present on OpenWrt without conntrack-tools). Read-only, argument arrays,
 * bounded output and a bounded parser: a scanning camera can fill the table
 * with tens of thousands of entries, and we must not hold them all.
 */

/** One tracked connection, in its original direction (who opened it). */
export interface ConntrackFlow {
  protocol: 'tcp' | 'udp' | 'other';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP state (`SYN_SENT`, `ESTABLISHED`…), when the kernel gives one. */
  state?: string;
  /** No packet came back (a scan of an address that does not answer). */
  unreplied: boolean;
}

export interface ConntrackReadOptions {
  /** `conntrack`: run conntrack-tools; `proc`: read /proc/net/nf_conntrack. */
  source?: 'conntrack' | 'proc';
  /** The conntrack binary. */
  binary?: string;
  /** The proc file (tests point it elsewhere). */
  procPath?: string;
  /** Bytes of output read at most; the rest is not read (the flows before the cut are kept). */
  maxBytes?: number;
  /** Flows parsed at most. */
  maxFlows?: number;
  /** A read that takes longer fails, ms. */
  timeoutMs?: number;
}

export const DEFAULT_CONNTRACK_READ_OPTIONS = {
  source: 'conntrack',
  binary: 'conntrack',
  procPath: '/proc/net/nf_conntrack',
  maxBytes: 16 * 1024 * 1024, // 16 MiB: ~24,000 XML flows, more than a home router's default table of 16,384
  maxFlows: 50_000, // flows
  timeoutMs: 10_000, // 10 s
} as const;

const FLOW_RE = /<flow>([\s\S]*?)<\/flow>/g;
const ORIGINAL_RE =
  /<meta direction="original"><layer3 [^>]*><src>([^<]{1,64})<\/src><dst>([^<]{1,64})<\/dst><\/layer3><layer4 [^>]*protoname="([a-z0-9]{1,16})"[^>]*>(?:<sport>(\d{1,5})<\/sport><dport>(\d{1,5})<\/dport>)?/;
const STATE_RE = /<state>([A-Z_]{1,20})<\/state>/;

function protocolOf(name: string): ConntrackFlow['protocol'] {
  return name === 'tcp' || name === 'udp' ? name : 'other';
}

function validFlow(f: ConntrackFlow): boolean {
  return isIP(f.src) !== 0 && isIP(f.dst) !== 0 && f.sport <= 65535 && f.dport <= 65535;
}

/** Parses `conntrack -L -o xml` output; stops after `maxFlows`; skips flows it cannot read (never throws). */
export function parseConntrackXml(
  xml: string,
  maxFlows: number = DEFAULT_CONNTRACK_READ_OPTIONS.maxFlows,
): ConntrackFlow[] {
  const out: ConntrackFlow[] = [];
  FLOW_RE.lastIndex = 0;
  for (let m = FLOW_RE.exec(xml); m && out.length < maxFlows; m = FLOW_RE.exec(xml)) {
    const body = m[1]!;
    if (body.length > 4096) continue; // a real flow is < 1 KB
    const o = ORIGINAL_RE.exec(body);
    if (!o) continue;
    const f: ConntrackFlow = {
      protocol: protocolOf(o[3]!),
      src: o[1]!,
      dst: o[2]!,
      sport: Number(o[4] ?? 0),
      dport: Number(o[5] ?? 0),
      unreplied: body.includes('<unreplied/>'),
    };
    const st = STATE_RE.exec(body);
    if (st) f.state = st[1]!;
    if (validFlow(f)) out.push(f);
  }
  return out;
}

/**
 * Parses /proc/net/nf_conntrack lines:
 * `ipv4 2 tcp 6 117 SYN_SENT src=A dst=B sport=P dport=Q [UNREPLIED] src=B dst=A …`.
 * The first `src=`/`dst=`/`sport=`/`dport=` are the original direction.
 */
export function parseProcConntrack(
  text: string,
  maxFlows: number = DEFAULT_CONNTRACK_READ_OPTIONS.maxFlows,
): ConntrackFlow[] {
  const out: ConntrackFlow[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= maxFlows) break;
    if (line.length === 0 || line.length > 1024) continue;
    const words = line.trim().split(/\s+/);
    const proto = words[2] ?? '';
    const field = (k: string): string | undefined => words.find((w) => w.startsWith(`${k}=`))?.slice(k.length + 1);
    const src = field('src');
    const dst = field('dst');
    if (!src || !dst) continue;
    const state = words[5] && /^[A-Z_]+$/.test(words[5]) ? words[5] : undefined;
    const f: ConntrackFlow = {
      protocol: protocolOf(proto),
      src,
      dst,
      sport: Number(field('sport') ?? 0),
      dport: Number(field('dport') ?? 0),
      unreplied: words.includes('[UNREPLIED]'),
    };
    if (state && f.protocol === 'tcp') f.state = state;
    if (Number.isInteger(f.sport) && Number.isInteger(f.dport) && validFlow(f)) out.push(f);
  }
  return out;
}

/** Keeps the text up to the last complete record before `max` bytes. */
function cut(text: string, truncated: boolean, marker: string): string {
  if (!truncated) return text;
  const end = text.lastIndexOf(marker);
  return end >= 0 ? text.slice(0, end + marker.length) : '';
}

/** Reads the table once. Rejects with CAMGATE_CONNTRACK when it cannot be read (not root, not installed, timeout). */
export async function readConntrack(options: ConntrackReadOptions = {}): Promise<ConntrackFlow[]> {
  const d = DEFAULT_CONNTRACK_READ_OPTIONS;
  const o = { ...d, ...options };
  if (o.source !== 'conntrack' && o.source !== 'proc')
    throw new RangeError(`conntrack option source must be 'conntrack' or 'proc', got ${JSON.stringify(o.source)}`);
  for (const k of ['maxBytes', 'maxFlows', 'timeoutMs'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`conntrack option ${k} must be an integer >= 1`);
  }
  if (o.source === 'proc') {
    let fh;
    try {
      fh = await open(o.procPath, 'r');
    } catch (err) {
      throw new CamgateError(
        'CAMGATE_CONNTRACK',
        `cannot read ${o.procPath}: ${(err as NodeJS.ErrnoException).code ?? ''} (needs root or CAP_NET_ADMIN, and the nf_conntrack module)`,
        { cause: err },
      );
    }
    try {
      const buf = Buffer.alloc(o.maxBytes);
      let got = 0;
      // /proc files report size 0: read until EOF or the limit.
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got >= buf.length) break;
      }
      return parseProcConntrack(cut(buf.subarray(0, got).toString('utf8'), got >= buf.length, '\n'), o.maxFlows);
    } finally {
      await fh.close();
    }
  }
  // -p tcp: the detector looks at TCP only, and it keeps the output small on a router full of UDP flows.
  const xml = await runBounded(o.binary, ['-L', '-p', 'tcp', '-o', 'xml'], o.maxBytes, o.timeoutMs);
  return parseConntrackXml(cut(xml.text, xml.truncated, '</flow>'), o.maxFlows);
}

function runBounded(
  cmd: string,
  args: string[],
  maxBytes: number,
  timeoutMs: number,
): Promise<{ text: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let got = 0;
    let truncated = false;
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CamgateError('CAMGATE_CONNTRACK', `${cmd} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (truncated) return;
      const room = maxBytes - got;
      chunks.push(d.length > room ? d.subarray(0, room) : d);
      got += Math.min(d.length, room);
      if (got >= maxBytes) {
        truncated = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new CamgateError(
          'CAMGATE_CONNTRACK',
          `cannot run ${cmd}: ${err.code ?? err.message} (install conntrack-tools, or use source: proc)`,
          { cause: err },
        ),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 && !truncated) {
        reject(
          new CamgateError(
            'CAMGATE_CONNTRACK',
            `${cmd} ${args.join(' ')} exited with ${String(code)}: ${stderr.trim().slice(0, 300)} (it needs root or CAP_NET_ADMIN)`,
          ),
        );
        return;
      }
      resolve({ text: Buffer.concat(chunks).toString('utf8'), truncated });
    });
  });
}
