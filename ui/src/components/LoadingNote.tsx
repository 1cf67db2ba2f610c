// What a screen shows until its data arrived: "Loading…", or the error
// that stopped the load, as a sentence (its report's message already is
// one when it came through api.ts; a report built elsewhere is worded here).

import type { ErrorReport } from "../bindings";
import { reportSentence } from "../sentences";

export function LoadingNote({ error }: { error: ErrorReport | null }) {
  return <p class="muted">{error ? reportSentence(error) : "Loading…"}</p>;
}
