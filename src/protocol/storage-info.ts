/**
 * `storageDevice.cgi?action=getDeviceAllInfo`: the camera's SD card (an NVR's disks), read into one health
 * summary (issue 27).
 *
 * Real answers (reference §2.11; published test fixtures of Dahua monitors): `list.info[N].Name=/dev/mmc0`,
 * `list.info[N].State=Success` (or `Failure`, `Error`; some firmware `Active`, `Running`, `Normal`), and per
 * partition `list.info[N].Detail[M].Path=/mnt/sd`, `TotalBytes=997703680.000000` (a float), `UsedBytes`,
 * `IsError=false`, `Type=ReadWrite`. An NVR lists several disks and a disk several partitions, and a
 * partition may leave out its sizes. A camera without a card answers no `list.info` at all (an empty body,
 * as `factory.getCollect` does; bcpearce fixtures).
 *
 * Pure and total: any text in, a bounded summary out.
 */
import type { JsonObject, JsonValue } from "./kv.ts";
import { kvToTree, parseKvLines } from "./kv.ts";

export type StorageState = "ok" | "error" | "missing";

export interface StorageDevice {
  name: string;
  /** The camera's word for the device's state (`Success`, `Failure`, ...). */
  cameraState: string | undefined;
  error: boolean;
  totalBytes: number;
  usedBytes: number;
}

export interface StorageInfo {
  /** `missing`: no card; `error`: a device or partition the camera says is failing; else `ok`. */
  state: StorageState;
  totalBytes: number;
  usedBytes: number;
  devices: StorageDevice[];
}

const MAX_DEVICES = 16;
const MAX_PARTITIONS = 16;
/** Device states that say the device works; anything else with an error flag, or these words, is trouble. */
const FAILED_STATES = /^(failure|error|fault|abnormal|offline|degraded)/i;

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function bytes(value: JsonValue | undefined): number {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  // A size past what a byte count can be exactly (2^53) is not one.
  return Number.isFinite(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER ? Math.round(n) : 0;
}

/** Sizes added up, bounded like one. */
function sum(values: number[]): number {
  return Math.min(
    values.reduce((total, value) => total + value, 0),
    Number.MAX_SAFE_INTEGER,
  );
}

function flag(value: JsonValue | undefined): boolean {
  return value === true || (typeof value === "string" && value.toLowerCase() === "true");
}

function deviceOf(value: JsonValue, index: number): StorageDevice | undefined {
  if (!isObject(value)) return undefined;
  const details = Array.isArray(value.Detail) ? value.Detail.slice(0, MAX_PARTITIONS).filter(isObject) : [];
  const cameraState = typeof value.State === "string" ? value.State.slice(0, 32) : undefined;
  const name = typeof value.Name === "string" ? value.Name.slice(0, 64) : `device ${index}`;
  return {
    name,
    cameraState,
    error: details.some((detail) => flag(detail.IsError)) || FAILED_STATES.test(cameraState ?? ""),
    totalBytes: sum(details.map((detail) => bytes(detail.TotalBytes))),
    usedBytes: sum(details.map((detail) => bytes(detail.UsedBytes))),
  };
}

export function parseStorageInfo(body: string): StorageInfo {
  const tree = kvToTree(parseKvLines(body));
  const list = isObject(tree.list) ? tree.list.info : undefined;
  const devices = (Array.isArray(list) ? list.slice(0, MAX_DEVICES) : [])
    .map(deviceOf)
    .filter((device): device is StorageDevice => device !== undefined);
  const totalBytes = sum(devices.map((device) => device.totalBytes));
  const usedBytes = sum(devices.map((device) => device.usedBytes));
  const state: StorageState =
    devices.length === 0 ? "missing" : devices.some((device) => device.error) ? "error" : "ok";
  return { state, totalBytes, usedBytes: Math.min(usedBytes, totalBytes || usedBytes), devices };
}
