/**
 * What the schema alone cannot see: ids used twice, references to cameras that do not exist, ports that
 * collide, and the secure-by-default rules (without users only loopback; Basic never
 * in clear text across a network, unless `server.allowInsecure: true` is written out). One function, run by
 * `camgate config check` and by `camgate serve` alike, so the two can never disagree.
 */
import { formatListen } from "./listen.ts";
import type { Config } from "./schema.ts";

export interface ConfigIssue {
  /** Where in the config (`["cameras", 0, "passthroughPort"]`), for the line number and the field. */
  path: (string | number)[];
  message: string;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function validateConfig(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const issue = (path: (string | number)[], message: string) => issues.push({ path, message });

  const ids = new Set<string>();
  config.cameras.forEach((camera, i) => {
    if (ids.has(camera.id)) issue(["cameras", i, "id"], `"${camera.id}" is used twice`);
    ids.add(camera.id);
    const url = new URL(camera.url);
    if (url.username !== "" || url.password !== "")
      issue(
        ["cameras", i, "url"],
        "must not carry credentials (they would end up in logs); use username and password",
      );
  });

  const names = new Set<string>();
  const tokens = new Map<string, string>();
  config.users.forEach((user, i) => {
    if (names.has(user.name)) issue(["users", i, "name"], `"${user.name}" is used twice`);
    names.add(user.name);
    for (const camera of user.cameras)
      if (camera !== "*" && !ids.has(camera)) issue(["users", i, "cameras"], `no camera "${camera}"`);
    if (user.token !== undefined) {
      const other = tokens.get(user.token);
      if (other !== undefined)
        issue(["users", i, "token"], `the same token as user "${other}": a token must name one user`);
      tokens.set(user.token, user.name);
    }
  });
  if (config.server.metricsToken !== undefined && tokens.has(config.server.metricsToken))
    issue(["server", "metricsToken"], "must differ from every user's token");

  config.webhooks.forEach((webhook, i) => {
    for (const camera of webhook.cameras)
      if (camera !== "*" && !ids.has(camera)) issue(["webhooks", i, "cameras"], `no camera "${camera}"`);
  });

  const targets = new Set<string>();
  config.notify.forEach((target, i) => {
    if (targets.has(target.name)) issue(["notify", i, "name"], `"${target.name}" is used twice`);
    targets.add(target.name);
    for (const camera of target.cameras)
      if (camera !== "*" && !ids.has(camera)) issue(["notify", i, "cameras"], `no camera "${camera}"`);
    if (target.user !== undefined && !names.has(target.user))
      issue(["notify", i, "user"], `no user "${target.user}"`);
  });

  // Ports camgate listens on, on the same host: two servers cannot share one.
  const ports = new Map<number, string>();
  const claim = (port: number, what: string, path: (string | number)[]) => {
    if (port === 0) return;
    const other = ports.get(port);
    if (other !== undefined) issue(path, `port ${port} is already ${other}`);
    else ports.set(port, what);
  };
  claim(config.server.listen.port, "server.listen", ["server", "listen"]);
  config.cameras.forEach((camera, i) => {
    if (camera.passthroughPort !== undefined)
      claim(camera.passthroughPort, `cameras.${camera.id}.passthroughPort`, [
        "cameras",
        i,
        "passthroughPort",
      ]);
  });
  if (config.server.rtsp?.tls && !config.server.tls)
    issue(["server", "rtsp", "tls"], "RTSPS uses server.tls's certificate: configure server.tls");
  if (config.server.rtsp)
    claim(config.server.rtsp.listen.port, "server.rtsp.listen", ["server", "rtsp", "listen"]);
  config.cameras.forEach((camera, i) => {
    if (camera.rtspPassthroughPort !== undefined) {
      if (!config.server.rtsp)
        issue(["cameras", i, "rtspPassthroughPort"], "needs camgate's RTSP server (server.rtsp)");
      claim(camera.rtspPassthroughPort, `cameras.${camera.id}.rtspPassthroughPort`, [
        "cameras",
        i,
        "rtspPassthroughPort",
      ]);
    }
  });
  config.cameras.forEach((camera, i) => {
    if (camera.protocol !== "onvif") return;
    // Both passthroughs hand a client the camera's own Dahua URLs (CGI, /cam/realmonitor), which an ONVIF
    // camera of another make does not have.
    for (const key of ["passthroughPort", "rtspPassthroughPort"] as const)
      if (camera[key] !== undefined)
        issue(
          ["cameras", i, key],
          "serves Dahua's own URLs, which a camera with protocol: onvif does not have",
        );
  });
  config.cameras.forEach((camera, i) => {
    const motion = camera.motion;
    if (!motion?.enabled) return;
    // camgate's MJPEG is Dahua's mjpg/video.cgi; an ONVIF camera's pictures come as snapshots.
    if (camera.protocol === "onvif" && motion.frames === "mjpeg")
      issue(
        ["cameras", i, "motion", "frames"],
        "an ONVIF camera has no MJPEG stream here: use frames: snapshots",
      );
    // Confirming needs the camera's own motion, which comes on its event stream.
    const eventsOn = camera.events?.enabled ?? config.events.enabled;
    if (motion.use === "confirm" && !eventsOn)
      issue(
        ["cameras", i, "motion", "use"],
        "confirm needs the camera's event stream (events are off for it): turn them on, or use: detect",
      );
    const names = motion.zones.map((zone) => zone.name);
    names.forEach((name, z) => {
      if (names.indexOf(name) !== z)
        issue(["cameras", i, "motion", "zones", z, "name"], `a second zone named "${name}"`);
    });
  });
  config.cameras.forEach((camera, i) => {
    if (camera.onvifPort === undefined) return;
    // A profile's stream URI is camgate's RTSP server: without it there is nothing to hand a client.
    if (!config.server.rtsp) issue(["cameras", i, "onvifPort"], "needs camgate's RTSP server (server.rtsp)");
    claim(camera.onvifPort, `cameras.${camera.id}.onvifPort`, ["cameras", i, "onvifPort"]);
  });
  if (config.server.onvif.discovery && config.cameras.some((camera) => camera.onvifPort !== undefined))
    claim(config.server.onvif.discoveryPort, "server.onvif.discoveryPort", [
      "server",
      "onvif",
      "discoveryPort",
    ]);
  if (config.smtp) claim(config.smtp.listen.port, "smtp.listen", ["smtp", "listen"]);
  if (config.mqtt?.embedded)
    claim(config.mqtt.embeddedListen.port, "mqtt.embeddedListen", ["mqtt", "embeddedListen"]);
  if (config.mqtt && !config.mqtt.embedded && config.mqtt.url === undefined)
    issue(["mqtt"], "set mqtt.url, or mqtt.embedded: true");

  const { host } = config.server.listen;
  const listen = formatListen(config.server.listen);
  if (!isLoopback(host) && !config.server.allowInsecure) {
    if (config.users.length === 0)
      issue(
        ["server", "listen"],
        `refusing to listen on ${listen} without users: anyone on the network could use your cameras. ` +
          "Add users (see docs/configuration.md), listen on 127.0.0.1, or set server.allowInsecure: true if you really mean it.",
      );
    else if (!config.server.tls && config.users.some((user) => user.password !== undefined))
      issue(
        ["server", "listen"],
        `refusing Basic authentication on ${listen} without TLS: passwords would cross the network in clear text. ` +
          "Configure server.tls, or set server.allowInsecure: true (e.g. behind a TLS-terminating proxy on the same host).",
      );
  }
  const rtsp = config.server.rtsp;
  if (rtsp && !isLoopback(rtsp.listen.host) && !config.server.allowInsecure) {
    const rtspListen = formatListen(rtsp.listen);
    if (config.users.length === 0)
      issue(
        ["server", "rtsp", "listen"],
        `refusing RTSP on ${rtspListen} without users: anyone on the network could watch your cameras. ` +
          "Add users, listen on 127.0.0.1, or set server.allowInsecure: true if you really mean it.",
      );
    else if (!rtsp.tls && rtsp.authMethods.length === 1 && rtsp.authMethods[0] === "basic")
      issue(
        ["server", "rtsp", "authMethods"],
        `refusing Basic as the only RTSP authentication on ${rtspListen} without TLS: passwords would cross ` +
          "the network in clear text. Add digest, set server.rtsp.tls: true, or server.allowInsecure: true.",
      );
  }
  return issues;
}

/** Basic is offered on RTSP only where a password cannot be read on the way: loopback, RTSPS, or insisted. */
export function effectiveRtspAuthMethods(config: Config): ("basic" | "digest")[] {
  const rtsp = config.server.rtsp;
  if (!rtsp) return [];
  const clearText = !rtsp.tls && !isLoopback(rtsp.listen.host) && !config.server.allowInsecure;
  return clearText ? rtsp.authMethods.filter((method) => method !== "basic") : [...rtsp.authMethods];
}

/** `cameras[0].passthroughPort` */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path)
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out || "(top level)";
}
