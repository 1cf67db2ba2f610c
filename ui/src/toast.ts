// The error toast's state, outside any component so any code (a command
// helper, a screen, an event listener) can report an error. One message is
// shown at a time: the newest replaces the older one; the same message
// again only counts up, so a repeating failure does not flicker. Whatever
// the caller passes is shown as sentences (sentences.ts): a message built
// from a raw server text still reads "Name must not be blank.".

import { messageSentence } from "./sentences";

export interface Toast {
  id: number;
  message: string;
  /** How many times this message came in a row. */
  repeats: number;
}

export interface Toaster {
  show(message: string): void;
  dismiss(): void;
  current(): Toast | null;
  /** Calls `listener` on every change; returns the unsubscribe. */
  subscribe(listener: (toast: Toast | null) => void): () => void;
}

export function createToaster(): Toaster {
  let toast: Toast | null = null;
  let nextId = 1;
  const listeners = new Set<(toast: Toast | null) => void>();
  const emit = () => listeners.forEach((listener) => listener(toast));
  return {
    show(message) {
      const text = messageSentence(message) || "Something went wrong.";
      toast = toast && toast.message === text ? { ...toast, repeats: toast.repeats + 1 } : { id: nextId++, message: text, repeats: 1 };
      emit();
    },
    dismiss() {
      if (!toast) return;
      toast = null;
      emit();
    },
    current: () => toast,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The app's one toaster. */
export const toaster = createToaster();

export const showError = (message: string) => toaster.show(message);
