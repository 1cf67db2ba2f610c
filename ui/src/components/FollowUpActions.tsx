// What can be done with a follow-up, wherever it is shown (the follow-ups
// screen, a customer's page): mark it done, move it to a new date, or put
// its reminder off. Each change is saved at once (offline too) and the
// screen reloads through the app's data version.

import { useState } from "preact/hooks";
import { attempt, type Result } from "../api";
import { commands } from "../bindings";
import { useApp } from "../context";
import { isoToLocalInput, localInputToIso } from "../datetime";
import { snoozeChoices } from "../followUps";
import { DateInput } from "./Field";

interface FollowUpActionsProps {
  interactionId: string;
  /** The follow-up's current date (ISO). */
  due: string;
  /** Offer "Snooze" (only where a reminder is pending: the user's own). */
  snooze?: boolean;
}

export function FollowUpActions({ interactionId, due, snooze = true }: FollowUpActionsProps) {
  const { refresh } = useApp();
  const [rescheduling, setRescheduling] = useState(false);
  const [snoozing, setSnoozing] = useState(false);
  const [date, setDate] = useState(isoToLocalInput(due));
  const [busy, setBusy] = useState(false);

  async function run(action: Promise<Result<unknown>>) {
    setBusy(true);
    const done = await attempt(action);
    setBusy(false);
    if (done !== undefined) {
      setRescheduling(false);
      setSnoozing(false);
      refresh();
    }
  }

  if (rescheduling) {
    const to = localInputToIso(date);
    return (
      <form
        class="follow-up-reschedule"
        aria-label="Move the follow-up"
        onSubmit={(event) => {
          event.preventDefault();
          if (to) void run(commands.rescheduleFollowUp(interactionId, to));
        }}
      >
        <label class="visually-hidden" for={`reschedule-${interactionId}`}>
          New date
        </label>
        <DateInput id={`reschedule-${interactionId}`} value={date} onValue={setDate} />
        <button type="submit" class="button small primary" disabled={busy || !to}>
          Move
        </button>
        <button type="button" class="button small" onClick={() => setRescheduling(false)}>
          Cancel
        </button>
      </form>
    );
  }

  return (
    <span class="follow-up-actions">
      <button
        type="button"
        class="button small follow-up-done"
        disabled={busy}
        onClick={() => void run(commands.completeFollowUp(interactionId))}
      >
        Done
      </button>
      <button type="button" class="button small subtle follow-up-reschedule-open" onClick={() => setRescheduling(true)}>
        Reschedule
      </button>
      {snooze &&
        (snoozing ? (
          snoozeChoices().map((choice) => (
            <button
              key={choice.label}
              type="button"
              class="button small subtle follow-up-snooze-choice"
              disabled={busy}
              onClick={() => void run(commands.snoozeFollowUp(interactionId, choice.until.toISOString()))}
            >
              {choice.label}
            </button>
          ))
        ) : (
          <button
            type="button"
            class="button small subtle follow-up-snooze"
            title="Put the reminder off (on this computer)"
            onClick={() => setSnoozing(true)}
          >
            Snooze
          </button>
        ))}
    </span>
  );
}
