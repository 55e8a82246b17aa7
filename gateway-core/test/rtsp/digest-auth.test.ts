import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  basicAuthorization,
  chooseChallenge,
  computeDigestResponse,
  digestAuthorization,
  digestResponse,
  parseDigestCredentials,
  parseWwwAuthenticate,
} from '../../src/rtsp/digest-auth.js';

// RFC 2617 §3.5: the worked example.
const RFC2617_CHALLENGE =
  'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

const RFC2617_PARSED = () => parseWwwAuthenticate([RFC2617_CHALLENGE])[0]!;

describe('parseWwwAuthenticate', () => {
  it('reads the RFC 2617 §3.5 challenge', () => {
    const [c] = parseWwwAuthenticate([RFC2617_CHALLENGE]);
    assert.ok(c);
    assert.equal(c.scheme, 'Digest');
    assert.equal(c.params.get('realm'), 'testrealm@host.com');
    assert.equal(c.params.get('qop'), 'auth,auth-int');
    assert.equal(c.params.get('nonce'), 'dcd98b7102dd2f0e8b11d0f600bfb0c093');
  });

  it('splits several challenges in one value and unescapes quoted strings', () => {
    const cs = parseWwwAuthenticate(['Digest realm="a \\"b\\"", nonce=abc, stale=TRUE, Basic realm="x"']);
    assert.deepEqual(
      cs.map((c) => c.scheme),
      ['Digest', 'Basic'],
    );
    assert.equal(cs[0]!.params.get('realm'), 'a "b"');
    assert.equal(cs[0]!.params.get('nonce'), 'abc');
    assert.equal(cs[1]!.params.get('realm'), 'x');
  });

  it('survives malformed values', () => {
    assert.deepEqual(parseWwwAuthenticate(['', '=', 'realm="x"', '"""', ',,,']), []);
    const [c] = parseWwwAuthenticate(['Digest realm="unterminated']);
    assert.equal(c?.params.size, 0);
    parseWwwAuthenticate(['Digest ' + 'a=b, '.repeat(100_000)]); // bounded, does not hang
  });
});

describe('digestResponse', () => {
  it('matches RFC 2617 §3.5 (qop=auth, MD5)', () => {
    const [challenge] = parseWwwAuthenticate([RFC2617_CHALLENGE]);
    const response = digestResponse({
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      challenge: challenge!,
      qop: 'auth',
      nc: 1,
      cnonce: '0a4f113b',
    });
    assert.equal(response, '6629fae49393a05397450978507c4ef1');
  });

  it('matches RFC 7616 §3.9.1 (SHA-256)', () => {
    const [challenge] = parseWwwAuthenticate([
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    ]);
    const response = digestResponse({
      username: 'Mufasa',
      password: 'Circle of Life',
      method: 'GET',
      uri: '/dir/index.html',
      challenge: challenge!,
      qop: 'auth',
      nc: 1,
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    });
    assert.equal(response, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });
});

describe('computeDigestResponse', () => {
  const RFC2617 = {
    algorithm: 'MD5',
    username: 'Mufasa',
    password: 'Circle Of Life',
    realm: 'testrealm@host.com',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    method: 'GET',
    uri: '/dir/index.html',
    cnonce: '0a4f113b',
  } as const;

  it('recomputes the RFC 2617 §3.5 response from the fields a server received', () => {
    assert.equal(
      computeDigestResponse({ ...RFC2617, qop: 'auth', nc: '00000001' }),
      '6629fae49393a05397450978507c4ef1',
    );
  });

  it('hashes nc exactly as it came on the wire (a server must not renormalise it)', () => {
    const lower = computeDigestResponse({ ...RFC2617, qop: 'auth', nc: '0000000a' });
    assert.notEqual(computeDigestResponse({ ...RFC2617, qop: 'auth', nc: '0000000A' }), lower);
    assert.equal(digestResponse({ ...RFC2617, challenge: RFC2617_PARSED(), qop: 'auth', nc: 10 }), lower);
  });
});

describe('digestAuthorization', () => {
  it('builds the RFC 2617 §3.5 Authorization header', () => {
    const [challenge] = parseWwwAuthenticate([RFC2617_CHALLENGE]);
    const h = digestAuthorization({
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      challenge: challenge!,
      nc: 1,
      cnonce: '0a4f113b',
    });
    assert.equal(
      h,
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001, cnonce="0a4f113b"',
    );
  });

  it('omits qop, nc and cnonce when the server offers no qop (RFC 2069 mode)', () => {
    const [challenge] = parseWwwAuthenticate(['Digest realm="IP Camera", nonce="abc123"']);
    const h = digestAuthorization({
      username: 'u',
      password: 'p',
      method: 'DESCRIBE',
      uri: 'rtsp://h/s',
      challenge: challenge!,
    });
    assert.ok(h);
    assert.doesNotMatch(h, /qop|nc=|cnonce/);
    // MD5(MD5("u:IP Camera:p"):abc123:MD5("DESCRIBE:rtsp://h/s")) computed independently.
    assert.match(h, /response="[0-9a-f]{32}"/);
  });

  it('refuses auth-int-only and unknown algorithms', () => {
    const [intOnly] = parseWwwAuthenticate(['Digest realm="r", nonce="n", qop="auth-int"']);
    const [sha512] = parseWwwAuthenticate(['Digest realm="r", nonce="n", algorithm=SHA-512-256']);
    const base = { username: 'u', password: 'p', method: 'OPTIONS', uri: '*' };
    assert.equal(digestAuthorization({ ...base, challenge: intOnly! }), undefined);
    assert.equal(digestAuthorization({ ...base, challenge: sha512! }), undefined);
  });
});

describe('chooseChallenge / basicAuthorization', () => {
  it('prefers SHA-256 Digest, then MD5 Digest, then Basic', () => {
    const cs = parseWwwAuthenticate([
      'Basic realm="r"',
      'Digest realm="r", nonce="1"',
      'Digest realm="r", nonce="2", algorithm=SHA-256',
    ]);
    assert.equal(chooseChallenge(cs)?.params.get('nonce'), '2');
    assert.equal(chooseChallenge(cs.slice(0, 2))?.params.get('nonce'), '1');
    assert.equal(chooseChallenge(cs.slice(0, 1))?.scheme, 'Basic');
    assert.equal(chooseChallenge(parseWwwAuthenticate(['Negotiate abc'])), undefined);
  });

  it('encodes Basic credentials (RFC 7617 §2)', () => {
    assert.equal(basicAuthorization('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });
});

describe('parseDigestCredentials', () => {
  // RFC 7616 §3.4: what a server reads from `Authorization: Digest …`.
  it('parses quoted and unquoted values, with escaped quotes', () => {
    const p = parseDigestCredentials('Digest username="a\\"b", qop=auth, nc=00000001, uri="rtsp://h:1/s"');
    assert.equal(p?.get('username'), 'a"b');
    assert.equal(p?.get('qop'), 'auth');
    assert.equal(p?.get('uri'), 'rtsp://h:1/s');
  });
  it('returns undefined for other schemes, unterminated quotes and oversized input', () => {
    assert.equal(parseDigestCredentials('Basic abc'), undefined);
    assert.equal(parseDigestCredentials('Digest a="b'), undefined);
    assert.equal(parseDigestCredentials(`Digest a="${'b'.repeat(5000)}"`), undefined);
  });
});
