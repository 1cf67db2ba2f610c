// The "?" overlay: every keyboard shortcut, from the list in shortcuts.ts.

import { SHORTCUTS } from "../shortcuts";
import { Dialog } from "./Dialog";

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Dialog id="shortcuts-overlay" title="Keyboard shortcuts" onClose={onClose}>
      <table class="shortcuts">
        <tbody>
          {SHORTCUTS.map(({ keys, what }) => (
            <tr key={keys}>
              <td>
                {keys.split("+").map((key, i) => (
                  <>
                    {i > 0 && "+"}
                    <kbd>{key}</kbd>
                  </>
                ))}
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="form-actions">
        <button type="button" class="button primary" onClick={onClose} data-autofocus>
          Got it
        </button>
      </div>
    </Dialog>
  );
}
