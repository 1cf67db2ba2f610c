// What the window says when the server ended this device's access (the
// account was deactivated, or this sign-in was ended from elsewhere) and
// the core removed the user's data from this computer: why, where the
// unsent work was saved, or that the removal failed.

import type { AccessEnded_Serialize } from "./bindings";
import { plural } from "./labels";
import { messageSentence } from "./sentences";

export function accessEndedWords(ended: AccessEnded_Serialize): string {
  const why = messageSentence(ended.reason) || "Your access on this computer was ended.";
  if (ended.error) {
    return `${why} The app could not remove all of your data from this computer (${ended.error}); tell an admin.`;
  }
  const wiped = ended.wiped;
  if (!wiped) return `${why} Your data was removed from this computer.`;
  if (!wiped.saved_to) return `${why} Your data was removed from this computer; nothing was waiting to be sent.`;
  const files = wiped.saved_files > 0 ? ` and ${plural(wiped.saved_files, "file")}` : "";
  const what = `${plural(wiped.saved_changes, "change")}${files}`;
  const were = wiped.saved_changes + wiped.saved_files === 1 ? "was" : "were";
  return `${why} Your data was removed from this computer. Your work that the server never took (${what}) ${were} saved in ${wiped.saved_to}: hand that folder to an admin.`;
}

/** Said while the data is being removed, before `accessEndedWords` can say how it went. */
export function accessEndingWords(reason: string | null | undefined): string {
  const why = messageSentence(reason) || "Your access on this computer was ended.";
  return `${why} Saving your unsent work and removing your data from this computer…`;
}
