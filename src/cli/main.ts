/** The `camgate` command line. */
import { Command } from "commander";
import { runEmulate } from "./emulate.ts";
import { runDemo } from "./serve.ts";

/** Runs until a signal arrives, then calls `stop` once and resolves. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const shutdown = () => {
      process.off("SIGINT", shutdown);
      process.off("SIGTERM", shutdown);
      void stop().then(resolve);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  });
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name("camgate")
    .description("A self-hosted gateway for Amcrest and Dahua IP cameras.")
    .showHelpAfterError();

  program
    .command("serve")
    .description("run camgate; without a config file, the built-in demo with emulated cameras")
    .action(async () => {
      await untilSignal(await runDemo(process.stdout));
    });

  program
    .command("emulate")
    .description("run one or more emulated Amcrest/Dahua cameras until Ctrl-C")
    .requiredOption(
      "--profile <name>",
      "amcrest-ip2m-841b | amcrest-ipm-723w | dahua-2024 | legacy-2014 | nvr-strict-nonce",
    )
    .option("--listen <host:port>", "address of the first camera; more take the next ports", "127.0.0.1:0")
    .option("--username <name>", "camera user", "admin")
    .option("--password <password>", "camera password", "admin")
    .option("--count <n>", "how many cameras", "1")
    .option("--smtp <url>", "send alarm e-mails to smtp://user:pass@host:port")
    .option("--motion-every <seconds>", "emit a motion start/stop cycle this often (0: never)")
    .action(async (flags) => {
      await untilSignal(await runEmulate(flags, process.stdout));
    });

  await program.parseAsync(argv);
}
