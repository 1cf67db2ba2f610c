// The ticket form's customer picker: a box that searches the customers as
// the user types (`listCustomers`, the replica's full-text index, 20 at a
// time), a list of matches to choose from by click or ↑ ↓ and Enter, and
// the chosen customer shown with a button to clear it. The chosen id sits
// in a hidden input (`#<id>`, "" for none) and on the wrapper as
// `data-customer-id`. What each key does is decided in picker.ts.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type CustomerListItem_Serialize } from "../bindings";
import { debounce } from "../forms";
import {
  arrived,
  closed,
  customerSearchFilter,
  focused,
  initialPicker,
  PICKER_LIMIT,
  pressed,
  searchText,
  typed,
  upToDate,
  type PickerState,
} from "../picker";
import { showError } from "../toast";

export interface ChosenCustomer {
  id: string;
  name: string;
}

interface CustomerPickerProps {
  /** The hidden input's id; the box is `<id>-search`, the list `<id>-results`, the clear button `<id>-clear`. */
  id: string;
  value: ChosenCustomer | null;
  onChange: (value: ChosenCustomer | null) => void;
  /** Attributes tying the box to the field's message (Field.tsx: describedBy). */
  aria?: Record<string, unknown>;
}

type Match = CustomerListItem_Serialize;

export function CustomerPicker({ id, value, onChange, aria }: CustomerPickerProps) {
  const [state, setState] = useState<PickerState<Match>>(() => initialPicker<Match>());
  // Key handlers and answers read the newest state, even between renders.
  const stateRef = useRef(state);
  const update = (next: PickerState<Match>) => {
    stateRef.current = next;
    setState(next);
  };
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const box = useRef<HTMLInputElement>(null);
  /** The choice was cleared: the box takes the focus once it is drawn. */
  const focusBox = useRef(false);

  // One debounced search for the component's life; answers to older queries are dropped (picker.ts).
  const search = useMemo(
    () =>
      debounce((text: string) => {
        call(commands.listCustomers(customerSearchFilter(text))).then(
          (found) => {
            const out = arrived(stateRef.current, text, found);
            if (out.state !== stateRef.current) update(out.state);
            if (out.pick) choose(out.pick);
          },
          (failure) => {
            if (text === searchText(stateRef.current)) showError(toReport(failure).message);
          },
        );
      }, 150),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );
  useEffect(() => () => search.cancel(), [search]);

  useEffect(() => {
    if (!value && focusBox.current) {
      focusBox.current = false;
      box.current?.focus();
    }
  }, [value]);

  function choose(customer: Match) {
    search.cancel();
    update(initialPicker<Match>());
    onChangeRef.current({ id: customer.id, name: customer.name });
  }

  function clear() {
    focusBox.current = true;
    onChangeRef.current(null);
  }

  function onInput(text: string) {
    const next = typed(stateRef.current, text);
    update(next);
    search(searchText(next));
  }

  function onFocus() {
    const next = focused(stateRef.current);
    update(next);
    // The first 20 by name for an empty box; nothing new when the matches are current.
    if (!upToDate(next)) search(searchText(next));
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.isComposing) return;
    const out = pressed(stateRef.current, event.key);
    if (!out.handled) return;
    // The picker's key: no form submit on Enter, no dialog closing on Escape.
    event.preventDefault();
    event.stopPropagation();
    update(out.state);
    if (out.searchNow) {
      search(searchText(out.state));
      search.flush();
    }
    if (out.pick) choose(out.pick);
  }

  const chosenId = value?.id ?? "";
  const matches = state.matches ?? [];
  const showList = !value && state.open && state.matches !== null;
  const resultsId = `${id}-results`;
  return (
    <div class="customer-picker" data-customer-id={chosenId}>
      {/* A hidden input's value is also its attribute, so either reads the chosen id. */}
      <input type="hidden" id={id} name="customer_id" value={chosenId} />
      {value ? (
        <div class="picked">
          <span id={`${id}-chosen`} class="picked-name ellipsis" title={value.name}>
            {value.name}
          </span>
          <button
            id={`${id}-clear`}
            type="button"
            class="icon-button"
            aria-label={`Clear the customer (${value.name})`}
            title="No customer"
            onClick={clear}
          >
            ×
          </button>
        </div>
      ) : (
        <input
          ref={box}
          id={`${id}-search`}
          type="text"
          placeholder="Search customers…"
          autocomplete="off"
          spellcheck={false}
          value={state.query}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={showList}
          aria-controls={resultsId}
          aria-activedescendant={showList && state.highlight >= 0 ? `${id}-option-${state.highlight}` : undefined}
          {...aria}
          onInput={(event) => onInput(event.currentTarget.value)}
          onKeyDown={onKeyDown}
          onFocus={onFocus}
          onBlur={() => update(closed(stateRef.current))}
        />
      )}
      {showList && (
        <ul id={resultsId} class="search-results picker-results" role="listbox" aria-label="Customers">
          {matches.length === 0 && (
            <li class="search-empty">{searchText(state) ? "No customers match" : "No customers yet"}</li>
          )}
          {matches.map((customer, i) => (
            <li
              key={customer.id}
              id={`${id}-option-${i}`}
              class={i === state.highlight ? "search-hit picker-option highlighted" : "search-hit picker-option"}
              role="option"
              aria-selected={i === state.highlight}
              data-id={customer.id}
              // Keep the focus in the box, so the list does not close before the click.
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => choose(customer)}
              onMouseEnter={() => update({ ...stateRef.current, highlight: i })}
            >
              <span class="hit-text">
                <span class="hit-title">{customer.name}</span>
                {(customer.email || customer.phone) && (
                  <span class="hit-snippet">{[customer.email, customer.phone].filter(Boolean).join(" · ")}</span>
                )}
              </span>
            </li>
          ))}
          {matches.length >= PICKER_LIMIT && (
            <li class="picker-more muted small">Showing the first {PICKER_LIMIT} — type more to narrow it down</li>
          )}
        </ul>
      )}
    </div>
  );
}
