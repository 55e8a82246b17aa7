/**
 * Janus (Debian package `janus`) as the peer of `bench:media`: its streaming
 * plugin with an RTSP mountpoint pulling the same simulated camera, HTTP API
 * on loopback only. This file starts Janus with a generated configuration
 * and reports whether the mountpoint came up, and why not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const JANUS_PATH = '/usr/bin/janus';
const LIB = '/usr/lib/x86_64-linux-gnu/janus';
export const JANUS_INSTALL_HINT = 'apt-get install -y janus (Debian package; the benchmark does not need it in CI)';

export interface JanusRun {
  pid: number;
  apiUrl: string;
  /** Janus's log so far. */
  log(): Promise<string>;
  /** `list` on the streaming plugin: the mountpoints that came up. */
  mountpoints(): Promise<{ id: number; description?: string }[]>;
  close(): Promise<void>;
}

async function freeTcpPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function api(url: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, transaction: randomBytes(6).toString('hex') }),
    signal: AbortSignal.timeout(5_000),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Starts Janus with only the streaming plugin and the HTTP transport (127.0.0.1). */
export async function startJanus(camera: { url: string; username: string; password: string }): Promise<JanusRun> {
  if (!existsSync(JANUS_PATH)) throw new Error(`${JANUS_PATH} not found: ${JANUS_INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'camgate-janus-'));
  const port = await freeTcpPort();
  const logPath = join(dir, 'janus.log');
  const q = (s: string): string => JSON.stringify(s);
  await writeFile(
    join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = ${q(dir)}
  plugins_folder = ${q(`${LIB}/plugins`)}
  transports_folder = ${q(`${LIB}/transports`)}
  events_folder = ${q(`${LIB}/events`)}
  loggers_folder = ${q(`${LIB}/loggers`)}
  log_to_stdout = false
  log_to_file = ${q(logPath)}
  debug_level = 4
}
media: { rtp_port_range = "40000-44999" }
# No stun_server/turn_server: nothing may leave the machine. ICE on the loopback interface only.
nat: { ice_lite = true  ignore_mdns = true  ice_enforce_list = "lo" }
plugins: { disable = "libjanus_audiobridge.so,libjanus_echotest.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_nosip.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so,libjanus_duktape.so,libjanus_lua.so" }
transports: { disable = "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_rabbitmq.so" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
`,
  );
  await writeFile(
    join(dir, 'janus.transport.http.jcfg'),
    `general: { json = "plain"  base_path = "/janus"  http = true  port = ${port}  ip = "127.0.0.1"  https = false }
admin: { admin_http = false }
`,
  );
  // The streaming plugin's RTSP mountpoint (janus.plugin.streaming.jcfg sample, "rtsp-test").
  await writeFile(
    join(dir, 'janus.plugin.streaming.jcfg'),
    `camera: {
  type = "rtsp"
  id = 1
  description = "camgate camera sim"
  audio = false
  video = true
  url = ${q(camera.url)}
  rtsp_user = ${q(camera.username)}
  rtsp_pwd = ${q(camera.password)}
  rtsp_failcheck = true
  rtspiface = "127.0.0.1"
  rtsp_reconnect_delay = 2
}
`,
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn(JANUS_PATH, ['-C', join(dir, 'janus.jcfg'), '-F', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  let exited = false;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const log = async (): Promise<string> => `${await readFile(logPath, 'utf8').catch(() => '')}${stderr}`;
  const close = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitedP;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const apiUrl = `http://127.0.0.1:${port}/janus`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      const text = await log();
      await close();
      throw new Error(`janus exited before its HTTP API answered:\n${text.slice(-3000)}`);
    }
    const up = await fetch(`${apiUrl}/info`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      const text = await log();
      await close();
      throw new Error(`janus HTTP API did not answer within 20 s:\n${text.slice(-3000)}`);
    }
    await sleep(100);
  }
  const mountpoints = async (): Promise<{ id: number; description?: string }[]> => {
    const s = await api(apiUrl, { janus: 'create' });
    const sid = (s.data as { id: number }).id;
    const h = await api(`${apiUrl}/${sid}`, { janus: 'attach', plugin: 'janus.plugin.streaming' });
    const hid = (h.data as { id: number }).id;
    const r = await api(`${apiUrl}/${sid}/${hid}`, { janus: 'message', body: { request: 'list' } });
    await api(`${apiUrl}/${sid}`, { janus: 'destroy' }).catch(() => undefined);
    const data = (r.plugindata as { data?: { list?: { id: number; description?: string }[] } } | undefined)?.data;
    return data?.list ?? [];
  };
  return { pid: child.pid!, apiUrl, log, mountpoints, close };
}
