// The follow-ups screen's logic: the user's open follow-ups grouped as a
// person plans a day (overdue, today, upcoming, by the local calendar), and
// the times "Snooze" offers.

import type { FollowUpItem_Serialize } from "./bindings";
import { followUpState } from "./datetime";

export interface FollowUpGroups {
  overdue: FollowUpItem_Serialize[];
  today: FollowUpItem_Serialize[];
  upcoming: FollowUpItem_Serialize[];
}

/** Splits follow-ups (oldest first) into overdue, later today, and later. */
export function groupFollowUps(items: readonly FollowUpItem_Serialize[], now: Date = new Date()): FollowUpGroups {
  const groups: FollowUpGroups = { overdue: [], today: [], upcoming: [] };
  for (const item of items) {
    switch (followUpState(item.follow_up_date, now)) {
      case "overdue":
        groups.overdue.push(item);
        break;
      case "due":
        groups.today.push(item);
        break;
      case "upcoming":
        groups.upcoming.push(item);
        break;
      default:
        break;
    }
  }
  return groups;
}

/** In an hour, or tomorrow at nine (local time): what "Snooze" offers. */
export function snoozeChoices(now: Date = new Date()): { label: string; until: Date }[] {
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0, 0);
  return [
    { label: "1 hour", until: new Date(now.getTime() + 60 * 60 * 1000) },
    { label: "Tomorrow 9:00", until: tomorrow },
  ];
}

/** Whether a snooze is still running (the reminder is put off). */
export function isSnoozed(item: Pick<FollowUpItem_Serialize, "snoozed_until">, now: Date = new Date()): boolean {
  return item.snoozed_until !== null && new Date(item.snoozed_until).getTime() > now.getTime();
}
