/**
 * Janus (Debian package `janus`) as the peer of `bench:media`: its streaming
 * plugin with an RTSP mountpoint pulling the same simulated camera, HTTP API
 * on loopback only, ICE on 127.0.0.1 only. This file starts Janus with a
 * generated configuration, reports whether the mountpoint came up (and why
 * not), and lets any WebRTC peer watch the mountpoint (`watchMountpoint`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

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

/**
 * Janus gathers ICE candidates only on interfaces that are not IFF_LOOPBACK (ice.c skips them
 * whatever ice_enforce_list says; with no address left, libnice falls back to every other interface,
 * here eth0, which the bench must not use). This preload library, compiled at start, clears the
 * IFF_LOOPBACK flag in what getifaddrs() returns to Janus, so `ice_enforce_list = "lo"` keeps
 * 127.0.0.1 as Janus's only candidate and every peer's media stays on loopback.
 */
const LOOPBACK_SHIM_C = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
int getifaddrs(struct ifaddrs **ifap) {
  static int (*real)(struct ifaddrs **);
  if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
  int rc = real(ifap);
  if (rc == 0)
    for (struct ifaddrs *i = *ifap; i; i = i->ifa_next) i->ifa_flags &= ~IFF_LOOPBACK;
  return rc;
}
`;

async function buildLoopbackShim(dir: string): Promise<string> {
  const src = join(dir, 'loopback-shim.c');
  const lib = join(dir, 'loopback-shim.so');
  await writeFile(src, LOOPBACK_SHIM_C);
  await promisify(execFile)('cc', ['-shared', '-fPIC', '-O2', '-o', lib, src, '-ldl'], { timeout: 60_000 }).catch(
    (err: unknown) => {
      throw new Error(
        `could not compile the loopback shim for Janus (cc needed: apt-get install gcc): ${String(err).split('\n')[0]}`,
      );
    },
  );
  return lib;
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

/** A Janus session with the streaming plugin attached: `url` is its handle's endpoint. */
async function attachStreaming(apiUrl: string): Promise<{ sessionUrl: string; url: string; destroy(): Promise<void> }> {
  const s = await api(apiUrl, { janus: 'create' });
  const sessionUrl = `${apiUrl}/${(s.data as { id: number }).id}`;
  const h = await api(sessionUrl, { janus: 'attach', plugin: 'janus.plugin.streaming' });
  return {
    sessionUrl,
    url: `${sessionUrl}/${(h.data as { id: number }).id}`,
    destroy: async () => {
      await api(sessionUrl, { janus: 'destroy' }).catch(() => undefined);
    },
  };
}

const JSEP_TIMEOUT_MS = 30_000;

/**
 * Watches mountpoint `mountId` of Janus at `apiUrl` with any WebRTC peer: Janus's offer (read from the
 * session's long poll) goes to `answer`, whose SDP answer carries the peer's candidates, then `start`.
 * No keepalive is needed: the generated configuration disables session timeouts. `close` destroys the session.
 */
export async function watchMountpoint(
  apiUrl: string,
  mountId: number,
  answer: (offerSdp: string) => Promise<string>,
): Promise<{ close(): Promise<void> }> {
  const h = await attachStreaming(apiUrl);
  try {
    await api(h.url, { janus: 'message', body: { request: 'watch', id: mountId } });
    let offer: string | undefined;
    const deadline = Date.now() + JSEP_TIMEOUT_MS;
    while (offer === undefined) {
      if (Date.now() > deadline)
        throw new Error(`janus: no offer for mountpoint ${mountId} within ${JSEP_TIMEOUT_MS} ms`);
      const res = await fetch(`${h.sessionUrl}?maxev=10`, { signal: AbortSignal.timeout(JSEP_TIMEOUT_MS) });
      const got = (await res.json()) as unknown;
      for (const e of (Array.isArray(got) ? got : [got]) as {
        jsep?: { type: string; sdp: string };
        plugindata?: { data?: { error?: string } };
      }[]) {
        if (e.plugindata?.data?.error) throw new Error(`janus: ${e.plugindata.data.error}`);
        if (e.jsep?.type === 'offer') offer = e.jsep.sdp;
      }
    }
    const sdp = await answer(offer);
    const r = await api(h.url, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp } });
    if (r.janus === 'error') throw new Error(`janus: start: ${JSON.stringify(r.error)}`);
  } catch (err) {
    await h.destroy();
    throw err;
  }
  return { close: () => h.destroy() };
}

/** Starts Janus with only the streaming plugin and the HTTP transport (127.0.0.1). */
export async function startJanus(camera: { url: string; username: string; password: string }): Promise<JanusRun> {
  if (!existsSync(JANUS_PATH)) throw new Error(`${JANUS_PATH} not found: ${JANUS_INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'camgate-janus-'));
  const shim = await buildLoopbackShim(dir).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
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
  session_timeout = 0
}
media: { rtp_port_range = "40000-44999" }
# No stun_server/turn_server: nothing may leave the machine. ICE on the loopback interface only
# (with the preload shim above; IPv6 stays off, so 127.0.0.1 is the only candidate).
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
    env: { ...process.env, LD_PRELOAD: shim },
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
    const h = await attachStreaming(apiUrl);
    try {
      const r = await api(h.url, { janus: 'message', body: { request: 'list' } });
      const data = (r.plugindata as { data?: { list?: { id: number; description?: string }[] } } | undefined)?.data;
      return data?.list ?? [];
    } finally {
      await h.destroy();
    }
  };
  return { pid: child.pid!, apiUrl, log, mountpoints, close };
}
