/**
 * A minimal TURN client for tests: one Allocate (RFC 8656 §7.1) with the
 * long-term credential mechanism (RFC 8489 §9.2), over UDP. Enough to tell
 * whether a TURN server accepts a username/credential pair, and why not.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

const MAGIC = 0x2112a442; // RFC 8489 §5
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
} as const;

export type AllocateResult =
  { ok: true; relayed: { address: string; port: number } } | { ok: false; code: number; reason: string };

interface Attr {
  type: number;
  value: Buffer;
}

function encode(type: number, txid: Buffer, attrs: Attr[], integrityKey?: Buffer): Buffer {
  const body: Buffer[] = [];
  for (const a of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(a.type, 0);
    h.writeUInt16BE(a.value.length, 2);
    body.push(h, a.value, Buffer.alloc((4 - (a.value.length % 4)) % 4));
  }
  let payload = Buffer.concat(body);
  const header = (len: number): Buffer => {
    const b = Buffer.alloc(20);
    b.writeUInt16BE(type, 0);
    b.writeUInt16BE(len, 2);
    b.writeUInt32BE(MAGIC, 4);
    txid.copy(b, 8);
    return b;
  };
  if (integrityKey) {
    // RFC 8489 §14.5: the HMAC covers the message with its length already counting the 24-byte attribute.
    const mac = createHmac('sha1', integrityKey)
      .update(Buffer.concat([header(payload.length + 24), payload]))
      .digest();
    const h = Buffer.alloc(4);
    h.writeUInt16BE(ATTR.MESSAGE_INTEGRITY, 0);
    h.writeUInt16BE(20, 2);
    payload = Buffer.concat([payload, h, mac]);
  }
  return Buffer.concat([header(payload.length), payload]);
}

function decode(msg: Buffer): { type: number; txid: Buffer; attrs: Map<number, Buffer> } | undefined {
  if (msg.length < 20 || msg.readUInt32BE(4) !== MAGIC) return undefined;
  const len = msg.readUInt16BE(2);
  if (20 + len > msg.length) return undefined;
  const attrs = new Map<number, Buffer>();
  let off = 20;
  while (off + 4 <= 20 + len) {
    const type = msg.readUInt16BE(off);
    const alen = msg.readUInt16BE(off + 2);
    if (off + 4 + alen > 20 + len) return undefined;
    if (!attrs.has(type)) attrs.set(type, msg.subarray(off + 4, off + 4 + alen));
    off += 4 + alen + ((4 - (alen % 4)) % 4);
  }
  return { type: msg.readUInt16BE(0), txid: msg.subarray(8, 20), attrs };
}

function errorOf(attrs: Map<number, Buffer>): { code: number; reason: string } {
  const e = attrs.get(ATTR.ERROR_CODE);
  if (!e || e.length < 4) return { code: 0, reason: 'no ERROR-CODE' };
  // RFC 8489 §14.8: class in the low 3 bits of byte 2, number in byte 3.
  return { code: (e[2]! & 0x07) * 100 + e[3]!, reason: e.subarray(4).toString('utf8') };
}

/** Asks `host:port` for a UDP relay with `username`/`credential`; resolves with the relayed address or the error. */
export async function turnAllocate(opts: {
  host: string;
  port: number;
  username: string;
  credential: string;
  timeoutMs?: number;
}): Promise<AllocateResult> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const transport: Attr = { type: ATTR.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) }; // UDP, RFC 8656 §18.11
  const ask = (msg: Buffer, txid: Buffer): Promise<ReturnType<typeof decode>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no TURN answer from ${opts.host}:${opts.port}`)),
        opts.timeoutMs ?? 3_000,
      );
      const onMessage = (m: Buffer): void => {
        const d = decode(m);
        if (!d || !d.txid.equals(txid)) return;
        clearTimeout(timer);
        sock.off('message', onMessage);
        resolve(d);
      };
      sock.on('message', onMessage);
      sock.send(msg, opts.port, opts.host);
    });
  try {
    // 1st Allocate without credentials: the server answers 401 with REALM and NONCE (RFC 8489 §9.2.3).
    const tx1 = randomBytes(12);
    const first = await ask(encode(ALLOCATE_REQUEST, tx1, [transport]), tx1);
    if (!first || first.type !== ALLOCATE_ERROR) return { ok: false, code: 0, reason: 'unexpected first answer' };
    const err1 = errorOf(first.attrs);
    const realm = first.attrs.get(ATTR.REALM);
    const nonce = first.attrs.get(ATTR.NONCE);
    if (err1.code !== 401 || !realm || !nonce) return { ok: false, ...err1 };
    // RFC 8489 §9.2.2: key = MD5(username ":" realm ":" password).
    const key = createHash('md5')
      .update(`${opts.username}:${realm.toString('utf8')}:${opts.credential}`)
      .digest();
    const tx2 = randomBytes(12);
    const second = await ask(
      encode(
        ALLOCATE_REQUEST,
        tx2,
        [
          transport,
          { type: ATTR.USERNAME, value: Buffer.from(opts.username, 'utf8') },
          { type: ATTR.REALM, value: realm },
          { type: ATTR.NONCE, value: nonce },
        ],
        key,
      ),
      tx2,
    );
    if (!second) return { ok: false, code: 0, reason: 'undecodable answer' };
    if (second.type === ALLOCATE_SUCCESS) {
      const x = second.attrs.get(ATTR.XOR_RELAYED_ADDRESS);
      if (!x || x.length < 8) return { ok: false, code: 0, reason: 'success without XOR-RELAYED-ADDRESS' };
      // RFC 8489 §14.2: port XOR the cookie's high 16 bits, IPv4 XOR the cookie.
      const port = x.readUInt16BE(2) ^ (MAGIC >>> 16);
      const ip = (x.readUInt32BE(4) ^ MAGIC) >>> 0;
      return { ok: true, relayed: { address: [24, 16, 8, 0].map((s) => (ip >>> s) & 255).join('.'), port } };
    }
    return { ok: false, ...errorOf(second.attrs) };
  } finally {
    sock.close();
  }
}
