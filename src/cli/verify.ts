/** `camgate verify <archive>`: checks an evidence archive's signature and every file it lists (exit 1 if not). */
import { verifyEvidence } from "../recording/evidence-verify.ts";

export async function runVerify(
  file: string,
  flags: { fingerprint?: string; json?: boolean },
  out: NodeJS.WritableStream,
): Promise<void> {
  const result = await verifyEvidence(file, flags.fingerprint);
  if (flags.json)
    out.write(
      `${JSON.stringify({ ok: result.ok, fingerprint: result.fingerprint ?? null, checks: result.lines, range: result.manifest?.range ?? null }, null, 2)}\n`,
    );
  else {
    for (const line of result.lines) out.write(`${line}\n`);
    if (result.manifest)
      out.write(
        `${result.ok ? "verified" : "NOT verified"}: ${result.manifest.cameras.map((c) => c.id).join(", ")} from ${result.manifest.range.from} to ${result.manifest.range.to}, made by camgate ${result.manifest.camgate} at ${result.manifest.createdAt}\n`,
      );
    else out.write("NOT verified\n");
  }
  if (!result.ok) process.exitCode = 1;
}
