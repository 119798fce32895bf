/**
 * A DHAV byte stream re-muxed to fragmented MP4 as it passes (media/dhav.ts, media/dhav-fmp4.ts). A
 * recording camgate cannot re-mux (neither H.264 nor H.265) ends the answer with its reason logged: the
 * caller can fetch the file as it is instead.
 */
import { Transform } from "node:stream";
import type { FastifyBaseLogger } from "fastify";
import { DhavReader } from "../media/dhav.ts";
import { DhavToFmp4 } from "../media/dhav-fmp4.ts";

export function dhavToMp4Stream(log: FastifyBaseLogger, camera: string): Transform {
  const reader = new DhavReader();
  const remux = new DhavToFmp4();
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        for (const record of reader.push(chunk)) for (const bytes of remux.push(record)) this.push(bytes);
        done();
      } catch (error) {
        log.warn(
          { camera, err: error instanceof Error ? error.message : String(error) },
          "SD card file not re-muxed",
        );
        done(error instanceof Error ? error : new Error(String(error)));
      }
    },
    flush(done) {
      if (remux.pictures === 0)
        log.warn({ camera, skipped: reader.skipped }, "SD card file: no picture to re-mux");
      done();
    },
  });
}
