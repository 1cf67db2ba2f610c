// A small label for a wire value (a stage, status, priority, channel): the
// readable word, with a class per value so the stylesheet can colour it.

import { humanize } from "../labels";

export function Pill({ kind, value }: { kind: string; value: string }) {
  return <span class={`pill ${kind}-${value}`}>{humanize(value)}</span>;
}
