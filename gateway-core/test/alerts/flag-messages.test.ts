import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GATEWAY_FLAG_MESSAGE_LIMITS,
  flagId,
  gatewayFlagMessage,
  gatewayFlagsMessage,
  isGatewayFlagMessage,
  parseGatewayFlagMessage,
  type Flag,
} from '../../src/alerts/index.js';

const GW = 'home-1';
const T0 = '2025-03-01T10:00:00.000Z';

function gatewayFlag(over: Partial<Flag> = {}, at = T0): Flag {
  const kind = over.kind ?? 'telnet-open';
  const gatewayId = over.gatewayId ?? GW;
  const cameraId = 'cameraId' in over ? over.cameraId : 'porch';
  const key = over.key ?? 'port-23';
  return {
    kind,
    gatewayId,
    ...(cameraId !== undefined ? { cameraId } : {}),
    key,
    evidence: [{ host: 'camera porch', port: 23, protocol: 'telnet', banner: 'BusyBox', at }],
    advice: 'Turn telnet off.',
    source: 'gateway',
    id: flagId(kind, gatewayId, cameraId, key),
    state: 'raised',
    firstSeen: at,
    lastSeen: at,
    raisedAt: at,
    cleanScans: 0,
    ...over,
  };
}

describe('gateway flag messages', () => {
  describe('isGatewayFlagMessage', () => {
    it('claims only its own two types, so other control messages pass to their features', () => {
      assert.equal(isGatewayFlagMessage({ type: 'gateway-flag' }), true);
      assert.equal(isGatewayFlagMessage({ type: 'gateway-flags' }), true);
      for (const other of [{ type: 'flag' }, { type: 'attribution' }, null, 'gateway-flag', [], 7, {}])
        assert.equal(isGatewayFlagMessage(other), false, JSON.stringify(other));
    });
  });

  describe('parseGatewayFlagMessage', () => {
    it('accepts a valid flag and a snapshot of the sending gateway', () => {
      const f = gatewayFlag();
      assert.deepEqual(parseGatewayFlagMessage(gatewayFlagMessage(f), GW), { type: 'gateway-flag', flag: f });
      const g = gatewayFlag({ key: 'port-2323' });
      const snap = parseGatewayFlagMessage(gatewayFlagsMessage([f, g]), GW);
      assert.equal(snap.type, 'gateway-flags');
      assert.deepEqual(snap.type === 'gateway-flags' && snap.flags.map((x) => x.id).sort(), [f.id, g.id].sort());
      assert.deepEqual(parseGatewayFlagMessage({ type: 'gateway-flags', flags: [] }, GW), {
        type: 'gateway-flags',
        flags: [],
      });
    });

    it("refuses another gateway's flag, in a single message and inside a snapshot", () => {
      const foreign = gatewayFlag({ gatewayId: 'someone-else' });
      assert.throws(
        () => parseGatewayFlagMessage(gatewayFlagMessage(foreign), GW),
        (e: Error) =>
          e instanceof RangeError && /gateway-flag: flag of another gateway \("someone-else"\)/.test(e.message),
      );
      assert.throws(
        () => parseGatewayFlagMessage(gatewayFlagsMessage([gatewayFlag(), foreign]), GW),
        (e: Error) => e instanceof RangeError && /gateway-flags\.flags\[\d\]: flag of another gateway/.test(e.message),
      );
    });

    it("refuses a flag passed off as the hub's, and one whose id does not derive from its fields", () => {
      assert.throws(
        () => parseGatewayFlagMessage(gatewayFlagMessage(gatewayFlag({ source: 'hub' })), GW),
        /may only send its own flags \(source "gateway"\)/,
      );
      // Same id as the porch flag, but naming the garage: it would overwrite another camera's flag.
      const forged = { ...gatewayFlag(), cameraId: 'garage' };
      assert.throws(
        () => parseGatewayFlagMessage({ type: 'gateway-flag', flag: forged }, GW),
        (e: Error) => e instanceof TypeError && /does not match its kind\/gateway\/camera\/key/.test(e.message),
      );
    });

    it('refuses wrong types with a message naming the field', () => {
      const cases: [unknown, RegExp][] = [
        [{ type: 'gateway-flag' }, /gateway-flag: invalid flag: \(root\)/],
        [{ type: 'gateway-flag', flag: 'raised' }, /invalid flag/],
        [{ type: 'gateway-flag', flag: { ...gatewayFlag(), state: 'on' } }, /state/],
        [{ type: 'gateway-flag', flag: { ...gatewayFlag(), kind: 'rootkit' } }, /kind/],
        [{ type: 'gateway-flag', flag: { ...gatewayFlag(), evidence: 'BusyBox' } }, /evidence/],
        [{ type: 'gateway-flag', flag: { ...gatewayFlag(), raisedAt: 'yesterday' } }, /raisedAt/],
        [{ type: 'gateway-flag', flag: { ...gatewayFlag(), cameraId: 'a\u0000b' } }, /cameraId/],
        [{ type: 'gateway-flags', flags: 'all' }, /gateway-flags: flags must be an array/],
        [{ type: 'gateway-flags', flags: [null] }, /gateway-flags\.flags\[0\]: invalid flag/],
        [{ type: 'gateway-flags' }, /flags must be an array/],
        [{ type: 'flag', flag: gatewayFlag() }, /not a gateway flag message/],
      ];
      for (const [msg, re] of cases) {
        assert.throws(() => parseGatewayFlagMessage(msg, GW), re, JSON.stringify(msg).slice(0, 80));
      }
    });

    it('refuses an oversized flag message and an oversized or overlong snapshot', () => {
      const L = GATEWAY_FLAG_MESSAGE_LIMITS;
      const fat = gatewayFlag({ advice: 'x'.repeat(L.flagBytes) });
      assert.throws(
        () => parseGatewayFlagMessage(gatewayFlagMessage(fat), GW),
        (e: Error) => e instanceof RangeError && /gateway-flag: \d+ bytes, limit 32768/.test(e.message),
      );
      const many = Array.from({ length: L.snapshotFlags + 1 }, (_, i) => gatewayFlag({ key: `port-${i}` }));
      assert.throws(
        () => parseGatewayFlagMessage({ type: 'gateway-flags', flags: many }, GW),
        new RegExp(`${L.snapshotFlags + 1} flags, limit ${L.snapshotFlags}`),
      );
      const heavy = Array.from({ length: 40 }, (_, i) => gatewayFlag({ key: `p${i}`, advice: 'y'.repeat(20_000) }));
      assert.throws(
        () => parseGatewayFlagMessage({ type: 'gateway-flags', flags: heavy }, GW),
        /gateway-flags: \d+ bytes, limit 524288/,
      );
      const twice = [gatewayFlag(), gatewayFlag()];
      assert.throws(() => parseGatewayFlagMessage({ type: 'gateway-flags', flags: twice }, GW), /appears twice/);
    });

    it('keeps the newest evidence items and sanitises hostile text', () => {
      const evidence = Array.from({ length: 10 }, (_, i) => ({
        host: 'camera porch',
        port: 23,
        banner: i === 9 ? '\u001b[2Jlogin: rtsp://admin:hunter22@cam/' : `b${i}`,
        at: T0,
      }));
      const m = parseGatewayFlagMessage(gatewayFlagMessage(gatewayFlag({ evidence })), GW);
      assert.equal(m.type, 'gateway-flag');
      const ev = m.type === 'gateway-flag' ? m.flag.evidence : [];
      assert.equal(ev.length, GATEWAY_FLAG_MESSAGE_LIMITS.evidenceItems);
      assert.deepEqual(
        ev.slice(0, 3).map((e) => e.banner),
        ['b6', 'b7', 'b8'],
      );
      assert.equal(ev[3]!.banner, '\\x1b[2Jlogin: rtsp://[redacted]@cam/');
    });
  });

  describe('gatewayFlagsMessage', () => {
    it('keeps the most recently changed flags up to the snapshot limit', () => {
      const L = GATEWAY_FLAG_MESSAGE_LIMITS;
      const flags = Array.from({ length: L.snapshotFlags + 5 }, (_, i) =>
        gatewayFlag({ key: `port-${i}` }, new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString()),
      );
      const m = gatewayFlagsMessage(flags);
      assert.equal(m.type === 'gateway-flags' && m.flags.length, L.snapshotFlags);
      const keys = new Set(m.type === 'gateway-flags' ? m.flags.map((f) => f.key) : []);
      for (let i = 0; i < 5; i++) assert.equal(keys.has(`port-${i}`), false, `oldest port-${i} left out`);
      assert.equal(keys.has(`port-${L.snapshotFlags + 4}`), true);
    });
  });
});
