// A <form> with the app's keyboard rules: Enter in a one-line input submits
// (the browser does that for a form with a submit button), Ctrl+Enter
// submits from anywhere in it, a textarea included. Also the form's error
// banner (only what no field shows) and the dialogs' footer (Cancel and
// Save).

import type { ComponentChildren } from "preact";
import { unplacedMessages, type Messages } from "../forms";
import { messageSentence } from "../sentences";
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

interface FormErrorProps {
  /** The form's own error: the core's sentence about no field in particular. */
  message: string | null;
  /** Messages about fields the form does not show (`unplacedMessages`). */
  unplaced?: readonly string[];
}

/**
 * The banner above the form's buttons, with what no field shows; none when
 * everything wrong is said beside the fields. It follows the messages, so
 * a line goes as soon as its problem is put right.
 */
export function FormError({ message, unplaced = [] }: FormErrorProps) {
  // Each line a sentence, whoever built it ("name: must not be blank"
  // reads "Name must not be blank."); the same sentence only once.
  const said = unplaced.map((line) => messageSentence(line)).filter((line) => line !== "");
  const own = message ? messageSentence(message) : "";
  const lines = own && !said.includes(own) ? [...said, own] : said;
  if (lines.length === 0) return null;
  return (
    <div class="form-error" role="alert">
      {lines.map((line) => (
        <p key={line}>{line}</p>
      ))}
    </div>
  );
}

interface FormFooterProps {
  /** The core's messages; those about fields the form does not show are in the banner, so none is lost. */
  messages: Messages;
  /** The wire names of the fields the form shows (their messages sit under them). */
  shown: readonly string[];
  /** The form's own error (the core's sentence about no field). */
  formError: string | null;
  saving: boolean;
  cancelId: string;
  saveId: string;
  /** The save button's words while not saving ("Create customer"). */
  saveLabel: string;
  /** The save button's tooltip, with its keys ("Save (Ctrl+Enter)"). */
  saveTitle: string;
  onCancel: () => void;
}

/**
 * The end of a dialog's form: the banner (messages that have no field of
 * their own, the form's error), then Cancel and the submit button
 * ("Saving…" meanwhile).
 */
export function FormFooter({ messages, shown, formError, saving, cancelId, saveId, saveLabel, saveTitle, onCancel }: FormFooterProps) {
  return (
    <>
      <FormError message={formError} unplaced={unplacedMessages(messages, shown)} />
      <div class="form-actions">
        <button id={cancelId} type="button" class="button" onClick={onCancel} title="Cancel (Esc)">
          Cancel
        </button>
        <button id={saveId} type="submit" class="button primary" disabled={saving} title={saveTitle}>
          {saving ? "Saving…" : saveLabel}
        </button>
      </div>
    </>
  );
}
