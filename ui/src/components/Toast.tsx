// The error toast (id "toast"): the newest failed command's message, until
// dismissed. Its state lives in toast.ts so any code can report to it.

import { useEffect, useState } from "preact/hooks";
import { toaster, type Toast as ToastState } from "../toast";

export function Toast() {
  const [toast, setToast] = useState<ToastState | null>(toaster.current());
  useEffect(() => toaster.subscribe(setToast), []);
  if (!toast) return null;
  return (
    <div id="toast" class="toast" role="alert">
      <span class="toast-message">{toast.message}</span>
      {toast.repeats > 1 && <span class="toast-repeats">×{toast.repeats}</span>}
      <button type="button" class="icon-button" aria-label="Dismiss" title="Dismiss" onClick={() => toaster.dismiss()}>
        ×
      </button>
    </div>
  );
}
