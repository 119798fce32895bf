/**
 * The hardening baseline: the settings the audit's checklist wants, as a provisioning template
 * (`camgate provision plan|apply --template baseline`, and the "Fix" of a finding in the UI). A key the
 * camera's firmware does not have is skipped with a note (the plan's `skipped`), never sent: a setConfig of
 * an unknown key is refused by the firmware and would be reported as rejected on every run.
 */
import type { Template } from "../backup/provision.ts";
import type { Finding } from "./findings.ts";

export const BASELINE_TEMPLATE_NAME = "baseline";

export const BASELINE: Template = {
  "T2UServer.Enable": false,
  "UPnP.Enable": false,
  "DDNS[0].Enable": false,
  "Telnet.Enable": false,
  "UserGlobal.OnvifLoginCheck": true,
  "General.LockLoginEnable": true,
  "NTP.Enable": true,
};

/** The template that fixes these findings (those a config key fixes); the others are left to the owner. */
export function templateFixing(findings: readonly Finding[]): Template {
  const template: Template = {};
  for (const finding of findings) Object.assign(template, finding.fixConfig ?? {});
  return template;
}
