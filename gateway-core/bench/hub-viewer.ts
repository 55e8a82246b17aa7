/**
 * The viewer of `bench:hub`: does what the hub's viewer page does, from
 * Node — `POST /login` (JSON, same Origin), the `/viewer/ws` socket with the
 * session cookie, `start` with an SDP offer, trickled candidates — with a
 * werift RTCPeerConnection as the browser (it does not decode, so a loaded
 * machine does not starve it). The first frame is the first complete access
 * unit (RTP marker bit, RFC 6184 §5.1) that arrives over SRTP.
 */
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { RTCPeerConnection } from 'werift';
import WebSocket from 'ws';
import { loopbackViewerConfig } from '../test/helpers/webrtc-viewer.js';

export interface SignIn {
  cookie: string;
  ms: number;
}

/** Signs in as the page does; retries (bounded) while the hub is not answering yet. */
export async function signIn(url: string, ca: string, name: string, password: string): Promise<SignIn> {
  const body = JSON.stringify({ name, password });
  const t0 = performance.now();
  for (let attempt = 0; ; attempt++) {
    const r = await new Promise<{ status: number; cookie?: string } | Error>((resolve) => {
      const u = new URL('/login', url);
      const req = request(
        u,
        {
          method: 'POST',
          ca,
          agent: false,
          headers: { 'Content-Type': 'application/json', Origin: url, 'Content-Length': Buffer.byteLength(body) },
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          const cookie = res.headers['set-cookie']?.[0]?.split(';')[0];
          res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('sign-in timed out')));
      req.on('error', (err) => resolve(err));
      req.end(body);
    });
    if (!(r instanceof Error) && r.status === 200 && r.cookie) return { cookie: r.cookie, ms: performance.now() - t0 };
    if (attempt >= 20) throw new Error(`sign-in failed: ${r instanceof Error ? r.message : `HTTP ${r.status}`}`);
    await sleep(250);
  }
}

interface CameraEntry {
  gateway: string;
  camera: string;
  online: boolean;
}

export interface Play {
  /** From the camera showing online on the page to the `start` message. */
  waitedMs: number;
  /** From `start` to the first complete video frame. */
  firstFrameMs: number;
  close(): Promise<void>;
}

/**
 * Opens the viewer socket, waits (bounded) until the page lists the camera online — as the page does before
 * it opens a player — then starts it and waits for the first frame.
 */
export async function play(
  url: string,
  ca: string,
  cookie: string,
  gateway: string,
  camera: string,
  timeoutMs: number,
): Promise<Play> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/viewer/ws`, { ca, headers: { Origin: url, Cookie: cookie } });
  const pc = new RTCPeerConnection(loopbackViewerConfig());
  const close = async (): Promise<void> => {
    ws.close();
    await pc.close();
  };
  const id = 'bench';
  const t0 = performance.now();
  let started = 0;
  try {
    return await new Promise<Play>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no first frame within ${timeoutMs} ms`)), timeoutMs);
      const send = (m: unknown): void => ws.send(JSON.stringify(m));
      pc.onIceCandidate.subscribe((c) => {
        if (c?.candidate && c.candidate.split(' ')[4] === '127.0.0.1') {
          send({
            type: 'candidate',
            id,
            candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex },
          });
        }
      });
      pc.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          if (!rtp.header.marker || !started) return;
          clearTimeout(timer);
          const firstFrameMs = performance.now() - started;
          resolve({ waitedMs: started - t0, firstFrameMs, close });
        });
      });
      ws.on('error', (err) => reject(err));
      ws.on('close', (code) => reject(new Error(`viewer socket closed (${code})`)));
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as {
          type: string;
          cameras?: CameraEntry[];
          sdp?: string;
          candidate?: never;
          message?: string;
        };
        if (m.type === 'cameras' && !started) {
          if (!m.cameras?.some((c) => c.gateway === gateway && c.camera === camera && c.online)) return;
          started = performance.now();
          pc.addTransceiver('video', { direction: 'recvonly' });
          void pc.createOffer().then(async (offer) => {
            await pc.setLocalDescription(offer);
            send({ type: 'start', id, gateway, camera, offer: offer.sdp });
          });
        } else if (m.type === 'answer') void pc.setRemoteDescription({ type: 'answer', sdp: m.sdp! });
        else if (m.type === 'candidate') void pc.addIceCandidate(m.candidate!);
        else if (m.type === 'error') reject(new Error(`viewer error: ${m.message}`));
      });
    });
  } catch (err) {
    await close();
    throw err;
  }
}
