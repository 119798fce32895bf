/**
 * The emulated camera's speaker: what it was sent through `audio.cgi?action=postAudio`, one recording per
 * talk (a connection), kept for tests to read. Bounded: the last 16 talks, each up to 2 minutes of 8 kHz
 * G.711 (960 kB); a longer talk keeps its first 2 minutes and counts the rest.
 */
export interface TalkRecording {
  codec: string;
  channel: number;
  bytes: Buffer;
  /** Bytes received beyond what is kept. */
  dropped: number;
  startedAt: number;
  endedAt: number | undefined;
}

const MAX_TALKS = 16;
const MAX_BYTES = 2 * 60 * 8000;

export class Speaker {
  private readonly talks: TalkRecording[] = [];
  /** Talks that are sending right now. */
  active = 0;

  start(codec: string, channel: number): { add(chunk: Buffer): void; end(): void } {
    const talk: TalkRecording = {
      codec,
      channel,
      bytes: Buffer.alloc(0),
      dropped: 0,
      startedAt: Date.now(),
      endedAt: undefined,
    };
    this.talks.push(talk);
    if (this.talks.length > MAX_TALKS) this.talks.shift();
    this.active++;
    const chunks: Buffer[] = [];
    let kept = 0;
    let ended = false;
    return {
      add(chunk) {
        const room = MAX_BYTES - kept;
        if (room > 0) {
          chunks.push(chunk.subarray(0, room));
          kept += Math.min(room, chunk.length);
        }
        talk.dropped += Math.max(0, chunk.length - Math.max(0, room));
        talk.bytes = Buffer.concat(chunks, kept);
      },
      end: () => {
        if (ended) return;
        ended = true;
        talk.endedAt = Date.now();
        this.active--;
      },
    };
  }

  recordings(): readonly TalkRecording[] {
    return this.talks;
  }
}
