// A select of wire values (stages, statuses, priorities, channels), each
// shown as its readable word; optionally led by a "" choice ("All stages").

import { humanize } from "../labels";

interface EnumSelectProps<T extends string> {
  id: string;
  value: T;
  /** The values offered, in order (the vocabulary's). */
  choices: readonly T[];
  /** Gives one of `choices`, or "" for the `none` option (then `T` includes ""). */
  onChange: (value: T) => void;
  /** The words of a leading "" option; none without it. */
  none?: string;
  "aria-label"?: string;
}

export function EnumSelect<T extends string>({ id, value, choices, onChange, none, ...rest }: EnumSelectProps<T>) {
  return (
    <select {...rest} id={id} value={value} onChange={(e) => onChange(e.currentTarget.value as T)}>
      {none !== undefined && <option value="">{none}</option>}
      {choices.map((choice) => (
        <option key={choice} value={choice}>
          {humanize(choice)}
        </option>
      ))}
    </select>
  );
}
