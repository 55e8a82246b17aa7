import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMessage,
  kindOf,
  errorResponse,
  resultResponse,
  JsonRpcParseError,
  JSONRPC_PARSE_ERROR,
  JSONRPC_INVALID_REQUEST,
} from '../../src/kurento/jsonrpc.js';

const MAX = 64 * 1024;

function refuses(text: string, code: string, rpcCode: number, message: RegExp, max = MAX): void {
  assert.throws(
    () => parseMessage(text, max),
    (err: unknown) => {
      assert.ok(err instanceof JsonRpcParseError);
      assert.equal(err.code, code);
      assert.equal(err.rpcCode, rpcCode);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('parseMessage', () => {
  describe('classifies valid messages (JSON-RPC 2.0 §4, §5)', () => {
    it('a request', () => {
      const m = parseMessage('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"interval":5000}}', MAX);
      assert.equal(kindOf(m), 'request');
      assert.deepEqual(m, { jsonrpc: '2.0', id: 1, method: 'ping', params: { interval: 5000 } });
    });
    it('a notification (§4.1: no id)', () => {
      const m = parseMessage('{"jsonrpc":"2.0","method":"onEvent","params":{"value":{}}}', MAX);
      assert.equal(kindOf(m), 'notification');
    });
    it('a success response', () => {
      const m = parseMessage('{"jsonrpc":"2.0","id":"a","result":{"value":"pong"}}', MAX);
      assert.equal(kindOf(m), 'success');
    });
    it('an error response, including id null (§5)', () => {
      const m = parseMessage('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}', MAX);
      assert.equal(kindOf(m), 'error');
      assert.deepEqual(m, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    });
    it('multi-byte text up to the byte limit', () => {
      const text = JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'é'.repeat(10) });
      assert.equal(kindOf(parseMessage(text, Buffer.byteLength(text))), 'success');
    });
  });

  describe('refuses garbage', () => {
    for (const [name, text] of [
      ['empty', ''],
      ['binary junk', '\u0000\u0001\u00ff'],
      ['truncated', '{"jsonrpc":"2.0","id":1,"method":"pi'],
      ['trailing garbage', '{"jsonrpc":"2.0","id":1,"method":"ping"}x'],
      ['single quotes', "{'jsonrpc':'2.0'}"],
    ] as const) {
      it(name, () => refuses(text, 'CAMGATE_JSONRPC_PARSE', JSONRPC_PARSE_ERROR, /not valid JSON/));
    }
    for (const [name, text, msg] of [
      ['a number', '42', /top level is not an object/],
      ['a string', '"hello"', /top level is not an object/],
      ['null', 'null', /top level is not an object/],
      ['a batch (§6, not used by Kurento)', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', /batches are not supported/],
      ['an empty batch', '[]', /batches are not supported/],
      ['version 1.0', '{"jsonrpc":"1.0","id":1,"method":"ping"}', /"jsonrpc" must be exactly "2.0"/],
      ['missing version', '{"id":1,"method":"ping"}', /"jsonrpc" must be exactly "2.0"/],
      ['method not a string', '{"jsonrpc":"2.0","id":1,"method":7}', /"method" must be a non-empty string/],
      ['rpc. reserved (§4)', '{"jsonrpc":"2.0","id":1,"method":"rpc.x"}', /reserved/],
      [
        'params a scalar (§4.2)',
        '{"jsonrpc":"2.0","id":1,"method":"ping","params":3}',
        /"params" must be an object or an array/,
      ],
      ['fractional id', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', /"id" must be a string or an integer/],
      ['object id', '{"jsonrpc":"2.0","id":{},"method":"ping"}', /"id" must be a string or an integer/],
      ['null request id', '{"jsonrpc":"2.0","id":null,"method":"ping"}', /"id" must be a string or an integer/],
      ['unsafe integer id', '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}', /"id"/],
      ['extra member', '{"jsonrpc":"2.0","id":1,"method":"ping","x":1}', /unexpected member "x"/],
      ['result and error (§5)', '{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}', /exactly one/],
      ['neither result nor error', '{"jsonrpc":"2.0","id":1}', /exactly one/],
      ['response without id', '{"jsonrpc":"2.0","result":1}', /needs a string, integer or null "id"/],
      ['error code not integer', '{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}', /"error.code"/],
      ['error message missing', '{"jsonrpc":"2.0","id":1,"error":{"code":1}}', /"error.message"/],
      ['huge number', '{"jsonrpc":"2.0","id":1,"result":1e400}', /number out of range/],
    ] as const) {
      it(name, () => refuses(text, 'CAMGATE_JSONRPC_PARSE', JSONRPC_INVALID_REQUEST, msg));
    }
  });

  describe('refuses hostile input', () => {
    it('oversized (checked before parsing)', () => {
      const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2000) } });
      refuses(text, 'CAMGATE_JSONRPC_TOO_LARGE', JSONRPC_INVALID_REQUEST, /larger than 1000 bytes/, 1000);
    });
    it('oversized by multi-byte characters', () => {
      const text = JSON.stringify({ jsonrpc: '2.0', id: 1, result: '€'.repeat(400) });
      assert.ok(text.length < 1000);
      refuses(text, 'CAMGATE_JSONRPC_TOO_LARGE', JSONRPC_INVALID_REQUEST, /larger than 1000/, 1000);
    });
    it('deep nesting that JSON.parse accepts', () => {
      const text = `{"jsonrpc":"2.0","id":1,"result":${'['.repeat(100)}${']'.repeat(100)}}`;
      refuses(text, 'CAMGATE_JSONRPC_PARSE', JSONRPC_INVALID_REQUEST, /nesting deeper than 32/);
    });
    it('nesting deep enough to overflow a recursive parser', () => {
      const text = `${'['.repeat(500_000)}${']'.repeat(500_000)}`;
      assert.throws(() => parseMessage(text, 2_000_000), JsonRpcParseError);
    });
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      it(`a "${key}" key anywhere`, () => {
        const text = `{"jsonrpc":"2.0","id":1,"method":"create","params":{"constructorParams":{"${key}":{"polluted":true}}}}`;
        refuses(text, 'CAMGATE_JSONRPC_PARSE', JSONRPC_INVALID_REQUEST, new RegExp(`forbidden key "${key}"`));
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });
    }
    it('keeps the request id in the error when it could be read (§5)', () => {
      try {
        parseMessage('{"jsonrpc":"1.0","id":77,"method":"ping"}', MAX);
        assert.fail('should throw');
      } catch (err) {
        assert.ok(err instanceof JsonRpcParseError);
        assert.equal(err.id, 77);
      }
    });
    it('rejects a bad maxBytes option with RangeError', () => {
      assert.throws(() => parseMessage('{}', 0), RangeError);
    });
  });
});

describe('builders', () => {
  it('errorResponse with and without data', () => {
    assert.deepEqual(errorResponse(1, -32601, 'Method not found'), {
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32601, message: 'Method not found' },
    });
    assert.deepEqual(errorResponse(null, -32700, 'Parse error', { a: 1 }).error.data, { a: 1 });
  });
  it('resultResponse round-trips through parseMessage', () => {
    const res = resultResponse('x', { value: 'pong' });
    assert.deepEqual(parseMessage(JSON.stringify(res), MAX), res);
  });
});
