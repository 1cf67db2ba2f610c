// A labelled form field with the core's message about it underneath. The
// message carries `data-field` (the wire name), which the end-to-end test
// looks for.

import type { ComponentChildren } from "preact";
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
