// The account screens' rules without the DOM: a device as a person names
// it, an account's state for the team list, and what a reset code's dialog
// says. The facts come from the server through the core.

import type { AccountSummary_Serialize, DeviceSession_Serialize } from "./bindings";
import { humanize } from "./labels";

const PLATFORMS: Record<string, string> = {
  linux: "Linux",
  windows: "Windows",
  macos: "macOS",
};

/** "Ben's ThinkPad (Linux)", or "A device (Windows)" when it gave no name. */
export function deviceLabel(device: Pick<DeviceSession_Serialize, "device_name" | "platform">): string {
  const name = device.device_name?.trim() || "A device";
  const platform = device.platform ? PLATFORMS[device.platform] ?? humanize(device.platform) : null;
  return platform ? `${name} (${platform})` : name;
}

export type AccountState = "active" | "deactivated";

export function accountState(account: Pick<AccountSummary_Serialize, "deactivated_at">): AccountState {
  return account.deactivated_at ? "deactivated" : "active";
}

/** The team list's order: active people first, then by name (as the server sends, kept stable here). */
export function teamOrder(accounts: readonly AccountSummary_Serialize[]): AccountSummary_Serialize[] {
  const name = (a: AccountSummary_Serialize) => (a.full_name?.trim() || a.email).toLowerCase();
  return [...accounts].sort(
    (a, b) => Number(Boolean(a.deactivated_at)) - Number(Boolean(b.deactivated_at)) || name(a).localeCompare(name(b)),
  );
}

/** Whether the new password and its repetition agree (the rules are the core's). */
export function repeatMismatch(password: string, repeated: string): string | null {
  return repeated.length > 0 && password !== repeated ? "The two passwords differ." : null;
}
