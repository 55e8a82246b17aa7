'use strict';
/**
 * A real Node-RED runtime in a child process: temporary user dir, this
 * package symlinked into its node_modules (no npm install), bound to
 * 127.0.0.1 through `uiHost` (the CLI has no host flag), every outbound
 * feature (telemetry, palette catalogue, tours) switched off.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { closedPort } = require('./fixtures.js');

const PACKAGE_DIR = path.resolve(__dirname, '../..');

async function startNodeRed(nodeRedPackage) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'camgate-nr-'));
  fs.mkdirSync(path.join(userDir, 'node_modules'));
  fs.symlinkSync(PACKAGE_DIR, path.join(userDir, 'node_modules', 'node-red-contrib-camgate'), 'dir');
  fs.writeFileSync(
    path.join(userDir, 'package.json'),
    JSON.stringify({ name: 'nr-user', private: true, dependencies: { 'node-red-contrib-camgate': '*' } }),
  );
  // Node-RED needs a fixed port; pick a free one (bound then released) since uiPort 0 is not reported back.
  const port = await closedPort();
  const settings = `module.exports = {
    uiHost: '127.0.0.1',
    uiPort: ${port},
    flowFile: 'flows.json',
    credentialSecret: 'test-only-credential-secret',
    logging: { console: { level: 'info', metrics: false, audit: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    editorTheme: { tours: false, palette: { catalogues: [] }, projects: { enabled: false } },
  };\n`;
  fs.writeFileSync(path.join(userDir, 'settings.js'), settings);
  const redJs = require.resolve(`${nodeRedPackage}/red.js`);
  const child = spawn(
    process.execPath,
    [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')],
    {
      cwd: userDir,
      env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  await new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`Node-RED exited with ${code}:\n${log}`));
    child.once('exit', onExit);
    const check = () => {
      if (/Started flows/.test(log)) {
        child.off('exit', onExit);
        resolve();
      } else setTimeout(check, 50);
    };
    check();
  });
  return {
    base,
    userDir,
    log: () => log,
    async api(method, p, body, headers = {}) {
      const request = () =>
        fetch(base + p, {
          method,
          headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      // fetch reuses a kept-alive connection; Node's HTTP server closes idle ones after 5 s (keepAliveTimeout), and
      // a request sent as it does so fails with ECONNRESET. A GET is safe to send again once.
      const res = await request().catch((err) => {
        if (method !== 'GET' || err?.cause?.code !== 'ECONNRESET') throw err;
        return request();
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

module.exports = { startNodeRed, PACKAGE_DIR };
