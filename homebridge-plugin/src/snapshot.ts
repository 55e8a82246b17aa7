/**
 * Snapshots for the camera tile: the camera's snapshot URL when configured,
 * otherwise one frame grabbed from RTSP with FFmpeg where it is installed.
 * Both are bounded in time and size; errors never carry credentials.
 */
import { spawn, spawnSync } from 'node:child_process';

export const SNAPSHOT_LIMITS = {
  timeoutMs: 10_000, // 10 s: Home shows the previous picture meanwhile
  maxBytes: 8 * 1024 * 1024, // 8 MiB: a 4K JPEG is ~2 MiB
} as const;

export type SnapshotSource = 'snapshot-url' | 'ffmpeg' | 'none';

let ffmpegPath: string | null | undefined;

/** The FFmpeg on PATH, or null (looked up once). */
export function findFfmpeg(): string | null {
  if (ffmpegPath === undefined) {
    const r = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore', timeout: 5_000 });
    ffmpegPath = r.status === 0 ? 'ffmpeg' : null;
  }
  return ffmpegPath;
}

/** GET of a snapshot URL; credentials in the URL become a Basic header (RFC 7617). */
export async function fetchSnapshot(url: string): Promise<Buffer> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  const res = await fetch(u, { headers, signal: AbortSignal.timeout(SNAPSHOT_LIMITS.timeoutMs), redirect: 'error' });
  if (!res.ok || !res.body) throw new Error(`snapshot URL answered HTTP ${res.status}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > SNAPSHOT_LIMITS.maxBytes) throw new Error(`snapshot larger than ${SNAPSHOT_LIMITS.maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** One JPEG frame from the RTSP stream, scaled to the requested width (argument array, never a shell string). */
export function grabFrame(rtspUrl: string, width: number): Promise<Buffer> {
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) return Promise.reject(new Error('FFmpeg is not installed'));
  const w = Number.isInteger(width) && width >= 16 && width <= 4096 ? width : 640;
  const args = ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', rtspUrl];
  args.push('-frames:v', '1', '-vf', `scale=${w}:-2`, '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1');
  return ffmpegJpeg(ffmpeg, args, undefined, 'FFmpeg grabbed no frame');
}

/**
 * Runs FFmpeg (argument array, never a shell string) and resolves with the one JPEG it writes to stdout, fed
 * `input` on stdin when given. Bounded by SNAPSHOT_LIMITS in time and size; `failure` starts the error message.
 */
export function ffmpegJpeg(
  ffmpeg: string,
  args: string[],
  input: Buffer | undefined,
  failure: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), SNAPSHOT_LIMITS.timeoutMs);
    if (input && child.stdin) {
      child.stdin.on('error', () => undefined); // FFmpeg may exit before reading everything: 'close' reports it
      child.stdin.end(input);
    }
    child.stdout?.on('data', (c: Buffer) => {
      size += c.length;
      if (size > SNAPSHOT_LIMITS.maxBytes) child.kill('SIGKILL');
      else chunks.push(c);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`FFmpeg failed to start: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const jpeg = Buffer.concat(chunks);
      // JPEG starts with SOI FF D8 (ITU T.81 Annex B.2)
      if (code === 0 && jpeg.length > 2 && jpeg[0] === 0xff && jpeg[1] === 0xd8) resolve(jpeg);
      else reject(new Error(`${failure} (exit ${String(code)})`));
    });
  });
}
