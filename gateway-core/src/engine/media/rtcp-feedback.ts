import type { RtcpPacket } from 'werift';

const SR = 200; // sender report (RFC 3550 §6.4.1)
const RR = 201; // receiver report (RFC 3550 §6.4.2)
const RTPFB = 205; // RTCP transport-layer feedback (RFC 4585 §6.1)
const NACK_FMT = 1; // Generic NACK (RFC 4585 §6.2.1)
const PSFB = 206; // RTCP payload-specific feedback (RFC 4585 §6.1)
const PLI_FMT = 1; // Picture Loss Indication (RFC 4585 §6.3.1)
const FIR_FMT = 4; // Full Intra Request (RFC 5104 §4.3.1)

/** What a viewer asks of the sender of one media SSRC. */
export interface FeedbackHandlers {
  /** Generic NACK: sequence numbers the viewer did not receive. */
  nack(lost: number[]): void;
  /** PLI or FIR: the viewer needs a keyframe. */
  keyframe(kind: 'PLI' | 'FIR'): void;
  /** A report block about the stream: LSR and DLSR (RFC 3550 §6.4.1), for the round-trip time. */
  report?(lsr: number, dlsr: number): void;
}

/**
 * A listener for werift's parsed RTCP that passes on the feedback and the
 * report blocks about `ssrc` and ignores the rest (other streams).
 */
export function feedbackListener(ssrc: number, on: FeedbackHandlers): (p: RtcpPacket) => void {
  return (p) => {
    if (p.type === SR || p.type === RR) {
      const reports = (p as { reports?: { ssrc?: number; lsr?: number; dlsr?: number }[] }).reports;
      if (!on.report || !Array.isArray(reports)) return;
      for (const r of reports) {
        if (r.ssrc === ssrc && typeof r.lsr === 'number' && typeof r.dlsr === 'number') on.report(r.lsr, r.dlsr);
      }
      return;
    }
    if (p.type === RTPFB) {
      const nack = (p as { feedback?: { count?: number; mediaSourceSsrc?: number; lost?: number[] } }).feedback;
      if (nack?.count === NACK_FMT && nack.mediaSourceSsrc === ssrc && Array.isArray(nack.lost)) on.nack(nack.lost);
      return;
    }
    if (p.type !== PSFB) return;
    const fb = (p as { feedback?: { count?: number; mediaSsrc?: number; fir?: { ssrc: number }[] } }).feedback;
    if (!fb) return;
    if (fb.count === PLI_FMT && fb.mediaSsrc === ssrc) on.keyframe('PLI');
    // RFC 5104 §4.3.1.2: a FIR names its target SSRC in the FCI entries (the header's media SSRC is 0).
    else if (fb.count === FIR_FMT && (fb.mediaSsrc === ssrc || fb.fir?.some((e) => e.ssrc === ssrc))) {
      on.keyframe('FIR');
    }
  };
}
