// A labelled form field with the core's message about it underneath. The
// message carries `data-field` (the wire name), which the end-to-end test
// looks for. Also `DateInput`: a date or date-and-time input with the
// chosen date in words beside it.

import type { ComponentChildren } from "preact";
import { localInputInWords } from "../datetime";
import type { Messages } from "../forms";

interface FieldProps {
  /** The input's id, for the label. */
  id: string;
  label: string;
  /** The wire name the core's messages use ("name", "email", ...). */
  field: string;
  /** The core's messages; none for a form whose only error is one sentence (sign-in). */
  messages?: Messages;
  required?: boolean;
  hint?: string;
  children: ComponentChildren;
}

export function Field({ id, label, field, messages = {}, required, hint, children }: FieldProps) {
  const error = messages[field];
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>
        {label}
        {required && (
          <span class="required" aria-hidden="true">
            {" "}
            *
          </span>
        )}
      </label>
      {children}
      {hint && !error && <p class="field-hint">{hint}</p>}
      {error && (
        <p class="field-error" data-field={field} id={errorId(id)}>
          {error}
        </p>
      )}
    </div>
  );
}

export const errorId = (inputId: string) => `${inputId}-error`;

/** The accessibility attributes linking an input to its message. */
export function describedBy(inputId: string, messages: Messages, field: string) {
  return messages[field] ? { "aria-invalid": true, "aria-describedby": errorId(inputId) } : {};
}

interface DateInputProps {
  /** The input's id (the Field's `id`, for the label). */
  id: string;
  /** A date and time (the default) or a day alone. */
  type?: "datetime-local" | "date";
  /** The input's value: "2026-12-08T14:30" ("2026-12-08" for a date), "" for none. */
  value: string;
  onValue: (value: string) => void;
  /** The earliest and latest values the picker offers, in the input's own form. */
  min?: string;
  max?: string;
  /** `describedBy(...)` for the input, so its message is read with it. */
  aria?: { "aria-invalid"?: boolean; "aria-describedby"?: string };
}

/**
 * A date input that also says the chosen date in words ("Tue 8 Dec 2026,
 * 14:30"): the input itself writes it in the operating system's order, and
 * 08/12 is August to some and December to others. Within a Field:
 *
 *   <Field id="x-due" label="Due" field="due_date" messages={messages}>
 *     <DateInput id="x-due" value={form.due} aria={describedBy("x-due", messages, "due_date")}
 *       onValue={(value) => set("due", value)} />
 *   </Field>
 */
export function DateInput({ id, type = "datetime-local", value, onValue, min, max, aria = {} }: DateInputProps) {
  const words = localInputInWords(value);
  const wordsId = `${id}-words`;
  // The words are read after the input's message, when there is one.
  const described = [aria["aria-describedby"], words ? wordsId : null].filter(Boolean).join(" ");
  return (
    <div class="date-input">
      <input
        id={id}
        type={type}
        value={value}
        min={min}
        max={max}
        {...aria}
        aria-describedby={described || undefined}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
      {/* Always in the page, so a screen reader hears each change. */}
      <span id={wordsId} class="date-words" aria-live="polite">
        {words}
      </span>
    </div>
  );
}
