import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RtspParser,
  getHeader,
  getHeaders,
  serializeInterleaved,
  serializeRequest,
  serializeResponse,
  type RtspFrame,
} from '../../src/rtsp/rtsp-message.js';
import { CamgateError } from '../../src/util/errors.js';

function protocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CamgateError);
    assert.equal(err.code, 'CAMGATE_RTSP_PROTOCOL');
    assert.match(err.message, pattern);
    return true;
  });
}

const OK = 'RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n';

describe('RtspParser', () => {
  describe('#push', () => {
    it('parses a response with a body (RFC 2326 §7)', () => {
      const [f] = new RtspParser().push(Buffer.from(OK));
      assert.ok(f && f.kind === 'response');
      assert.equal(f.status, 200);
      assert.equal(f.reason, 'OK');
      assert.equal(getHeader(f.headers, 'CSEQ'), '2');
      assert.equal(f.body.toString(), 'v=0\r\n');
    });

    it('parses a request (for the simulated camera)', () => {
      const [f] = new RtspParser().push(Buffer.from('OPTIONS rtsp://h/s RTSP/1.0\r\nCSeq: 1\r\n\r\n'));
      assert.ok(f && f.kind === 'request');
      assert.equal(f.method, 'OPTIONS');
      assert.equal(f.uri, 'rtsp://h/s');
    });

    it('reassembles messages and interleaved frames split at every byte (RFC 2326 §10.12)', () => {
      const rtp = Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65]);
      const stream = Buffer.concat([
        serializeInterleaved(0, rtp),
        Buffer.from(OK),
        serializeInterleaved(1, Buffer.alloc(0)),
        Buffer.from('\r\n'), // stray line end between messages
        Buffer.from(
          'RTSP/1.0 401 Unauthorized\nCSeq: 3\nWWW-Authenticate: Basic realm="a"\nWWW-Authenticate: Digest realm="a", nonce="n"\n\n',
        ),
      ]);
      const p = new RtspParser();
      const frames: RtspFrame[] = [];
      for (let i = 0; i < stream.length; i++) frames.push(...p.push(stream.subarray(i, i + 1)));
      assert.deepEqual(
        frames.map((f) => f.kind),
        ['interleaved', 'response', 'interleaved', 'response'],
      );
      const [i0, , i1, r401] = frames;
      assert.ok(i0?.kind === 'interleaved' && i0.data.equals(rtp) && i0.channel === 0);
      assert.ok(i1?.kind === 'interleaved' && i1.channel === 1 && i1.data.length === 0);
      assert.ok(r401?.kind === 'response');
      assert.equal(r401.status, 401);
      assert.equal(getHeaders(r401.headers, 'www-authenticate').length, 2);
      assert.equal(p.buffered, 0);
    });

    it('joins folded header lines', () => {
      const [f] = new RtspParser().push(Buffer.from('RTSP/1.0 200 OK\r\nPublic: OPTIONS,\r\n DESCRIBE\r\n\r\n'));
      assert.ok(f?.kind === 'response');
      assert.equal(getHeader(f.headers, 'public'), 'OPTIONS, DESCRIBE');
    });

    it('rejects binary garbage at once', () => {
      protocolError(() => new RtspParser().push(Buffer.from([0x00, 0xff, 0x13, 0x37])), /unexpected byte 0x00/);
      protocolError(() => new RtspParser().push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /malformed RTSP start line/);
      protocolError(() => new RtspParser().push(Buffer.from('rtsp/1.0 200 OK\r\n')), /unexpected byte 0x72/);
    });

    it('stays failed after an error', () => {
      const p = new RtspParser();
      protocolError(() => p.push(Buffer.from('\x01')), /unexpected byte/);
      protocolError(() => p.push(Buffer.from(OK)), /unexpected byte/);
    });

    it('rejects negative, non-numeric, conflicting and huge Content-Length', () => {
      for (const cl of ['-1', '1e3', ' ', '0x10', '99999999999']) {
        protocolError(
          () => new RtspParser().push(Buffer.from(`RTSP/1.0 200 OK\r\nContent-Length: ${cl}\r\n\r\n`)),
          /invalid Content-Length/,
        );
      }
      protocolError(
        () => new RtspParser().push(Buffer.from('RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')),
        /invalid Content-Length/,
      );
      protocolError(
        () =>
          new RtspParser({ maxBodyBytes: 1000 }).push(Buffer.from('RTSP/1.0 200 OK\r\nContent-Length: 1001\r\n\r\n')),
        /body of 1001 bytes exceeds the limit of 1000/,
      );
    });

    it('rejects an interleaved frame longer than the limit before buffering it', () => {
      const p = new RtspParser({ maxInterleavedBytes: 1500 });
      protocolError(() => p.push(Buffer.from([0x24, 0, 0x05, 0xdd])), /1501 bytes exceeds the limit of 1500/);
    });

    it('does not buffer a line without CRLF past the header limit', () => {
      const p = new RtspParser({ maxHeaderBytes: 4096 });
      assert.deepEqual(p.push(Buffer.from('RTSP/1.0 200 OK')), []); // incomplete, waits
      protocolError(() => p.push(Buffer.alloc(5000, 'A')), /start line exceeds 4096 bytes/);
    });

    it('rejects a 1 MB header line', () => {
      const p = new RtspParser();
      const huge = Buffer.concat([Buffer.from('RTSP/1.0 200 OK\r\nX-Junk: '), Buffer.alloc(1024 * 1024, 'x')]);
      protocolError(() => p.push(huge), /RTSP headers exceed 16384 bytes/);
      assert.equal(p.buffered, 0);
    });

    it('rejects malformed header lines and too many headers', () => {
      protocolError(
        () => new RtspParser().push(Buffer.from('RTSP/1.0 200 OK\r\nno colon here\r\n\r\n')),
        /malformed header line/,
      );
      protocolError(
        () => new RtspParser().push(Buffer.from('RTSP/1.0 200 OK\r\n continuation\r\n\r\n')),
        /continuation line without a header/,
      );
      const many = 'RTSP/1.0 200 OK\r\n' + 'A: b\r\n'.repeat(11) + '\r\n';
      protocolError(() => new RtspParser({ maxHeaderCount: 10 }).push(Buffer.from(many)), /more than 10 header lines/);
    });

    it('rejects an out-of-range status code', () => {
      protocolError(() => new RtspParser().push(Buffer.from('RTSP/1.0 999 Huh\r\n\r\n')), /status code 999/);
    });

    it('survives random bytes without throwing anything but CAMGATE_RTSP_PROTOCOL', () => {
      let seed = 12345;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      for (let n = 0; n < 500; n++) {
        const p = new RtspParser({ maxHeaderBytes: 1024, maxBodyBytes: 1024 });
        const prefix = n % 3 === 0 ? 'RTSP/1.0 200 OK\r\n' : n % 3 === 1 ? '$' : '';
        const bytes = Buffer.concat([Buffer.from(prefix), Buffer.from(Array.from({ length: 300 }, rnd))]);
        try {
          p.push(bytes);
        } catch (err) {
          assert.ok(err instanceof CamgateError && err.code === 'CAMGATE_RTSP_PROTOCOL', String(err));
        }
        assert.ok(p.buffered <= 1024 + 65_535 + 4);
      }
    });

    it('validates its options', () => {
      assert.throws(
        () => new RtspParser({ maxInterleavedBytes: 70_000 }),
        /maxInterleavedBytes must be an integer 1..65535/,
      );
      assert.throws(() => new RtspParser({ maxHeaderBytes: 1.5 }), RangeError);
    });
  });
});

describe('serializeRequest / serializeResponse', () => {
  it('round-trips through the parser with Content-Length added', () => {
    const req = serializeRequest('SET_PARAMETER', 'rtsp://h/s', [['CSeq', 9]], Buffer.from('a: b\r\n'));
    const [f] = new RtspParser().push(req);
    assert.ok(f?.kind === 'request');
    assert.equal(getHeader(f.headers, 'content-length'), '6');
    assert.equal(f.body.toString(), 'a: b\r\n');
    const res = serializeResponse(454, 'Session Not Found', [['CSeq', '9']]);
    const [g] = new RtspParser().push(res);
    assert.ok(g?.kind === 'response' && g.status === 454 && g.reason === 'Session Not Found');
  });

  it('refuses header injection', () => {
    assert.throws(() => serializeRequest('OPTIONS', 'rtsp://h/', [['X', 'a\r\nEvil: 1']]), /line break/);
    assert.throws(() => serializeRequest('OPTIONS', 'rtsp://h/ x', []), /without spaces/);
    assert.throws(() => serializeResponse(200, 'OK\r\nX: y', []), /line break/);
    assert.throws(() => serializeRequest('OPTIONS', 'rtsp://h/', [['Bad Name', 'v']]), /not a token/);
  });

  it('frames interleaved data and refuses what does not fit', () => {
    assert.deepEqual([...serializeInterleaved(1, Buffer.from([9]))], [0x24, 1, 0, 1, 9]);
    assert.throws(() => serializeInterleaved(256, Buffer.alloc(1)), RangeError);
    assert.throws(() => serializeInterleaved(0, Buffer.alloc(65_536)), RangeError);
  });
});
