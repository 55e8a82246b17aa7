/**
 * Viewers for test/bench/engine-load.ts, in their own process so their CPU
 * is not the engine's: werift peer connections that receive (SRTP, RTCP
 * receiver reports and NACKs, as werift does) but decode nothing, so 16 of
 * them do not starve a small host the way 16 Chromium decoders do. Driven
 * with the official kurento-client, as the gateway drives the engine.
 *
 * argv: engine URL, camera URL, and optionally SO_RCVBUF bytes for the viewers' sockets and the SRTP
 * profile they offer (`cm`, as Chromium ends up with, or `gcm`, werift's own preference).
 * stdin, one command a line: `open N` (adds N viewers), `close` (closes all),
 * `stats`; stdout, one JSON line per command. Loopback only.
 */
import { createInterface } from 'node:readline';
import kurentoClient from 'kurento-client';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { chromiumSrtpProfiles } from './werift-srtp.js';

const [engineUrl, cameraUrl, rcvbuf, srtp] = process.argv.slice(2) as [string, string, string?, string?];
/** SO_RCVBUF for each viewer's UDP socket (bytes; 0: the system default, as a browser gets it). */
const RCVBUF = Number(rcvbuf ?? 0);
// kurento-client ships no types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Kc = any;

interface Viewer {
  pc: RTCPeerConnection;
  pipeline: Kc;
  packets: number;
  /** RTP marker bits seen: one per frame (RFC 6184 §5.1). */
  frames: number;
}

const viewers: Viewer[] = [];
const client: Kc = await kurentoClient(engineUrl, { failAfter: 1, duplicates_timeout: 50 });

function config(): ConstructorParameters<typeof RTCPeerConnection>[0] {
  return {
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceUseIpv6: false,
    iceUseTcp: false,
    iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === '127.0.0.1',
    codecs: {
      audio: [],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90000,
          payloadType: 102,
          parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
    },
  };
}

async function open(): Promise<Viewer> {
  const pc = new RTCPeerConnection(config());
  const pipeline: Kc = await client.create('MediaPipeline');
  const v: Viewer = { pc, pipeline, packets: 0, frames: 0 };
  const player: Kc = await pipeline.create('PlayerEndpoint', { uri: cameraUrl });
  const webrtc: Kc = await pipeline.create('WebRtcEndpoint');
  pc.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((rtp) => {
      v.packets++;
      if (rtp.header.marker) v.frames++;
    }),
  );
  pc.onIceCandidate.subscribe((c) => {
    if (!c?.candidate || c.candidate.split(' ')[4] !== '127.0.0.1') return;
    const ice = kurentoClient.getComplexType('IceCandidate')({
      candidate: c.candidate,
      sdpMid: c.sdpMid,
      sdpMLineIndex: c.sdpMLineIndex,
    });
    webrtc.addIceCandidate(ice).catch(() => undefined);
  });
  webrtc.on('IceCandidateFound', (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } }) => {
    void pc.addIceCandidate(e.candidate).catch(() => undefined);
  });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const offer = await pc.createOffer();
  const sld = pc.setLocalDescription(offer);
  await player.connect(webrtc);
  const answer: string = await webrtc.processOffer(offer.sdp);
  await sld;
  if (RCVBUF > 0) {
    // One werift process reads 16 viewers' sockets in turn; with the default buffer (208 KiB) a keyframe
    // sent to all of them overflows the sockets it has not got to yet: loss the engine then retransmits.
    for (const t of pc.getTransceivers()) {
      const ice = t.sender.transport.iceTransport.connection as unknown as {
        protocols: { transport?: { socket?: { setRecvBufferSize?(n: number): void } } }[];
      };
      for (const p of ice.protocols) p.transport?.socket?.setRecvBufferSize?.(RCVBUF);
    }
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  if (srtp !== 'gcm') chromiumSrtpProfiles(pc); // what the engine does for a browser (werift-srtp.ts)
  await webrtc.gatherCandidates();
  await player.play();
  return v;
}

const reply = (x: unknown): void => {
  process.stdout.write(`${JSON.stringify(x)}\n`);
};

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(/\s+/);
  try {
    if (cmd === 'open') {
      for (let i = 0; i < Number(arg); i++) viewers.push(await open());
      reply({ ok: true, viewers: viewers.length });
    } else if (cmd === 'close') {
      for (const v of viewers.splice(0)) {
        await v.pipeline.release().catch(() => undefined);
        await v.pc.close().catch(() => undefined);
      }
      reply({ ok: true });
    } else if (cmd === 'stats') {
      reply({ ok: true, packets: viewers.map((v) => v.packets), frames: viewers.map((v) => v.frames) });
    } else {
      reply({ ok: false, error: `unknown command ${cmd}` });
    }
  } catch (err) {
    reply({ ok: false, error: (err as Error).message });
  }
}
client.close();
process.exit(0);
