import { CamgateError } from '../util/index.js';
import { cliLogger, LOG_HELP, LOG_OPTIONS, parse } from './common.js';
import { CAMERA_SIM_PACKAGE, loadCameraSim } from './load-camera-sim.js';
import { say, untilSignal } from './output.js';

export const CAMERA_SIM_HELP = `camgate camera-sim — a simulated IP camera on loopback (RTSP, Digest auth, live H.264)

Usage:
  camgate camera-sim [--port 8554] [--username admin --password PASS]
                     [--width 1280 --height 720 --fps 25 --gop 4] [--vulnerable]
                     [--audio aac|pcma|pcmu [--tone-hz 1000]] [--backchannel pcma|pcmu|aac]
                     [--sync-marks SECONDS]

The picture shows a frame counter and a clock, so live video is easy to tell
from a frozen frame. --vulnerable adds what a cheap DVR exposes (an HTTP admin
page and a telnet login prompt) for the exposure checks to find.

--audio adds a microphone: a sine tone as a second RTP track (AAC-LC 16 kHz
mono, encoded once by FFmpeg, or G.711 at 8 kHz). --backchannel adds a
speaker: the ONVIF back channel (Require: www.onvif.org/ver20/backchannel).
--sync-marks N flashes the picture white and beeps at the same instant every
N seconds (the beep replaces the continuous tone), for measuring A/V sync.

Options:
      --port N          RTSP port (default 8554; 0 picks a free one)
      --path P          stream path (default /stream1)
      --username U      require Digest auth with this user name
      --password P      ... and this password
      --width/--height  picture size (default 1280x720)
      --fps N           frames per second (default 25)
      --gop S           seconds between keyframes (default 4)
      --vulnerable      also serve an HTTP admin page and a telnet banner
      --audio CODEC     audio track: aac, pcma or pcmu (default none)
      --tone-hz N       frequency of the tone in Hz (default 1000)
      --backchannel C   ONVIF back channel accepting pcma, pcmu or aac (default none)
      --sync-marks S    a white flash and a beep together every S seconds (1..60)
${LOG_HELP}

The camera is the package ${CAMERA_SIM_PACKAGE}, installed beside camgate.`;

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CamgateError('CAMGATE_USAGE', `--${name} ${v}: expected a number`);
  return n;
}

const CODECS = { aac: 'AAC', pcma: 'PCMA', pcmu: 'PCMU' } as const;

function codec(v: string | undefined, name: string): 'AAC' | 'PCMA' | 'PCMU' | undefined {
  if (v === undefined) return undefined;
  const c = CODECS[v.toLowerCase() as keyof typeof CODECS] as 'AAC' | 'PCMA' | 'PCMU' | undefined;
  if (!c) throw new CamgateError('CAMGATE_USAGE', `--${name} ${v}: expected aac, pcma or pcmu`);
  return c;
}

export async function runCameraSim(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...LOG_OPTIONS,
    port: { type: 'string' },
    path: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    fps: { type: 'string' },
    gop: { type: 'string' },
    vulnerable: { type: 'boolean' },
    audio: { type: 'string' },
    'tone-hz': { type: 'string' },
    backchannel: { type: 'string' },
    'sync-marks': { type: 'string' },
  });
  if (values.help) return (say(CAMERA_SIM_HELP), 0);
  const audio = codec(values.audio, 'audio');
  const backchannel = codec(values.backchannel, 'backchannel');
  if (values['tone-hz'] !== undefined && !audio) throw new CamgateError('CAMGATE_USAGE', '--tone-hz needs --audio');
  const { startCameraSim } = await loadCameraSim();
  const sim = await startCameraSim({
    port: num(values.port, 'port', 8554),
    path: values.path ?? '/stream1',
    username: values.username,
    password: values.password,
    width: num(values.width, 'width', 1280),
    height: num(values.height, 'height', 720),
    fps: num(values.fps, 'fps', 25),
    gopSeconds: num(values.gop, 'gop', 4),
    vulnerable: values.vulnerable ? { http: true, telnet: true } : undefined,
    audio: audio ? { codec: audio, toneHz: num(values['tone-hz'], 'tone-hz', 1000) } : undefined,
    backchannel: backchannel ? { codec: backchannel } : undefined,
    syncMarks: values['sync-marks'] ? { everySeconds: num(values['sync-marks'], 'sync-marks', 0) } : undefined,
    logger: cliLogger(values, 'camera-sim'),
  });
  say(`camgate camera-sim: ${sim.url}${values.username ? ' (Digest auth)' : ''}`);
  if (sim.audio) say(`  audio: ${sim.audio.codec} ${sim.audio.sampleRate} Hz, ${sim.audio.toneHz} Hz tone`);
  if (backchannel) say(`  ONVIF back channel: ${backchannel}`);
  if (sim.httpPort) say(`  vulnerable services: http://127.0.0.1:${sim.httpPort}/  telnet 127.0.0.1 ${sim.telnetPort}`);
  await untilSignal();
  await sim.close();
  return 0;
}
