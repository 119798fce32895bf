/**
 * ONVIF event notifications (WS-BaseNotification inside a PullMessagesResponse) read into camgate's event
 * vocabulary: the topic names the kind (`tns1:VideoSource/MotionAlarm`, `tns1:RuleEngine/CellMotionDetector/
 * Motion`), the Data's boolean item the state, `PropertyOperation` whether it is the state on subscribing
 * (`Initialized`) or a change. Topic prefixes are the sender's choice (`tns1:`, `tns:`, none), so they are
 * dropped before matching. No I/O.
 */
import { attributeOf, childOf, listOf, textOf, type XmlObject, type XmlValue } from "./soap.ts";

export interface OnvifStateChange {
  /** camgate's (Dahua's) code: VideoMotion, VideoBlind, VideoLoss, AlarmLocal. */
  code: string;
  /** The channel (0-based), from a source token ending in a number, else 0. */
  index: number;
  active: boolean;
  initialized: boolean;
  topic: string;
  /** The device's UtcTime attribute, as sent. */
  utcTime: string | undefined;
}

/** Topic (without prefixes) → code and the Data item that carries the state (ONVIF Core, Appendix Topics). */
const TOPIC_CODES: Record<string, { code: string; items: readonly string[] }> = {
  "VideoSource/MotionAlarm": { code: "VideoMotion", items: ["State"] },
  "RuleEngine/CellMotionDetector/Motion": { code: "VideoMotion", items: ["IsMotion"] },
  "VideoSource/GlobalSceneChange/ImagingService": { code: "VideoBlind", items: ["State"] },
  "VideoSource/ImageTooDark/ImagingService": { code: "VideoBlind", items: ["State"] },
  "RuleEngine/TamperDetector/Tamper": { code: "VideoBlind", items: ["IsTamper"] },
  "VideoSource/SignalLoss": { code: "VideoLoss", items: ["State"] },
  "Device/Trigger/DigitalInput": { code: "AlarmLocal", items: ["LogicalState", "State"] },
};

/** At most this many messages are read from one answer (a PullMessages asks for fewer). */
export const MAX_NOTIFICATIONS = 64;

/** `tns1:VideoSource/MotionAlarm` → `VideoSource/MotionAlarm` (every step's prefix dropped). */
export function topicPath(topic: string): string {
  return topic
    .trim()
    .split("/")
    .map((step) => step.slice(step.indexOf(":") + 1))
    .join("/");
}

function simpleItems(value: XmlValue | undefined): Map<string, string> {
  const items = new Map<string, string>();
  for (const item of listOf(childOf(value, "SimpleItem")).slice(0, 16)) {
    const name = attributeOf(item, "Name");
    const itemValue = attributeOf(item, "Value");
    if (name !== undefined && itemValue !== undefined) items.set(name, itemValue);
  }
  return items;
}

function indexOf(source: Map<string, string>): number {
  for (const value of source.values()) {
    const match = /(\d+)$/.exec(value);
    // Tokens count from 0 or 1 by vendor (`VideoSource_1`, `000`): channel numbers are only a hint.
    if (match) return Math.max(0, Math.min(255, Number(match[1]) > 0 ? Number(match[1]) - 1 : 0));
  }
  return 0;
}

/** The state changes in a PullMessagesResponse body; messages of topics camgate has no code for are skipped. */
export function stateChangesOf(body: XmlObject): OnvifStateChange[] {
  const changes: OnvifStateChange[] = [];
  for (const notification of listOf(childOf(body, "NotificationMessage")).slice(0, MAX_NOTIFICATIONS)) {
    const topic = textOf(childOf(notification, "Topic"));
    if (!topic) continue;
    const mapping = TOPIC_CODES[topicPath(topic)];
    if (!mapping) continue;
    const message = childOf(notification, "Message", "Message");
    const data = simpleItems(childOf(message, "Data"));
    const item = mapping.items.map((name) => data.get(name)).find((value) => value !== undefined);
    if (item === undefined) continue;
    const state = item.trim().toLowerCase();
    if (state !== "true" && state !== "false" && state !== "1" && state !== "0") continue;
    changes.push({
      code: mapping.code,
      index: indexOf(simpleItems(childOf(message, "Source"))),
      active: state === "true" || state === "1",
      initialized: attributeOf(message, "PropertyOperation") === "Initialized",
      topic,
      utcTime: attributeOf(message, "UtcTime"),
    });
  }
  return changes;
}
