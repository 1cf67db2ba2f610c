// People as the UI names them. The core sends ids for who did what
// (`created_by`, `changed_by`, ...); `colleagues()` (loaded once by the
// shell, renewed after each sync round) turns them into names. The
// signed-in user reads as "you"; an id the replica does not know (a deleted
// account, colleagues not loaded yet) as "someone". A recorded change with
// no id at all was made by no person (the data import, a migration): it
// reads "the system", never "someone".

import type { Colleague_Serialize, UserRole } from "./bindings";
import { personName } from "./labels";

/** What these helpers need of a colleague. */
export type Person = Pick<Colleague_Serialize, "id" | "full_name"> & { role?: UserRole };

/** A colleague without a name in their profile. */
export const UNNAMED = "Unnamed user";

/** A colleague's name, or "Unnamed user". */
export function colleagueName(person: Pick<Person, "full_name">): string {
  return personName(person.full_name, UNNAMED);
}

/**
 * Who did something, as said in a sentence ("logged by …", "opened by …"):
 * "you" for the signed-in user, the colleague's name, or "someone" when the
 * id is missing or unknown.
 */
export function personLabel(
  id: string | null | undefined,
  colleagues: readonly Person[],
  me: string | null | undefined,
): string {
  if (!id) return "someone";
  if (me && id === me) return "you";
  const person = colleagues.find((c) => c.id === id);
  return person ? colleagueName(person) : "someone";
}

/**
 * Who made a recorded change (a ticket's status change, ...): like
 * `personLabel`, but no actor at all means the system did it (the data
 * import, a migration), so "the system"; "someone" stays for an id the
 * replica does not know.
 */
export function actorLabel(
  id: string | null | undefined,
  colleagues: readonly Person[],
  me: string | null | undefined,
): string {
  return id ? personLabel(id, colleagues, me) : "the system";
}

/**
 * The words after a ticket history entry's time: "by you", "by Ana Lopez",
 * "by someone" (an unknown id), "by the system"; for the entry that opened
 * the ticket with no actor, "imported" (such a ticket came with the data,
 * nobody opened it in the app).
 */
export function historyActor(
  changedBy: string | null | undefined,
  opening: boolean,
  colleagues: readonly Person[],
  me: string | null | undefined,
): string {
  if (!changedBy && opening) return "imported";
  return `by ${actorLabel(changedBy, colleagues, me)}`;
}

/**
 * Colleagues by name (ignoring case and accents), the nameless ones last;
 * equal names keep a stable order by id. A sorted copy.
 */
export function byName<P extends Person>(colleagues: readonly P[]): P[] {
  return [...colleagues].sort((a, b) => {
    const an = a.full_name?.trim() ?? "";
    const bn = b.full_name?.trim() ?? "";
    if (!an !== !bn) return an ? -1 : 1;
    const order = an.localeCompare(bn, undefined, { sensitivity: "base" });
    if (order !== 0) return order;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/** One option of a people picker: `id` "" means nobody. */
export interface PersonChoice {
  id: string;
  label: string;
}

/**
 * The customer form's owner select for an admin: every colleague by name
 * ("(you)" and "(admin)" marked), and always the current owner, even when
 * the colleague list does not hold them (so the select never shows a
 * different owner than the customer has). "Nobody" only when the customer
 * has no owner now.
 */
export function ownerChoices(colleagues: readonly Person[], current: string | null | undefined, me: string): PersonChoice[] {
  const choices: PersonChoice[] = byName(colleagues).map((c) => {
    let label = colleagueName(c);
    if (c.id === me) label += " (you)";
    else if (c.role === "admin") label += " (admin)";
    return { id: c.id, label };
  });
  if (!current) choices.unshift({ id: "", label: "Nobody" });
  else if (!choices.some((c) => c.id === current)) {
    choices.unshift({ id: current, label: current === me ? "You" : "Current owner (unknown user)" });
  }
  return choices;
}
