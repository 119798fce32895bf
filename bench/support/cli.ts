/** Runs the camgate CLI from the sources in its own process (`cli.ts emulate ...`, `cli.ts serve -c ...`). */
import { main } from "../../src/cli/main.ts";

await main([process.argv[0] ?? "node", "camgate", ...process.argv.slice(2)]);
