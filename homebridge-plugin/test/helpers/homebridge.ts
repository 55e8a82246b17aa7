/**
 * A real Homebridge (2.x from `homebridge`, 1.11 from `homebridge-1`) as a
 * child process with a temporary storage dir and this plugin loaded (`-P`),
 * and HomeKit TLV8 builders for the camera characteristics (layouts from
 * HAP-NodeJS RTPStreamManagement). mDNS is bound to `lo` so nothing leaves
 * the host; the HAP server itself listens on *:PORT (Homebridge's `bind`
 * does not narrow it), so the port is picked free first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TLV } from 'hap-controller';

const require = createRequire(import.meta.url);
export const PLUGIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type HomebridgeFlavour = 'homebridge' | 'homebridge-1';

export interface RunningHomebridge {
  port: number;
  pin: string;
  username: string;
  storage: string;
  /** Every line Homebridge printed so far. */
  lines: string[];
  /** Resolves with the first line (past or future) matching `re`. */
  waitForLine(re: RegExp): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Starts Homebridge with `platforms` and waits until its HAP server is up; stopped after the test. */
export async function startHomebridge(
  t: TestContext,
  flavour: HomebridgeFlavour,
  platforms: unknown[],
  reuse?: { storage: string; username: string },
  /** Extra environment for the Homebridge process (e.g. PATH with an FFmpeg wrapper first). */
  env?: Record<string, string>,
): Promise<RunningHomebridge> {
  // With `reuse`, the storage dir (cached accessories, pairings) is the caller's: it is kept on stop.
  const storage = reuse?.storage ?? (await mkdtemp(join(tmpdir(), 'camgate-hb-')));
  const port = await freePort();
  const pin = '031-45-154';
  const username =
    reuse?.username ??
    `0E:${[1, 2, 3, 4, 5]
      .map(() =>
        Math.floor(Math.random() * 256)
          .toString(16)
          .padStart(2, '0')
          .toUpperCase(),
      )
      .join(':')}`;
  const config = {
    bridge: { name: `camgate test ${port}`, username, port, pin, advertiser: 'ciao', bind: ['lo'] },
    accessories: [],
    platforms,
  };
  await writeFile(join(storage, 'config.json'), JSON.stringify(config, null, 2));
  // `package.json` is not in Homebridge 2's exports map: go from its main (dist/index.js) to bin/.
  const bin = join(dirname(require.resolve(flavour)), '..', 'bin', 'homebridge');
  const child: ChildProcess = spawn(process.execPath, [bin, '-U', storage, '-P', PLUGIN_DIR, '-I', '-D'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const lines: string[] = [];
  let waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: Buffer): void => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      waiters = waiters.filter((w) => {
        if (!w.re.test(line)) return true;
        w.resolve(line);
        return false;
      });
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitForLine = (re: RegExp): Promise<string> => {
    const seen = lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ re, resolve }));
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    // HB_LOG=file keeps Homebridge's output for a failing run.
    if (process.env.HB_LOG) await writeFile(process.env.HB_LOG, lines.join('\n'));
    if (!reuse) await rm(storage, { recursive: true, force: true });
  };
  t.after(stop);
  await Promise.race([
    waitForLine(/is running on port/),
    exited.then(() => {
      throw new Error(`Homebridge exited early:\n${lines.join('\n')}`);
    }),
  ]);
  return { port, pin, username, storage, lines, waitForLine, stop };
}

// ---- TLV8 (HAP R2 §12.1) ----

const tlv = (entries: [number, Buffer][]): Buffer => TLV.encodeObject(new Map(entries));
const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const f32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(n);
  return b;
};

/** SetupEndpoints write: where the controller receives, and its SRTP keys (HAP-NodeJS SetupEndpointsTypes). */
export function setupEndpointsTlv(o: {
  sessionId: Buffer;
  address: string;
  videoPort: number;
  audioPort: number;
  videoKey: Buffer;
  videoSalt: Buffer;
  /** The key the controller sends its audio with (two-way audio); default a fixed dummy. */
  audioKey?: Buffer;
  audioSalt?: Buffer;
}): string {
  const srtp = (key: Buffer, salt: Buffer) =>
    tlv([
      [1, u8(0)],
      [2, key],
      [3, salt],
    ]); // suite 0 = AES_CM_128_HMAC_SHA1_80
  return tlv([
    [1, o.sessionId],
    [
      3,
      tlv([
        [1, u8(0)],
        [2, Buffer.from(o.address)],
        [3, u16(o.videoPort)],
        [4, u16(o.audioPort)],
      ]),
    ],
    [4, srtp(o.videoKey, o.videoSalt)],
    [5, srtp(o.audioKey ?? Buffer.alloc(16, 1), o.audioSalt ?? Buffer.alloc(14, 2))],
  ]).toString('base64');
}

/** Reads the SetupEndpoints response: status, accessory ports, SSRCs and the audio SRTP key (master key + salt). */
export function parseSetupEndpointsResponse(b64: string): {
  status: number;
  videoPort: number;
  ssrc: number;
  audioPort: number;
  audioSsrc: number;
  audioKeyAndSalt: Buffer;
} {
  const top = TLV.decodeBuffer(Buffer.from(b64, 'base64'));
  if (top.get(2)?.[0] !== 0) {
    return {
      status: top.get(2)?.[0] ?? -1,
      videoPort: 0,
      ssrc: 0,
      audioPort: 0,
      audioSsrc: 0,
      audioKeyAndSalt: Buffer.alloc(0),
    };
  }
  const addr = TLV.decodeBuffer(top.get(3)!);
  const audioSrtp = TLV.decodeBuffer(top.get(5)!);
  return {
    status: top.get(2)![0]!,
    videoPort: addr.get(3)!.readUInt16LE(0),
    ssrc: top.get(6)!.readUInt32LE(0),
    audioPort: addr.get(4)!.readUInt16LE(0),
    audioSsrc: top.get(7)!.readUInt32LE(0),
    audioKeyAndSalt: Buffer.concat([audioSrtp.get(2)!, audioSrtp.get(3)!]),
  };
}

/** SelectedRTPStreamConfiguration write for START (1) or END (0) (HAP-NodeJS SelectedRTPStreamConfigurationTypes). */
export function selectedConfigTlv(o: {
  sessionId: Buffer;
  command: 0 | 1;
  payloadType?: number;
  mtu?: number;
  /** Selected Opus audio: sample rate code (HAP AudioSamplerate 0 = 8, 1 = 16, 2 = 24 kHz), packet time. */
  audio?: { sampleRate: 0 | 1 | 2; packetTimeMs: number; payloadType?: number; maxBitrateKbps?: number };
}): string {
  const control = tlv([
    [1, o.sessionId],
    [2, u8(o.command)],
  ]);
  if (o.command === 0) return tlv([[1, control]]).toString('base64');
  const video = tlv([
    [1, u8(0)], // H.264
    [
      2,
      tlv([
        [1, u8(0)],
        [2, u8(0)],
        [3, u8(0)],
      ]),
    ], // baseline, level 3.1, non-interleaved
    [
      3,
      tlv([
        [1, u16(640)],
        [2, u16(360)],
        [3, u8(30)],
      ]),
    ],
    [
      4,
      tlv([
        [1, u8(o.payloadType ?? 99)],
        [2, u32(0x1234)],
        [3, u16(299)],
        [4, f32(0.5)],
        [5, u16(o.mtu ?? 1378)],
      ]),
    ],
  ]);
  const audio = tlv([
    [1, u8(3)], // Opus
    [
      2,
      tlv([
        [1, u8(1)],
        [2, u8(0)],
        [3, u8(o.audio?.sampleRate ?? 1)],
        [4, u8(o.audio?.packetTimeMs ?? 20)],
      ]),
    ],
    [
      3,
      tlv([
        [1, u8(o.audio?.payloadType ?? 110)],
        [2, u32(0x5678)],
        [3, u16(o.audio?.maxBitrateKbps ?? 24)],
        [4, f32(5)],
        [6, u8(13)],
      ]),
    ],
    [4, u8(0)],
  ]);
  return tlv([
    [1, control],
    [2, video],
    [3, audio],
  ]).toString('base64');
}

/**
 * A directory with an `ffmpeg` that appends its argument vector (one argument a line, then `--`) to
 * `argvLog` and runs the real FFmpeg: what `ps` would show of every FFmpeg the plugin starts.
 */
export async function ffmpegRecorder(
  t: TestContext,
): Promise<{ dir: string; argvLog: string; invocations(): Promise<string[][]> }> {
  const real = spawnSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).stdout.trim();
  if (!real) throw new Error('FFmpeg is not on PATH');
  const dir = await mkdtemp(join(tmpdir(), 'camgate-ffmpeg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const argvLog = join(dir, 'argv.log');
  await writeFile(argvLog, '');
  const script = `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${argvLog}'; done\nprintf -- '--\\n' >> '${argvLog}'\nexec '${real}' "$@"\n`;
  await writeFile(join(dir, 'ffmpeg'), script);
  await chmod(join(dir, 'ffmpeg'), 0o755);
  return {
    dir,
    argvLog,
    async invocations() {
      const text = await readFile(argvLog, 'utf8');
      return text
        .split('--\n')
        .filter((x) => x !== '')
        .map((x) => x.split('\n').filter((a) => a !== ''));
    },
  };
}
