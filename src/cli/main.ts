/** The `camgate` command line. */
import { Command } from "commander";
import { VERSION } from "../version.ts";
import type { Serving } from "./serve.ts";

// Each command's module is loaded when the command runs: `serve` does not load the emulator (nor sharp, the
// video fixtures), the backup and provisioning tools, or the probe (issue 30: memory at idle).
const serve = () => import("./serve.ts");
const emulate = () => import("./emulate.ts");
const tools = () => import("./tools.ts");
const backups = () => import("./backup.ts");
const audit = () => import("./audit.ts");
const discover = () => import("./discover.ts");
const init = () => import("./init.ts");
const healthcheck = () => import("./healthcheck.ts");
const verify = () => import("./verify.ts");

/** Runs until SIGINT or SIGTERM, then stops once and resolves; SIGHUP reloads the config meanwhile. */
function untilSignal(serving: Serving): Promise<void> {
  return new Promise((resolve) => {
    const reload = () => void serving.reload();
    const shutdown = () => {
      process.off("SIGINT", shutdown);
      process.off("SIGTERM", shutdown);
      process.off("SIGHUP", reload);
      void serving.stop().then(resolve);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
    process.on("SIGHUP", reload);
  });
}

export async function main(argv: string[]): Promise<void> {
  const out = process.stdout;
  const program = new Command();
  program
    .name("camgate")
    .description("A self-hosted gateway for Amcrest and Dahua IP cameras.")
    .version(VERSION, "-V, --version", "print camgate's version")
    .showHelpAfterError();

  program
    .command("serve")
    .description(
      "run the gateway; without a config file (and no ./camgate.yaml), the built-in demo with emulated cameras",
    )
    .option("-c, --config <file>", "camgate.yaml to use (also $CAMGATE_CONFIG)")
    .action(async (flags: { config?: string }) => {
      await untilSignal(await (await serve()).runServe(flags, out));
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
    .option("--fps <n>", "frame rate of the MJPEG sub stream (Encode[0].ExtraFormat[0].Video.FPS)")
    .option(
      "--main-bitrate <bits>",
      "pad the RTSP main stream to this many bits per second (real cameras: 2-8M)",
    )
    .option("--long-gop", "a 10 s GOP on the main stream (the smart-codec case)")
    .option(
      "--counter-video",
      "main stream from the tiny I_PCM encoder: frame counter and clock readable from the pixels",
    )
    .option("--rtsp-sessions <n>", "RTSP sessions before the camera answers 403", "6")
    .option(
      "--security <preset>",
      "insecure | secure: the settings the security audit judges (docs/emulator.md)",
    )
    .option("--firmware <version>", "the firmware it reports, e.g. 2.420.AC00.15.R,build:2016-03-08")
    .option(
      "--discovery",
      "answer DHDiscover (UDP 37810) and WS-Discovery (3702) on every address: in a network namespace only",
    )
    .option(
      "--rtsp-port <port>",
      "the first camera's RTSP port (the others count up from it; 0: any free port)",
    )
    .action(async (flags) => {
      const stop = await (await emulate()).runEmulate(flags, out);
      await untilSignal({ stop, reload: async () => undefined });
    });

  program
    .command("snapshot <camera>")
    .description("save a snapshot of a configured camera")
    .option("-c, --config <file>", "camgate.yaml", "camgate.yaml")
    .option("-o, --output <file>", "where to write the JPEG", "snapshot.jpg")
    .option("--channel <n>", "camera channel (1-based)", "1")
    .action(async (camera: string, flags) => (await tools()).runSnapshot(camera, flags, out));

  program
    .command("ptz <camera> <command> [arg]")
    .description(
      "move a PTZ camera: up|down|left|right|leftup|rightup|leftdown|rightdown|zoomin|zoomout|stop|preset N|status",
    )
    .option("-c, --config <file>", "camgate.yaml", "camgate.yaml")
    .option("--speed <1-8>", "move speed", "4")
    .option("--duration <ms>", "how long a move lasts", "500")
    .action(async (camera: string, command: string, arg: string | undefined, flags) =>
      (await tools()).runPtz(camera, command, arg, flags, out),
    );

  const config = program.command("config").description("config file tools");
  config
    .command("check")
    .description("validate a config file (errors name the line and the field)")
    .requiredOption("-c, --config <file>", "camgate.yaml")
    .option(
      "--probe",
      "also log in to every camera once: reachability, credentials, model and firmware (never risks a lockout)",
    )
    .action(async (flags: { config: string; probe?: boolean }) => {
      if (!flags.probe) {
        (await tools()).runConfigCheck(flags.config, out);
        return;
      }
      if (!(await (await tools()).runConfigProbe(flags.config, out))) process.exitCode = 1;
    });

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  program
    .command("backup <command>")
    .description("config backups in git: run | list | show | diff")
    .option("-c, --config <file>", "camgate.yaml", "camgate.yaml")
    .option("--camera <id>", "only this camera (repeat for more)", collect)
    .option("--commit <ref>", "show: the version (default HEAD)")
    .option("--from <commit>", "diff: older version (default the one before the last)")
    .option("--to <commit>", "diff: newer version (default the last)")
    .action(async (command: string, flags) => (await backups()).runBackup(command, flags, out));

  program
    .command("healthcheck")
    .description("exit 0 if the camgate this config describes answers /healthz (its listener, HTTP or TLS)")
    .option("-c, --config <file>", "camgate.yaml", "camgate.yaml")
    .action(async (flags: { config: string }) => {
      if (!(await (await healthcheck()).runHealthcheck(flags, out))) process.exitCode = 1;
    });

  program
    .command("init")
    .description(
      "first run: asks for the admin, finds and checks your cameras, writes camgate.yaml (answers read line by line)",
    )
    .option("-c, --config <file>", "the file to write", "camgate.yaml")
    .option("--no-discover", "do not search the network; type the cameras' addresses")
    .option("--timeout <ms>", "how long to wait for cameras to answer the search", "3000")
    .action(async (flags: { config: string; discover?: boolean; timeout?: string }) => {
      if (!(await (await init()).runInit(flags, process.stdin, out))) process.exitCode = 1;
    });

  program
    .command("discover")
    .description(
      "find Dahua/Amcrest and ONVIF cameras on this host's networks (DHDiscover, WS-Discovery; no login)",
    )
    .option("-c, --config <file>", "camgate.yaml (marks the cameras it has already)", "camgate.yaml")
    .option("--json", "the result as JSON")
    .option("--timeout <ms>", "how long to wait for answers", "3000")
    .action(async (flags: { config: string; json?: boolean; timeout?: string }) =>
      (await discover()).runDiscover(flags, out),
    );

  program
    .command("verify <archive>")
    .description(
      "check an evidence archive: its signed manifest and every file in it (exit 1 if anything is off)",
    )
    .option("--fingerprint <sha256:hex>", "the key it must be signed with (GET /api/v1/evidence/key)")
    .option("--json", "the result as JSON")
    .action(async (archive: string, flags: { fingerprint?: string; json?: boolean }) =>
      (await verify()).runVerify(archive, flags, out),
    );

  program
    .command("audit")
    .description(
      "security audit of the cameras: settings, open doors, firmware advisories (reads only; exits 1 on a high or critical finding)",
    )
    .option("-c, --config <file>", "camgate.yaml", "camgate.yaml")
    .option("--camera <id>", "only this camera (repeat for more)", collect)
    .option("--json", "the reports as JSON")
    .action(async (flags: { config: string; camera?: string[]; json?: boolean }) => {
      if (!(await (await audit()).runAudit(flags, out))) process.exitCode = 1;
    });

  program
    .command("provision <command>")
    .description(
      "apply a template of config paths to cameras: plan (touches nothing) | apply (backs up first)",
    )
    .option("-c, --config <file>", "camgate.yaml", "camgate.yaml")
    .requiredOption(
      "-t, --template <file>",
      "template.yaml: config paths to values, ${camera.id} placeholders; or baseline: the security audit's hardening baseline",
    )
    .option("--camera <id>", "only this camera (repeat for more)", collect)
    .action(async (command: string, flags) => (await backups()).runProvision(command, flags, out));

  const token = program.command("token").description("credentials for users");
  token
    .command("create")
    .description("print a new random token and its sha256: hash (or, with --password, an scrypt: hash of it)")
    .option("--password <password>", "hash this password instead")
    .action(async (flags: { password?: string }) => (await tools()).runTokenCreate(flags, out));

  await program.parseAsync(argv);
}
