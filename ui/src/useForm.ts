// The state every form of the app shares: the inputs' values, which fields
// the user touched, the core's messages (checked as typed, and those a
// failed save returned), the form-level error and the "saving" flag. Each
// problem is said once: a field's message beside the field (gone when the
// field is edited and checked again), and the form-level error only for
// what no field says.

import { useRef, useState } from "preact/hooks";
import { call, toastReport, toReport, type Result } from "./api";
import type { FieldMessage } from "./bindings";
import { messagesByField, saveFailureSentence, visibleMessages, type Messages } from "./forms";
import { useCheck } from "./hooks";

export interface FormOptions<F, D> {
  /** The draft the form would send now (also what is checked). */
  toDraft: (form: F) => D;
  /** The core's `check*` command for this draft. */
  check: (draft: D) => Promise<FieldMessage[]>;
  /** A form key's wire name when they differ ("follow_up" -> "follow_up_date"). */
  wireNames?: Partial<Record<keyof F, string>>;
}

export function useForm<F extends object, D>(initial: F | (() => F), options: FormOptions<F, D>) {
  const [form, setForm] = useState<F>(initial);
  // The latest values, even before Preact re-renders: a submit fired in the
  // same moment as the last keystroke must not send the one before.
  const latest = useRef(form);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [fromSave, setFromSave] = useState<Messages>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const checked = useCheck(options.toDraft(form), options.check);
  const wire = (key: keyof F) => options.wireNames?.[key] ?? String(key);

  /** Sets one input; its field counts as touched, and a save's old message about it goes. */
  function set<K extends keyof F>(key: K, value: F[K]) {
    latest.current = { ...latest.current, [key]: value };
    setForm(latest.current);
    const field = wire(key);
    setTouched((old) => (old.has(field) ? old : new Set(old).add(field)));
    setFromSave((old) => {
      if (!(field in old)) return old;
      const { [field]: _gone, ...rest } = old;
      return rest;
    });
  }

  /**
   * Saves with `save(draft)`. On failure the form shows the core's
   * per-field messages, and its sentence only when no field carries it
   * (`saveFailureSentence`); failures other than broken rules (a full disk,
   * no permission) also go to the toast. Gives the saved data, or
   * undefined. `save` also gets the form's values, for edits that need more
   * than the draft.
   */
  async function submit<T>(save: (draft: D, form: F) => Promise<Result<T>>): Promise<T | undefined> {
    if (saving) return undefined;
    setSubmitted(true);
    setSaving(true);
    setFormError(null);
    try {
      return await call(save(options.toDraft(latest.current), latest.current));
    } catch (failure) {
      const report = toReport(failure);
      setFromSave(messagesByField(report.fields));
      setFormError(saveFailureSentence(report));
      if (report.code !== "invalid") toastReport(report);
      return undefined;
    } finally {
      setSaving(false);
    }
  }

  /** Back to a fresh form (after a comment was sent, say). */
  function reset(next: F) {
    latest.current = next;
    setForm(next);
    setTouched(new Set());
    setSubmitted(false);
    setFromSave({});
    setFormError(null);
  }

  const messages = visibleMessages({ ...checked, ...fromSave }, touched, submitted);
  return { form, set, messages, formError, saving, submit, reset };
}
