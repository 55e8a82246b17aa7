import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateGatewayId, generateSecret, hashSecret, verifySecret } from '../../src/tunnel/index.js';

describe('gateway secrets', () => {
  it('hashes to a self-describing scrypt string that verifies the right secret only', async () => {
    const secret = generateSecret();
    const stored = await hashSecret(secret);
    assert.match(stored, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(stored.includes(secret), false);
    assert.equal(await verifySecret(secret, stored), true);
    assert.equal(await verifySecret(secret + 'x', stored), false);
    assert.equal(await verifySecret('', stored), false);
  });

  it('salts: the same secret hashes differently each time', async () => {
    assert.notEqual(await hashSecret('same-secret'), await hashSecret('same-secret'));
  });

  it('treats malformed or hostile stored strings as a mismatch, never throwing', async () => {
    const good = await hashSecret('s');
    const parts = good.split('$');
    const bad = [
      '',
      'plain',
      'bcrypt$1$2$3$4$5',
      good.replace('scrypt$16384', 'scrypt$3'), // N not a power of two
      good.replace('scrypt$16384', 'scrypt$1073741824'), // N absurdly large: must not allocate
      good.replace('$8$', '$999$'),
      [...parts.slice(0, 5), ''].join('$'), // empty hash
      [...parts.slice(0, 4), '', parts[5]].join('$'), // empty salt
      good + '$extra',
    ];
    for (const s of bad) assert.equal(await verifySecret('s', s), false, s);
  });

  it('rejects an empty secret when hashing', async () => {
    await assert.rejects(hashSecret(''), TypeError);
  });

  it('generates 32-byte base64url secrets and URL-safe gateway ids', () => {
    const s = generateSecret();
    assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(s, 'base64url').length, 32);
    assert.notEqual(generateSecret(), s);
    const id = generateGatewayId();
    assert.match(id, /^gw-[A-Za-z0-9_-]{22}$/);
    assert.notEqual(generateGatewayId(), id);
  });
});
