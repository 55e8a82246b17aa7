/**
 * Starts a zoo camera: GStreamer's RTSP server with real encoders
 * (fixtures/zoo/rtsp-camera.py, run by Debian's /usr/bin/python3 with
 * python3-gi) as a child process with an argument array, on a free loopback
 * port, and drives it through its stdin commands.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const SCRIPT = fileURLToPath(new URL('../fixtures/zoo/rtsp-camera.py', import.meta.url));
/** Debian's interpreter: python3-gi and the GStreamer typelibs live there, not in a pyenv or venv. */
const PYTHON = '/usr/bin/python3';

export interface ZooCameraOptions {
  codec?: 'h264' | 'h265';
  profile?: 'constrained-baseline' | 'main' | 'high';
  width: number;
  height: number;
  fps: number;
  gopSeconds: number;
  kbps: number;
  bframes?: number;
  slices?: number;
  /** SPS/PPS only in the SDP's sprop-parameter-sets, never in-band. */
  noInbandParams?: boolean;
  audio?: 'none' | 'aac' | 'pcma';
  auth?: 'none' | 'basic' | 'digest';
  user?: string;
  password?: string;
  /** The server refuses RTP over UDP (461 Unsupported Transport). */
  tcpOnly?: boolean;
}

export interface ZooCameraStats {
  /** Video frames (access units) handed to the RTP payloader since start. */
  frames: number;
  bytes: number;
  /** The longest time the camera itself sent no frame since the previous `stats()` call, ms. */
  longestGapMs: number;
}

export interface ZooCamera {
  /** `rtsp://127.0.0.1:PORT/stream`, without credentials. */
  url: string;
  opts: ZooCameraOptions;
  stats(): Promise<ZooCameraStats>;
  stopSending(): Promise<void>;
  resume(): Promise<void>;
  resize(width: number, height: number): Promise<void>;
  /** Closes stdin (the camera exits on EOF); SIGKILL to this child only if it has not exited after 3 s. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000; // python3 + GStreamer start in < 1 s idle; a loaded shared machine takes many times that
const COMMAND_TIMEOUT_MS = 5_000;

function argsFor(o: ZooCameraOptions): string[] {
  const a = [
    SCRIPT,
    `--codec=${o.codec ?? 'h264'}`,
    `--profile=${o.profile ?? 'high'}`,
    `--width=${o.width}`,
    `--height=${o.height}`,
    `--fps=${o.fps}`,
    `--gop-seconds=${o.gopSeconds}`,
    `--kbps=${o.kbps}`,
    `--bframes=${o.bframes ?? 0}`,
    `--slices=${o.slices ?? 1}`,
    `--audio=${o.audio ?? 'none'}`,
    `--auth=${o.auth ?? 'none'}`,
    `--user=${o.user ?? 'admin'}`,
  ];
  if (o.noInbandParams) a.push('--no-inband-params');
  if (o.tcpOnly) a.push('--tcp-only');
  return a;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`zoo camera: ${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Starts one camera and resolves when it prints its URL. */
export async function startZooCamera(opts: ZooCameraOptions): Promise<ZooCamera> {
  // The password goes through the environment, not argv: argv is world-readable in /proc.
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, argsFor(opts), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ZOO_CAMERA_PASSWORD: opts.password ?? '' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  let urlResolve: (u: string) => void;
  const urlLine = new Promise<string>((resolve) => (urlResolve = resolve));
  lines.on('line', (line) => {
    if (line.startsWith('URL ')) urlResolve(line.slice(4).trim());
    else waiting.shift()?.(line);
  });
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    try {
      await withTimeout(exited, 3_000, 'exit');
    } catch {
      child.kill('SIGKILL');
      await exited;
    }
  };
  let url: string;
  try {
    url = await withTimeout(
      Promise.race([
        urlLine,
        exited.then(() => {
          throw new Error(`zoo camera exited before listening: ${stderr.trim()}`);
        }),
      ]),
      START_TIMEOUT_MS,
      'start',
    );
  } catch (err) {
    await kill();
    throw err;
  }
  // Commands are answered in order, one JSON line each.
  let chain: Promise<unknown> = Promise.resolve();
  const command = (cmd: string): Promise<Record<string, unknown>> => {
    const run = async (): Promise<Record<string, unknown>> => {
      const answer = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin.write(`${cmd}\n`);
      const reply = JSON.parse(await withTimeout(answer, COMMAND_TIMEOUT_MS, cmd)) as Record<string, unknown>;
      if (reply.ok !== true) throw new Error(`zoo camera: ${cmd}: ${String(reply.error)}`);
      return reply;
    };
    const p = chain.then(run, run);
    chain = p.catch(() => undefined);
    return p;
  };
  return {
    url,
    opts,
    async stats() {
      const r = await command('stats');
      return { frames: Number(r.frames), bytes: Number(r.bytes), longestGapMs: Number(r.longest_gap_ms) };
    },
    async stopSending() {
      await command('stop-sending');
    },
    async resume() {
      await command('resume');
    },
    async resize(width, height) {
      await command(`resize ${width}x${height}`);
    },
    close: kill,
  };
}

/** `H.264 High 1280x720@25 2000 kbit/s …`: what the camera sends, for the zoo's table. */
export function describeCamera(o: ZooCameraOptions): string {
  const codec = o.codec === 'h265' ? 'H.265 Main' : `H.264 ${PROFILE_NAMES[o.profile ?? 'high']}`;
  const extra = [
    o.bframes ? `${o.bframes} B-frames` : '',
    (o.slices ?? 1) > 1 ? `${o.slices} slices` : '',
    o.noInbandParams ? 'SPS/PPS in SDP only' : '',
    o.audio && o.audio !== 'none' ? `+ ${o.audio.toUpperCase()}` : '',
    o.auth && o.auth !== 'none' ? `${o.auth}` : '',
    o.tcpOnly ? 'TCP only' : '',
  ].filter(Boolean);
  return `${codec} ${o.width}x${o.height}@${o.fps} ${o.kbps}k GOP ${o.gopSeconds}s${extra.length ? ` ${extra.join(', ')}` : ''}`;
}

const PROFILE_NAMES = { 'constrained-baseline': 'CBP', main: 'Main', high: 'High' } as const;

/** One stream as ffprobe reports it (`-show_entries stream=…`). */
export interface ProbedStream {
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  has_b_frames?: number;
}

/**
 * What the camera really sends, read by FFmpeg's ffprobe over RTSP/TCP (no credentials: the auth cases
 * must refuse it). Resolves `{ streams }` or `{ error }` with ffprobe's message; bounded by 20 s.
 */
export function probeCamera(url: string): Promise<{ streams?: ProbedStream[]; error?: string }> {
  const args = ['-v', 'error', '-rtsp_transport', 'tcp', '-of', 'json'];
  args.push('-show_entries', 'stream=codec_name,profile,width,height,has_b_frames', '-i', url);
  return new Promise((resolve) => {
    execFile('ffprobe', args, { timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return resolve({ error: stderr.trim() || err.message });
      try {
        resolve({ streams: (JSON.parse(stdout) as { streams: ProbedStream[] }).streams });
      } catch {
        resolve({ error: `ffprobe printed no JSON: ${stdout.slice(0, 200)}` });
      }
    });
  });
}

const FFPROBE_PROFILES = { 'constrained-baseline': 'Constrained Baseline', main: 'Main', high: 'High' } as const;

/** Differences between what the camera was set to send and what ffprobe read from it; [] when it matches. */
export async function checkCameraSends(cam: ZooCamera): Promise<string[]> {
  const o = cam.opts;
  const probed = await probeCamera(cam.url);
  if (o.auth && o.auth !== 'none') {
    return /401/.test(probed.error ?? '')
      ? []
      : [`the camera did not ask for credentials (${probed.error ?? 'played'})`];
  }
  if (!probed.streams) return [`ffprobe could not read the camera: ${probed.error}`];
  const [video, audio] = probed.streams;
  const want = {
    codec_name: o.codec === 'h265' ? 'hevc' : 'h264',
    profile: o.codec === 'h265' ? 'Main' : FFPROBE_PROFILES[o.profile ?? 'high'],
    width: o.width,
    height: o.height,
    bframes: (o.bframes ?? 0) > 0,
    audio: { none: undefined, aac: 'aac', pcma: 'pcm_alaw' }[o.audio ?? 'none'],
  };
  const got = {
    codec_name: video?.codec_name,
    profile: video?.profile,
    width: video?.width,
    height: video?.height,
    bframes: (video?.has_b_frames ?? 0) > 0,
    audio: audio?.codec_name,
  };
  return Object.keys(want)
    .filter((k) => want[k as keyof typeof want] !== got[k as keyof typeof got])
    .map((k) => `${k}: set to ${want[k as keyof typeof want]}, sends ${got[k as keyof typeof got]}`);
}
