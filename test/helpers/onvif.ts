/** The npm `onvif` client as the tests use it: its callback methods as promises, and a connected Cam. */
import { Cam } from "onvif";

/** Runs a callback-style `onvif` method as a promise. */
export function call<T>(run: (callback: (error: Error | null, result?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, result) =>
      error || result === undefined ? reject(error ?? new Error("no answer")) : resolve(result),
    );
  });
}

/** A Cam that has learnt the device's clock, services and profiles. */
export function connectCam(options: {
  port: number;
  username: string;
  password: string;
  timeout?: number;
}): Promise<Cam> {
  return new Promise((resolve, reject) => {
    const cam: Cam = new Cam({ hostname: "127.0.0.1", timeout: 10_000, ...options }, (error) =>
      error ? reject(error) : resolve(cam),
    );
  });
}
