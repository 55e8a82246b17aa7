/**
 * AAC framing helpers: the AudioSpecificConfig a camera announces in its SDP
 * (ISO/IEC 14496-3 §1.6.2.1), ADTS headers (ISO/IEC 14496-3 §1.A.2.2) for
 * decoders that want self-delimited frames (FFmpeg reading a pipe), and the
 * RFC 3640 AAC-hbr payload of one access unit for senders (the back channel).
 */

/** ISO/IEC 14496-3 §1.6.3.4 Table 1.16: samplingFrequencyIndex → Hz. */
const SAMPLING_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface AudioSpecificConfig {
  /** audioObjectType (2 = AAC LC, 5 = SBR, 29 = PS…). */
  objectType: number;
  samplingIndex: number;
  /** Hz; from the index, or the explicit 24-bit value (index 15). */
  sampleRate: number;
  /** channelConfiguration (1 = mono, 2 = stereo…; 0 = defined in-band). */
  channelConfig: number;
}

/** Reads the leading fields of an AudioSpecificConfig; undefined when it is too short or uses reserved values. */
export function parseAudioSpecificConfig(config: Buffer): AudioSpecificConfig | undefined {
  if (!Buffer.isBuffer(config) || config.length < 2) return undefined;
  let bitPos = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bitPos++) {
      const byte = config[bitPos >> 3];
      if (byte === undefined) throw new RangeError('short');
      v = v * 2 + ((byte >> (7 - (bitPos & 7))) & 1);
    }
    return v;
  };
  try {
    let objectType = read(5);
    if (objectType === 31) objectType = 32 + read(6); // §1.6.2.1 GetAudioObjectType()
    const samplingIndex = read(4);
    const sampleRate = samplingIndex === 15 ? read(24) : SAMPLING_RATES[samplingIndex];
    if (sampleRate === undefined || sampleRate === 0) return undefined;
    const channelConfig = read(4);
    return { objectType, samplingIndex, sampleRate, channelConfig };
  } catch {
    return undefined;
  }
}

/**
 * One ADTS frame (7-byte header without CRC, then the access unit). ADTS can
 * only carry the object types 1–4 in its 2-bit profile field and an indexed
 * sampling rate; undefined otherwise (or for an AU too large for 13 bits).
 */
export function adtsFrame(config: AudioSpecificConfig, au: Buffer): Buffer | undefined {
  const length = au.length + 7;
  if (config.objectType < 1 || config.objectType > 4 || config.samplingIndex > 12 || length > 0x1fff) return undefined;
  if (config.channelConfig > 7) return undefined;
  const h = Buffer.alloc(7);
  h[0] = 0xff;
  h[1] = 0xf1; // syncword, MPEG-4, layer 0, protection_absent = 1
  h[2] = ((config.objectType - 1) << 6) | (config.samplingIndex << 2) | (config.channelConfig >> 2);
  h[3] = ((config.channelConfig & 3) << 6) | (length >> 11);
  h[4] = (length >> 3) & 0xff;
  h[5] = ((length & 7) << 5) | 0x1f; // buffer fullness 0x7ff: variable rate
  h[6] = 0xfc; // rest of buffer fullness; one raw data block
  return Buffer.concat([h, au]);
}

/** The largest AU an AAC-hbr AU-size field (13 bits, RFC 3640 §3.3.6) can describe. */
const MAX_HBR_AU_BYTES = 0x1fff;

/**
 * RFC 3640 §3.3.6 AAC-hbr payload for one whole access unit: AU-headers-length
 * (16 bits: one 16-bit header), AU-size (13 bits) and AU-Index 0 (3 bits), then
 * the AU. Senders set the RTP marker bit on it (§3.2: it holds complete AUs).
 * @protocol
 */
export function aacRtpPayload(au: Buffer): Buffer {
  if (!Buffer.isBuffer(au)) throw new TypeError('aacRtpPayload: au must be a Buffer');
  if (au.length === 0 || au.length > MAX_HBR_AU_BYTES) {
    throw new RangeError(`aacRtpPayload: au must be 1..${MAX_HBR_AU_BYTES} bytes, got ${au.length}`);
  }
  const head = Buffer.from([0x00, 0x10, au.length >> 5, (au.length & 0x1f) << 3]);
  return Buffer.concat([head, au]);
}
