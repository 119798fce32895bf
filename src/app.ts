/**
 * The composition root: the list of camgate's parts, each a file in src/wiring/ (docs/architecture.md).
 * They start in this order and close in reverse; a camera this instance owns gets each part's per-camera
 * work in this order and gives it back in reverse. No module state; the returned handle's close() ends
 * everything it started.
 */
import type { Config } from "./config/schema.ts";
import { VERSION } from "./version.ts";
import { makeAccess } from "./wiring/access.ts";
import { makeAudit } from "./wiring/audit.ts";
import { makeBackups } from "./wiring/backups.ts";
import { type Camgate, type StartOptions, StartupError } from "./wiring/camgate.ts";
import { makeCluster } from "./wiring/cluster.ts";
import { openCore } from "./wiring/core.ts";
import { makeEvents } from "./wiring/events.ts";
import { makeHttp } from "./wiring/http.ts";
import { makeMotion } from "./wiring/motion.ts";
import { makeOnvif } from "./wiring/onvif.ts";
import { makeOwnership, openOwnedCameras } from "./wiring/ownership.ts";
import { PartRunner } from "./wiring/part.ts";
import { makeRecording } from "./wiring/recording.ts";
import { makeRelay } from "./wiring/relay.ts";
import { makeReloader } from "./wiring/reload.ts";
import { makeRtsp } from "./wiring/rtsp.ts";
import { startupProblems } from "./wiring/startup-problems.ts";
import { makeWebRtc } from "./wiring/webrtc.ts";

export { type Camgate, createLogger, type StartOptions, StartupError } from "./wiring/camgate.ts";
export { startupProblems } from "./wiring/startup-problems.ts";
export { VERSION };

export async function startCamgate(given: Config, options: StartOptions = {}): Promise<Camgate> {
  const problems = startupProblems(given);
  if (problems.length > 0) throw new StartupError(problems.join("\n"));
  const core = await openCore(given, options);
  const runner = new PartRunner(core.logger);
  runner.add(core);
  const ownership = runner.add(makeOwnership({ core }));
  const relay = runner.add(makeRelay({ core }));
  const access = runner.add(makeAccess({ core }));
  const events = runner.add(makeEvents({ core, ownership, relay }));
  const motion = runner.add(makeMotion({ core, relay, events }));
  const backups = runner.add(makeBackups({ core, ownership, events }));
  const audit = runner.add(makeAudit({ core, ownership, events }));
  const recording = runner.add(makeRecording({ core, ownership, relay, events }));
  const webrtc = runner.add(makeWebRtc({ core }));
  const rtsp = runner.add(makeRtsp({ core, access, relay }));
  const reloader = makeReloader({ core, runner, access, events, motion });
  const http = runner.add(
    makeHttp({ core, access, relay, events, motion, backups, audit, recording, webrtc, rtsp, reloader }),
  );
  const onvif = runner.add(makeOnvif({ core, http }));
  runner.add(openOwnedCameras({ ownership, runner }));
  runner.add(makeCluster({ core, events, runner }));
  await runner.start();
  return {
    url: core.addresses.url,
    passthroughUrls: http.passthroughUrls,
    rtspUrl: core.addresses.rtsp?.url,
    rtspPassthroughUrls: rtsp.passthroughUrls,
    onvifUrls: onvif.faces.urls,
    get onvifDiscoveryPort() {
      return onvif.faces.discoveryPort;
    },
    streams: relay.streams,
    rtspServer: rtsp.server,
    rtspSessions: rtsp.sessions,
    webrtc: webrtc.sessions,
    cameras: core.cameras,
    get cluster() {
      return core.cluster.coordinator;
    },
    db: core.db,
    events: events.pipeline,
    motion: motion.software,
    backups: backups.module,
    audit: audit.service,
    recording: { index: recording.index, backfill: recording.backfill },
    logger: core.logger,
    reload: reloader.reload,
    reloadFromFile: reloader.fromFile,
    close: () => runner.close(),
  };
}
