/** What every media consumer receives: one picture's NAL units, or one audio frame. */

export type VideoCodec = "h264" | "h265";

export interface AccessUnit {
  /** NAL units without start codes, in stream order (parameter sets first on a keyframe). */
  nalus: Uint8Array[];
  /** The camera's RTP timestamp (90 kHz). */
  timestamp: number;
  /** A decoder can start here: an IDR (H.264) or an IRAP picture (H.265). */
  keyframe: boolean;
  /** Total NAL unit bytes. */
  bytes: number;
}

export interface AudioFrame {
  /** The codec's own frame (an AAC raw data block, or G.711 samples). */
  data: Uint8Array;
  /** RTP timestamp in the audio clock. */
  timestamp: number;
}

/** Limits on what one access unit may grow to (marker bits lost, a hostile camera): gortsplib uses 8 MiB. */
export const MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;
export const MAX_NALUS_PER_ACCESS_UNIT = 256;

/** Why a depacketizer dropped data, counted for stream info. */
export interface DepacketizerStats {
  accessUnits: number;
  /** Access units dropped (a sequence gap, a size cap), and the frames skipped until the next keyframe. */
  dropped: number;
  gaps: number;
  oversized: number;
  /** Packets of a kind camgate does not take (STAP-B, MTAP, FU-B) or malformed ones. */
  refused: number;
}

export function emptyStats(): DepacketizerStats {
  return { accessUnits: 0, dropped: 0, gaps: 0, oversized: 0, refused: 0 };
}
