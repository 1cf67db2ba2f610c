// A <form> with the app's keyboard rules: Enter in a one-line input submits
// (the browser does that for a form with a submit button), Ctrl+Enter
// submits from anywhere in it, a textarea included.

import type { ComponentChildren } from "preact";
import { isSubmitChord } from "../shortcuts";

interface FormProps {
  onSubmit: () => void;
  children: ComponentChildren;
  class?: string;
  id?: string;
  "aria-label"?: string;
}

export function Form({ onSubmit, children, ...rest }: FormProps) {
  return (
    <form
      {...rest}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
      onKeyDown={(event) => {
        if (isSubmitChord(event)) {
          event.preventDefault();
          onSubmit();
        }
      }}
    >
      {children}
    </form>
  );
}

/** The form's own error (the core's sentence) above its buttons. */
export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p class="form-error" role="alert">
      {message}
    </p>
  );
}
