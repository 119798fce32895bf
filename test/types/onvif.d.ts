/** The npm `onvif` client's SOAP helpers (its own types cover the Cam class, not these). */
declare module "onvif/lib/utils.js" {
  export function parseSOAPString(
    xml: string,
    callback: (error: Error | null, data: unknown[]) => void,
    statusCode: number,
  ): void;
  export function linerase(data: unknown): Record<string, unknown>;
}
