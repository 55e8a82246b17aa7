/**
 * sendDatagram: on two real werift ICE agents connected over 127.0.0.1 (so
 * the parts of werift it reads are checked against the werift we ship), and
 * on stand-ins for the cases a loopback pair cannot show.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { sendDatagram } from '../../src/engine/media/ice-datagram.js';
import { connectedPair } from '../helpers/ice-pair.js';

const noError = (err: unknown): void => assert.fail(`unexpected send error: ${String(err)}`);

describe('sendDatagram', () => {
  it("sends on a werift host pair's socket, with werift's pair counters", { timeout: 20_000 }, async (t) => {
    const { a, b } = await connectedPair();
    t.after(() => Promise.all([a.close(), b.close()]));
    const got: Buffer[] = [];
    b.onData.subscribe((d) => got.push(d));
    const pair = a.nominated!;
    const before = pair.packetsSent;
    const sent = [Buffer.from([0x80, 1, 2, 3]), Buffer.from([0x80, 4, 5])];
    // werift's class declares canSendApplicationData private; the engine reaches it through werift's interface type.
    const iceOfA = a as unknown as Parameters<typeof sendDatagram>[0];
    for (const d of sent) assert.equal(sendDatagram(iceOfA, d, noError), 'socket');
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, sent, 'the other agent receives them as application data');
    assert.equal(pair.packetsSent, before + 2);
  });

  it('drops what werift would not send: no consent, socket closed', async (t) => {
    const rx = createSocket('udp4');
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    t.after(() => rx.close());
    const tx = createSocket('udp4');
    tx.bind(0, '127.0.0.1');
    await once(tx, 'listening');
    let consent = false;
    const viaWerift: Buffer[] = [];
    const conn = {
      send: (d: Buffer) => {
        viaWerift.push(d);
        return Promise.resolve();
      },
      canSendApplicationData: () => consent,
      nominated: {
        protocol: { type: 'stun', transport: { closed: false, socket: tx as Socket | undefined } },
        remoteAddr: ['127.0.0.1', rx.address().port] as const,
        packetsSent: 0,
        bytesSent: 0,
      },
    };
    assert.equal(sendDatagram(conn, Buffer.from('x'), noError), 'dropped', 'RFC 7675: no consent, no media');
    consent = true;
    const received = once(rx, 'message');
    assert.equal(sendDatagram(conn, Buffer.from('y'), noError), 'socket');
    assert.equal(((await received) as [Buffer])[0].toString(), 'y');
    conn.nominated.protocol.transport.closed = true;
    assert.equal(sendDatagram(conn, Buffer.from('z'), noError), 'dropped');
    conn.nominated.protocol.transport.closed = false;
    tx.close();
    const errors: unknown[] = [];
    assert.equal(
      sendDatagram(conn, Buffer.from('w'), (e) => errors.push(e)),
      'dropped',
    );
    assert.equal(errors.length, 1, 'a socket closed under werift is reported, not thrown');
    assert.deepEqual(viaWerift, []);
    assert.equal(conn.nominated.packetsSent, 1);
  });

  it("leaves TURN pairs, host names and unknown shapes to werift's send", async (t) => {
    const socket = createSocket('udp4'); // never bound: nothing may be sent on it
    t.after(() => socket.close());
    const viaWerift: string[] = [];
    const conn = (protocolType: string, host: string, withCheck = true) => ({
      send: (d: Buffer) => {
        viaWerift.push(d.toString());
        return Promise.reject(new Error('werift says no'));
      },
      ...(withCheck ? { canSendApplicationData: () => true } : {}),
      nominated: {
        protocol: { type: protocolType, transport: { socket } },
        remoteAddr: [host, 5000] as const,
        packetsSent: 0,
        bytesSent: 0,
      },
    });
    const errors: unknown[] = [];
    const onError = (e: unknown): number => errors.push(e);
    assert.equal(sendDatagram(conn('turn', '127.0.0.1'), Buffer.from('relay'), onError), 'werift');
    assert.equal(sendDatagram(conn('stun', 'camera.local'), Buffer.from('name'), onError), 'werift');
    assert.equal(sendDatagram(conn('stun', '127.0.0.1', false), Buffer.from('shape'), onError), 'werift');
    assert.equal(sendDatagram({ send: conn('stun', '127.0.0.1').send }, Buffer.from('none'), onError), 'werift');
    assert.deepEqual(viaWerift, ['relay', 'name', 'shape', 'none']);
    await new Promise((r) => setImmediate(r));
    assert.equal(errors.length, 4, "werift's rejections reach onError");
  });
});
