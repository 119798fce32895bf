#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm ci` builds it through the `prepare` script.
import { main } from "../dist/cli/main.js";

main(process.argv).catch((error) => {
  process.stderr.write(`camgate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
