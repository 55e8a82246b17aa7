'use strict';
/**
 * A real mosquitto (Debian package) on a loopback port this test picks, with its own config in a temporary
 * directory; `restart()` stops it and starts it again on the same port, so a test can take the broker away
 * while a flag is raised. Only the process started here is ever stopped.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { closedPort } = require('./fixtures.js');

const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
const LISTEN_TIMEOUT_MS = 10_000; // 10 s, a loaded machine

function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startMosquitto() {
  const port = await closedPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camgate-nr-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  // `user root` only keeps mosquitto from switching users when a test runs as root (temp files stay readable).
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n`);
  let child;
  const launch = async () => {
    const c = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: 'ignore' });
    child = c;
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`mosquitto exited with ${c.exitCode}`);
      if (await accepts(port)) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const halt = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** Stops the broker, runs `whileDown`, starts it again on the same port. */
    async restart(whileDown) {
      await halt();
      await whileDown?.();
      await launch();
    },
  };
}

/**
 * A subscriber that records every message (topic, payload, retain flag). `waitFor` resolves with the first
 * message, already received or still to come, matching `pred`; it rejects after `ms` naming what it waited for.
 */
async function subscriber(url, filters) {
  const mqtt = await import('mqtt');
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const all = [];
  const waiters = new Set();
  client.on('message', (topic, payload, packet) => {
    all.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
    for (const w of [...waiters]) w();
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    all,
    last: (topic) => all.filter((m) => m.topic === topic).at(-1)?.payload,
    waitFor(topic, pred = () => true, ms = 30_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${ms} ms waiting for ${topic}`));
        }, ms);
        timer.unref(); // a wait nobody awaits any more must not hold the test process open
        const check = () => {
          for (; seen < all.length; seen++) {
            const m = all[seen];
            if (m.topic === topic && pred(m.payload)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(m);
              return;
            }
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => client.endAsync(true),
  };
}

module.exports = { startMosquitto, subscriber };
