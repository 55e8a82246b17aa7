/**
 * A camera with a real encoder (x264 with or without B-frames, x265; A-law or AAC tone; ONVIF back channel): GStreamer's RTSP
 * server from test/fixtures/encoder-rtsp-camera.py, on 127.0.0.1 and a free port.
 * The process ends when the test closes it (or when the test process dies: it exits on
 * stdin EOF), and only that process is ever stopped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/encoder-rtsp-camera.py', import.meta.url));
/** Debian's Python, which has the GStreamer bindings (python3-gi), whatever python3 is first on PATH. */
const PYTHON = '/usr/bin/python3';

export interface EncoderCameraOptions {
  codec?: 'h264' | 'h265';
  /** x264 B-frames between references (no B-pyramid: the B-frames are non-reference). */
  bframes?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** A sine tone as G.711 A-law (payload type 8) or AAC (mpeg4-generic, RFC 3640, 16 kHz mono). */
  audio?: 'none' | 'pcma' | 'aac';
  /** Frequency of the tone, Hz (default 1000). */
  toneHz?: number;
  /**
   * Serve with GStreamer's ONVIF server and a PCMA back channel, decoded to 16-bit little-endian
   * PCM (8 kHz mono) into this file.
   */
  backchannelOut?: string;
}

export interface EncoderCamera {
  /** rtsp://127.0.0.1:port/cam */
  url: string;
  fps: number;
  close(): Promise<void>;
}

export async function startEncoderCamera(o: EncoderCameraOptions = {}): Promise<EncoderCamera> {
  const fps = o.fps ?? 25;
  const args = [
    SCRIPT,
    '--codec',
    o.codec ?? 'h264',
    '--bframes',
    String(o.bframes ?? 0),
    '--width',
    String(o.width ?? 320),
    '--height',
    String(o.height ?? 240),
    '--fps',
    String(fps),
    '--audio',
    o.audio ?? 'none',
    '--tone',
    String(o.toneHz ?? 1000),
  ];
  if (o.backchannelOut !== undefined) args.push('--backchannel-out', o.backchannelOut);
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`encoder camera did not start in 20 s: ${stderr}`)), 20_000);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"port": (\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`encoder camera exited (${code}): ${stderr}`));
    });
  });
  return {
    url: `rtsp://127.0.0.1:${port}/cam`,
    fps,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin.end(); // the fixture quits on EOF
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
