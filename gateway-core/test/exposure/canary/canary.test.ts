import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { LanCanary, type CanaryAttempt } from '../../../src/exposure/index.js';
import { hasCode } from '../../../src/util/index.js';
import { until, within } from '@camgate/test-helpers';

/** Opens a connection to the canary, optionally sends `data`, and resolves with what the canary wrote. */
async function touch(port: number, data?: Buffer | string, hold = false): Promise<{ got: string; socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const r = { got: '', socket };
  socket.on('data', (d: Buffer) => (r.got += d.toString('latin1')));
  await once(socket, 'connect');
  if (data !== undefined) socket.write(data);
  if (!hold) await within(once(socket, 'close'), 10_000, 'the canary to close the connection');
  return r;
}

describe('LanCanary', () => {
  describe('.start', () => {
    it('refuses a public address, a name and (without allowLoopback) loopback, naming the rule', async () => {
      for (const address of ['203.0.113.5', '8.8.8.8', '2001:db8::1', 'camera.example', '127.0.0.1']) {
        await assert.rejects(LanCanary.start({ address, ports: [0] }), (err: Error) => {
          assert.ok(hasCode(err, 'CAMGATE_CANARY_ADDRESS'), `${address}: ${err.message}`);
          assert.match(err.message, /private or link-local/);
          return true;
        });
      }
    });

    it('names the option and the allowed range for bad values', async () => {
      await assert.rejects(LanCanary.start({ address: '127.0.0.1', allowLoopback: true, ports: [70000] }), {
        name: 'RangeError',
        message: /ports\[0\] must be an integer from 0 to 65535, got 70000/,
      });
      await assert.rejects(
        LanCanary.start({ address: '127.0.0.1', allowLoopback: true, ports: [0], readBytes: 0 }),
        /readBytes must be an integer from 1 to 4096/,
      );
    });

    it('closes every port it opened when one port cannot be bound', async (t) => {
      const first = await LanCanary.start({ address: '127.0.0.1', allowLoopback: true, ports: [0] });
      t.after(() => first.close());
      const taken = first.ports[0]!;
      await assert.rejects(
        LanCanary.start({ address: '127.0.0.1', allowLoopback: true, ports: [0, taken] }),
        (err: Error) => hasCode(err, 'CAMGATE_CANARY_LISTEN') && err.message.includes(`port ${taken}`),
      );
    });
  });

  describe('attempts', () => {
    it('shows a fake login prompt, records source, port, time and the first bytes escaped, then closes', async (t) => {
      const canary = await LanCanary.start({ address: '127.0.0.1', allowLoopback: true, ports: [0, 0] });
      t.after(() => canary.close());
      const attempts: CanaryAttempt[] = [];
      canary.on('attempt', (a) => attempts.push(a));
      const before = Date.now();
      // Telnet IAC negotiation (RFC 854: IAC DO ECHO) and a guessed user name, as Mirai's scanner sends them.
      const { got } = await touch(
        canary.ports[1]!,
        Buffer.concat([Buffer.from([255, 253, 1]), Buffer.from('root\r\n')]),
      );
      assert.equal(got, 'login: ');
      await until(
        () => attempts.length,
        (n) => n === 1,
        10_000,
        'the attempt',
      );
      const a = attempts[0]!;
      assert.equal(a.source, '127.0.0.1');
      assert.equal(a.port, canary.ports[1]);
      assert.ok(Date.parse(a.at) >= before - 1000 && Date.parse(a.at) <= Date.now());
      assert.equal(a.suppressed, 0);
      // What arrived is escaped (printable.ts), never raw control bytes.
      assert.equal(a.firstBytes, '\\xff\\xfd\\x01root\\r\\n');
    });

    it('reads at most readBytes and closes at once when they are in', async (t) => {
      const canary = await LanCanary.start({
        address: '127.0.0.1',
        allowLoopback: true,
        ports: [0],
        readBytes: 16,
        readTimeoutMs: 30_000,
      });
      t.after(() => canary.close());
      const attempt = once(canary, 'attempt') as Promise<[CanaryAttempt]>;
      await touch(canary.ports[0]!, 'A'.repeat(10_000));
      const [a] = await within(attempt, 10_000, 'the attempt');
      assert.ok(a.firstBytes.startsWith('A'.repeat(16)), a.firstBytes);
      assert.ok(!a.firstBytes.startsWith('A'.repeat(17)), 'no more than readBytes kept');
    });

    it('closes a silent connection after readTimeoutMs and still records it', async (t) => {
      const canary = await LanCanary.start({
        address: '127.0.0.1',
        allowLoopback: true,
        ports: [0],
        prompt: false,
        readTimeoutMs: 200,
      });
      t.after(() => canary.close());
      const attempt = once(canary, 'attempt') as Promise<[CanaryAttempt]>;
      const { got } = await touch(canary.ports[0]!);
      assert.equal(got, '', 'prompt: false sends nothing');
      const [a] = await within(attempt, 10_000, 'the attempt');
      assert.equal(a.firstBytes, '');
    });

    it('rate-limits per source: beyond perSourcePerMinute connections are closed at once and counted', async (t) => {
      const canary = await LanCanary.start({
        address: '127.0.0.1',
        allowLoopback: true,
        ports: [0],
        perSourcePerMinute: 3,
        readTimeoutMs: 100,
      });
      t.after(() => canary.close());
      const attempts: CanaryAttempt[] = [];
      canary.on('attempt', (a) => attempts.push(a));
      for (let i = 0; i < 10; i++) await touch(canary.ports[0]!, `try ${i}`);
      await until(
        () => attempts.length,
        (n) => n >= 3,
        10_000,
        'three recorded attempts',
      );
      assert.equal(attempts.length, 3, 'only perSourcePerMinute attempts are recorded in a burst');
      // The next one that gets through carries the count of those it could not record.
      assert.ok(attempts.every((a) => a.suppressed === 0));
    });

    it('holds at most maxConnections open; more are closed at once and counted as overflow', async (t) => {
      const canary = await LanCanary.start({
        address: '127.0.0.1',
        allowLoopback: true,
        ports: [0],
        maxConnections: 2,
        readTimeoutMs: 30_000,
      });
      t.after(() => canary.close());
      const held = [await touch(canary.ports[0]!, undefined, true), await touch(canary.ports[0]!, undefined, true)];
      t.after(() => held.forEach((h) => h.socket.destroy()));
      await until(
        () => held.every((h) => h.got === 'login: '),
        (v) => v,
        10_000,
        'two prompts',
      );
      const third = await touch(canary.ports[0]!);
      assert.equal(third.got, '', 'the third connection gets nothing');
      assert.equal(canary.overflow, 1);
    });

    it('close() stops listening and drops open connections', async () => {
      const canary = await LanCanary.start({
        address: '127.0.0.1',
        allowLoopback: true,
        ports: [0],
        readTimeoutMs: 30_000,
      });
      const port = canary.ports[0]!;
      const open = await touch(port, undefined, true);
      await canary.close();
      await within(once(open.socket, 'close'), 10_000, 'the held connection to close');
      const s = connect({ host: '127.0.0.1', port });
      const [err] = (await within(once(s, 'error'), 10_000, 'a refused connection')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
      await canary.close(); // idempotent
    });
  });
});
