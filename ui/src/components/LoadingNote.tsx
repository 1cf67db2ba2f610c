// What a screen shows until its data arrived: "Loading…", or the error
// that stopped the load.

import type { ErrorReport } from "../bindings";

export function LoadingNote({ error }: { error: ErrorReport | null }) {
  return <p class="muted">{error ? error.message : "Loading…"}</p>;
}
