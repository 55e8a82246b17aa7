/**
 * `camgate camera-sim` and `camgate demo` load the separate package @camgate/camera-sim when run (the package
 * depends on the core, so the core cannot depend on it). These tests run the real CLI with the package present
 * and with it hidden, and pin the CLI's view of the package's API at type-check time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type * as CameraSimPackage from '@camgate/camera-sim';
import { CAMERA_SIM_PACKAGE, loadCameraSim, type CameraSimModule } from '../../src/cli/load-camera-sim.js';

// Fails `npm run typecheck` when the package's startCameraSim no longer accepts what the CLI passes or no longer
// returns what the CLI reads.
const packageFitsTheCli: (pkg: typeof CameraSimPackage) => CameraSimModule = (pkg) => pkg;

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const HIDE = fileURLToPath(new URL('../fixtures/hide-camera-sim.ts', import.meta.url));
const WAIT_MS = 60_000; // a bound against hanging on a loaded machine, not a timing assertion

interface Run {
  code: number | null;
  out: string;
}

/**
 * Runs the CLI from source and resolves with its exit code and output. Once the output matches `until`, `whenReady`
 * runs with the match and then the CLI gets SIGINT.
 */
function camgate(
  args: string[],
  opts: { preload?: string[]; until?: RegExp; whenReady?: (m: RegExpExecArray) => Promise<void> } = {},
): Promise<Run> {
  const preload = (opts.preload ?? []).flatMap((p) => ['--import', p]);
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=camgate-source', ...preload, MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
  return new Promise((resolve) => {
    let ready = false;
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready ? null : (opts.until?.exec(out) ?? null);
      if (!m) return;
      ready = true;
      (opts.whenReady ?? (async () => {}))(m)
        .catch((err: unknown) => (out += `\nwhenReady failed: ${String(err)}`))
        .finally(() => child.kill('SIGINT'));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** One RTSP OPTIONS request (RFC 2326 §10.1) and the status line of the answer. */
async function rtspOptions(url: string): Promise<string> {
  const { hostname, port } = new URL(url.replace(/^rtsp:/, 'http:'));
  const sock = connect(Number(port), hostname);
  sock.setTimeout(WAIT_MS, () => sock.destroy(new Error('no RTSP answer')));
  sock.end(`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
  let answer = '';
  for await (const chunk of sock) answer += (chunk as Buffer).toString('latin1');
  return answer.split('\r\n')[0] ?? '';
}

/** DESCRIBE with the ONVIF back-channel Require header (ONVIF Streaming §5.3.1); resolves with the SDP. */
async function rtspDescribeOnvif(url: string): Promise<string> {
  const { hostname, port } = new URL(url.replace(/^rtsp:/, 'http:'));
  const sock = connect(Number(port), hostname);
  sock.setTimeout(WAIT_MS, () => sock.destroy(new Error('no RTSP answer')));
  sock.write(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n\r\n`);
  let answer = '';
  for await (const chunk of sock) {
    answer += (chunk as Buffer).toString('latin1');
    const len = Number(/Content-Length: (\d+)/i.exec(answer)?.[1] ?? NaN);
    const body = answer.indexOf('\r\n\r\n');
    if (body >= 0 && answer.length >= body + 4 + len) break;
  }
  sock.destroy();
  return answer;
}

describe('the camgate CLI and @camgate/camera-sim', () => {
  it('loads the installed package: its startCameraSim is the one the CLI calls', async () => {
    assert.equal(typeof packageFitsTheCli, 'function');
    const sim = await (await loadCameraSim()).startCameraSim({ port: 0, width: 64, height: 64 });
    try {
      assert.equal(await rtspOptions(sim.url), 'RTSP/1.0 200 OK');
    } finally {
      await sim.close();
    }
  });

  it('camgate camera-sim serves RTSP from the package until SIGINT', async () => {
    let status = '';
    const r = await camgate(['camera-sim', '--port', '0', '--width', '64', '--height', '64'], {
      until: /camgate camera-sim: (rtsp:\/\/\S+)\n/,
      whenReady: async (m) => {
        status = await rtspOptions(m[1]!);
      },
    });
    assert.equal(status, 'RTSP/1.0 200 OK', r.out);
    assert.equal(r.code, 0, r.out);
  });

  it('camgate camera-sim --audio/--tone-hz/--backchannel/--sync-marks start a camera with sound both ways', async () => {
    let sdp = '';
    const args = [
      'camera-sim',
      '--port',
      '0',
      '--width',
      '64',
      '--height',
      '64',
      '--audio',
      'pcma',
      '--tone-hz',
      '440',
    ];
    const r = await camgate([...args, '--backchannel', 'PCMU', '--sync-marks', '2'], {
      until: /camgate camera-sim: (rtsp:\/\/\S+)\n[^]*ONVIF back channel: PCMU\n/,
      whenReady: async (m) => {
        sdp = await rtspDescribeOnvif(m[1]!);
      },
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /audio: PCMA 8000 Hz, 440 Hz tone/);
    assert.match(sdp, /m=audio 0 RTP\/AVP 8\r\na=rtpmap:8 PCMA\/8000\r\na=recvonly\r\n/);
    assert.match(sdp, /m=audio 0 RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\na=sendonly\r\n/);
    const bad = await camgate(['camera-sim', '--port', '0', '--audio', 'opus']);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /--audio opus: expected aac, pcma or pcmu/);
  });

  for (const cmd of [
    ['camera-sim', '--port', '0'],
    ['demo', '--port', '0'],
  ]) {
    it(`camgate ${cmd[0]} without the package names the package to install`, async () => {
      const r = await camgate(cmd, { preload: [HIDE] });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`npm install ${CAMERA_SIM_PACKAGE} \\[CAMGATE_CAMERA_SIM_MISSING\\]`));
    });
  }

  it('a specifier that resolves to nothing fails with CAMGATE_CAMERA_SIM_MISSING', async () => {
    await assert.rejects(loadCameraSim('@camgate/no-such-camera-sim'), {
      code: 'CAMGATE_CAMERA_SIM_MISSING',
      message: /npm install @camgate\/no-such-camera-sim/,
    });
  });
});
