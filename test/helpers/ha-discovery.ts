/**
 * Checks Home Assistant MQTT discovery payloads against the fields HA's MQTT integration reads (its
 * abbreviation-free schema for binary_sensor, camera, button, image and event, the device and origin blocks): what HA
 * would refuse, or show as an "Unnamed Device", is a problem here.
 */

/** HA's binary_sensor device classes (homeassistant/components/binary_sensor/__init__.py, 2024+). */
const BINARY_SENSOR_CLASSES = new Set([
  "battery",
  "battery_charging",
  "carbon_monoxide",
  "cold",
  "connectivity",
  "door",
  "garage_door",
  "gas",
  "heat",
  "light",
  "lock",
  "moisture",
  "motion",
  "moving",
  "occupancy",
  "opening",
  "plug",
  "power",
  "presence",
  "problem",
  "running",
  "safety",
  "smoke",
  "sound",
  "tamper",
  "update",
  "vibration",
  "window",
]);

const COMPONENT_REQUIRES: Record<string, string[]> = {
  binary_sensor: ["state_topic"],
  camera: ["topic"],
  button: ["command_topic"],
  image: ["image_topic", "content_type"],
  event: ["state_topic"],
};

/** HA's event entity device classes (homeassistant/components/event/__init__.py). */
const EVENT_CLASSES = new Set(["button", "doorbell", "motion"]);

export interface DiscoveryConfig {
  topic: string;
  payload: Record<string, unknown>;
}

/** Every problem HA would have with these retained configs (an empty list when all is well). */
export function discoveryProblems(configs: readonly DiscoveryConfig[]): string[] {
  const problems: string[] = [];
  const uniqueIds = new Set<string>();
  const devices = new Set<string>();
  for (const { payload } of configs) {
    const device = payload.device as { identifiers?: unknown } | undefined;
    if (Array.isArray(device?.identifiers)) for (const id of device.identifiers) devices.add(String(id));
  }
  for (const { topic, payload } of configs) {
    const match = /^homeassistant\/([a-z_]+)\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)\/config$/.exec(topic);
    if (!match) {
      problems.push(`${topic}: not <discovery_prefix>/<component>/<node_id>/<object_id>/config`);
      continue;
    }
    const component = match[1] ?? "";
    const say = (what: string) => problems.push(`${topic}: ${what}`);
    for (const field of COMPONENT_REQUIRES[component] ?? ["?"])
      if (typeof payload[field] !== "string" || payload[field] === "") say(`${component} needs ${field}`);
    const uniqueId = payload.unique_id;
    if (typeof uniqueId !== "string" || uniqueId === "") say("no unique_id (HA cannot edit the entity)");
    else if (uniqueIds.has(uniqueId)) say(`unique_id ${uniqueId} used twice`);
    else uniqueIds.add(uniqueId);
    const name = payload.name;
    if (typeof name !== "string" || name === "") say("no name");
    else if (/^[A-Z][a-z]+[A-Z]/.test(name)) say(`"${name}" is a camera code, not a name people read`);
    if (component === "binary_sensor" && payload.device_class !== undefined)
      if (!BINARY_SENSOR_CLASSES.has(String(payload.device_class)))
        say(`device_class ${String(payload.device_class)} is not one HA knows`);
    if (component === "event") {
      // HA refuses an event entity without its list of event types.
      const types = payload.event_types;
      if (!Array.isArray(types) || types.length === 0 || types.some((t) => typeof t !== "string"))
        say("event needs event_types, a list of strings");
      if (payload.device_class !== undefined && !EVENT_CLASSES.has(String(payload.device_class)))
        say(`device_class ${String(payload.device_class)} is not one HA knows for events`);
    }
    const device = payload.device as Record<string, unknown> | undefined;
    if (!device || !Array.isArray(device.identifiers) || device.identifiers.length === 0)
      say("no device.identifiers");
    else if (typeof device.name !== "string" || device.name === "") say("a device without a name");
    if (device?.via_device !== undefined && !devices.has(String(device.via_device)))
      say(`via_device ${String(device.via_device)} names no announced device (HA makes an "Unnamed Device")`);
    const origin = payload.origin as Record<string, unknown> | undefined;
    if (typeof origin?.name !== "string") say("no origin.name");
    const availability = payload.availability;
    if (availability !== undefined) {
      if (!Array.isArray(availability) || availability.length === 0) say("availability is not a list");
      else
        for (const item of availability as Record<string, unknown>[])
          if (typeof item.topic !== "string") say("an availability entry without a topic");
      if (
        payload.availability_mode !== undefined &&
        !["all", "any", "latest"].includes(String(payload.availability_mode))
      )
        say(`availability_mode ${String(payload.availability_mode)}`);
    }
  }
  return problems;
}
