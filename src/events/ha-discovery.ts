/**
 * Home Assistant MQTT discovery, by HA's own conventions (https://www.home-assistant.io/integrations/mqtt/):
 * one bridge device for camgate itself, one device per camera that names the bridge in `via_device` (so HA
 * does not invent an "Unnamed Device"), entities with human names (HA prefixes the device name) and the
 * device classes HA knows, an `origin` block, and availability that follows the camera's real health.
 * Only builds the messages; the bridge publishes them, and clears the ones it published before and no longer
 * does (a removed camera, a code the camera stopped reporting).
 */
import { ALERT_KINDS } from "../config/schema.ts";
import { VERSION } from "../version.ts";

/** Codes published as retained ON/OFF binary sensors. */
export const STATE_CODES = [
  "VideoMotion",
  "VideoBlind",
  "VideoLoss",
  "AlarmLocal",
  "CrossLineDetection",
  "CrossRegionDetection",
  "SmartMotionHuman",
  "SmartMotionVehicle",
  "AudioMutation",
  "AudioAnomaly",
] as const;

/** The entity name and device class of each state code (device classes from HA's binary_sensor list). */
const CODE_ENTITIES: Record<string, { name: string; deviceClass?: string; category?: string }> = {
  VideoMotion: { name: "Motion", deviceClass: "motion" },
  VideoBlind: { name: "Tamper", deviceClass: "tamper" },
  VideoLoss: { name: "Video loss", deviceClass: "problem" },
  AlarmLocal: { name: "Alarm input", deviceClass: "safety" },
  CrossLineDetection: { name: "Line crossing", deviceClass: "motion" },
  CrossRegionDetection: { name: "Intrusion", deviceClass: "motion" },
  SmartMotionHuman: { name: "Person", deviceClass: "occupancy" },
  SmartMotionVehicle: { name: "Vehicle", deviceClass: "motion" },
  AudioMutation: { name: "Sound", deviceClass: "sound" },
  AudioAnomaly: { name: "Audio anomaly", deviceClass: "sound" },
  // The security audit's state (gateway code): a diagnostic "problem" sensor.
  SecurityProblem: { name: "Security problem", deviceClass: "problem", category: "diagnostic" },
};

/** camgate's own motion (source `motion`) as a state of its own, apart from the camera's VideoMotion. */
export const CAMGATE_MOTION_STATE = "CamgateMotion";
/** How long a rule's person or vehicle sensor stays on after a pulse (a line crossed) when no stop comes. */
export const RULE_OFF_DELAY_SECONDS = 10;

/** A name as one MQTT topic level and an HA object id: lower case, letters, digits and `_` (at most 40). */
export function topicSlug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 40) || "unnamed"
  );
}

export function zoneTopic(prefix: string, camera: string, zone: string): string {
  return `${prefix}/${camera}/zone/${topicSlug(zone)}/motion`;
}

export function ruleTopic(prefix: string, camera: string, rule: string, kind: "person" | "vehicle"): string {
  return `${prefix}/${camera}/rule/${topicSlug(rule)}/${kind}`;
}

export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

export interface DiscoveryCamera {
  id: string;
  name: string;
  vendor?: string;
  model?: string;
  firmware?: string;
  /** State codes the camera reports. */
  codes: readonly string[];
  /** A doorbell (an Amcrest AD110/AD410, a Dahua VTO): it gets a Doorbell event entity. */
  doorbell?: boolean;
  /** camgate's motion detection watches it: a "Motion (camgate)" sensor and one per zone. */
  motionZones?: readonly string[];
  /** The camera's own rules and regions (IVS, SMD) that saw people or vehicles: a sensor per rule and kind. */
  rules?: readonly { rule: string; kind: "person" | "vehicle" }[];
  presets: readonly { index: number; name: string }[];
}

export interface DiscoveryOptions {
  prefix: string;
  discoveryPrefix: string;
  /** One bridge device per camgate instance on a broker. */
  clientId: string;
}

const ORIGIN = { name: "camgate", sw_version: VERSION };

/** The identifier of camgate's bridge device (per MQTT client id, so two instances stay two devices). */
export function bridgeIdentifier(clientId: string): string {
  return `camgate_bridge_${clientId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** The bridge device's own messages: a connectivity sensor of camgate itself. */
export function bridgeDiscovery(options: DiscoveryOptions): DiscoveryMessage[] {
  const id = bridgeIdentifier(options.clientId);
  return [
    {
      topic: `${options.discoveryPrefix}/binary_sensor/${id}/status/config`,
      payload: {
        name: "Connectivity",
        unique_id: `${id}_status`,
        state_topic: `${options.prefix}/available`,
        payload_on: "online",
        payload_off: "offline",
        device_class: "connectivity",
        entity_category: "diagnostic",
        device: {
          identifiers: [id],
          name: "camgate",
          manufacturer: "camgate",
          model: "Camera gateway",
          sw_version: VERSION,
        },
        origin: ORIGIN,
      },
    },
  ];
}

/**
 * A camera's messages: connectivity, one binary sensor per state code, the snapshot camera, the last event's
 * image, an alert event entity (and a doorbell one for doorbells), preset buttons.
 */
export function cameraDiscovery(options: DiscoveryOptions, camera: DiscoveryCamera): DiscoveryMessage[] {
  const { prefix, discoveryPrefix } = options;
  const node = `camgate_${camera.id}`;
  const device = {
    identifiers: [node],
    name: camera.name,
    manufacturer: camera.vendor ?? "Amcrest/Dahua",
    model: camera.model ?? "IP camera",
    ...(camera.firmware ? { sw_version: camera.firmware } : {}),
    via_device: bridgeIdentifier(options.clientId),
  };
  const statusTopic = `${prefix}/${camera.id}/status`;
  // The camera's entities are unavailable when camgate is away or the camera is not usable (offline, wrong
  // password): HA then shows "unavailable" instead of a stale "clear".
  const availability = {
    availability: [
      { topic: `${prefix}/available` },
      { topic: statusTopic, payload_available: "online", payload_not_available: "offline" },
    ],
    availability_mode: "all",
  };
  const message = (component: string, objectId: string, payload: Record<string, unknown>) => ({
    topic: `${discoveryPrefix}/${component}/${node}/${objectId}/config`,
    payload: { ...payload, device, origin: ORIGIN },
  });
  return [
    message("binary_sensor", "status", {
      name: "Connectivity",
      unique_id: `${node}_status`,
      state_topic: statusTopic,
      payload_on: "online",
      payload_off: "offline",
      device_class: "connectivity",
      entity_category: "diagnostic",
      availability: [{ topic: `${prefix}/available` }],
    }),
    ...camera.codes.map((code) => {
      const entity = CODE_ENTITIES[code] ?? { name: code };
      return message("binary_sensor", code.toLowerCase(), {
        name: entity.name,
        unique_id: `${node}_${code.toLowerCase()}`,
        state_topic: `${prefix}/${camera.id}/${code}`,
        payload_on: "ON",
        payload_off: "OFF",
        ...(entity.deviceClass ? { device_class: entity.deviceClass } : {}),
        ...(entity.category ? { entity_category: entity.category } : {}),
        ...availability,
      });
    }),
    ...(camera.motionZones
      ? [
          message("binary_sensor", "camgate_motion", {
            name: "Motion (camgate)",
            unique_id: `${node}_camgate_motion`,
            state_topic: `${prefix}/${camera.id}/${CAMGATE_MOTION_STATE}`,
            payload_on: "ON",
            payload_off: "OFF",
            device_class: "motion",
            ...availability,
          }),
          ...camera.motionZones.map((zone) =>
            message("binary_sensor", `zone_${topicSlug(zone)}`, {
              name: `Motion in ${zone}`,
              unique_id: `${node}_zone_${topicSlug(zone)}`,
              state_topic: zoneTopic(prefix, camera.id, zone),
              payload_on: "ON",
              payload_off: "OFF",
              device_class: "motion",
              ...availability,
            }),
          ),
        ]
      : []),
    ...(camera.rules ?? []).map(({ rule, kind }) =>
      message("binary_sensor", `rule_${topicSlug(rule)}_${kind}`, {
        name: `${kind === "person" ? "Person" : "Vehicle"} in ${rule}`,
        unique_id: `${node}_rule_${topicSlug(rule)}_${kind}`,
        state_topic: ruleTopic(prefix, camera.id, rule, kind),
        payload_on: "ON",
        payload_off: "OFF",
        device_class: kind === "person" ? "occupancy" : "motion",
        // A tripwire's crossing is a pulse with no stop: the sensor clears itself.
        off_delay: RULE_OFF_DELAY_SECONDS,
        ...availability,
      }),
    ),
    message("camera", "snapshot", {
      name: "Snapshot",
      unique_id: `${node}_snapshot`,
      topic: `${prefix}/${camera.id}/snapshot`,
      ...availability,
    }),
    // The last event's picture as an image entity: what an automation attaches to HA's own notification.
    message("image", "last_event", {
      name: "Last event",
      unique_id: `${node}_last_event`,
      image_topic: `${prefix}/${camera.id}/snapshot`,
      content_type: "image/jpeg",
      ...availability,
    }),
    // Each alert as an HA event (`event_type`: person, vehicle, motion, ...), for automations to trigger on.
    message("event", "alert", {
      name: "Alert",
      unique_id: `${node}_alert`,
      state_topic: `${prefix}/${camera.id}/alert`,
      event_types: [...ALERT_KINDS],
      device_class: "motion",
      ...availability,
    }),
    ...(camera.doorbell
      ? [
          message("event", "doorbell", {
            name: "Doorbell",
            unique_id: `${node}_doorbell`,
            state_topic: `${prefix}/${camera.id}/doorbell`,
            event_types: ["press"],
            device_class: "doorbell",
            ...availability,
          }),
        ]
      : []),
    ...camera.presets.map((preset) =>
      message("button", `preset_${preset.index}`, {
        name: `Preset ${preset.name || preset.index}`,
        unique_id: `${node}_preset_${preset.index}`,
        command_topic: `${prefix}/${camera.id}/ptz/set`,
        payload_press: `preset ${preset.index}`,
        ...availability,
      }),
    ),
  ];
}
