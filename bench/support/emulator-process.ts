/** Runs `camgate emulate` from the sources in its own process, so benchmarks do not share a core with it. */
import { main } from "../../src/cli/main.ts";

await main([process.argv[0] ?? "node", "camgate", "emulate", ...process.argv.slice(2)]);
