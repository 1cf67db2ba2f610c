// The header's search across customers, tickets and comments
// (`commands.search`, the replica's full-text index). Results appear as the
// user types; the arrow keys move through them, Enter opens one, Escape
// closes the list. Archived customers are found too, marked "Archived".

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type SearchHit_Serialize } from "../bindings";
import { debounce } from "../forms";
import { humanize } from "../labels";
import type { Screen } from "../route";
import { moveHighlight, snippetParts } from "../search";
import { showError } from "../toast";

/** Where a hit opens: a customer's page, or the ticket (a comment's too). */
function hitScreen(hit: SearchHit_Serialize): Screen {
  return hit.kind === "customer" ? { name: "customer", id: hit.target_id } : { name: "ticket", id: hit.target_id };
}

export function GlobalSearch({ onOpen }: { onOpen: (screen: Screen) => void }) {
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit_Serialize[] | null>(null);
  const [highlight, setHighlightState] = useState(-1);
  // Key handlers read the newest results and highlight, even between renders.
  const hitsRef = useRef<SearchHit_Serialize[] | null>(null);
  hitsRef.current = hits;
  const highlightRef = useRef(-1);
  const updateHits = (found: SearchHit_Serialize[] | null) => {
    hitsRef.current = found;
    setHits(found);
  };
  /** The query the shown hits answer, and the one typed last. */
  const hitsQuery = useRef("");
  const typedQuery = useRef("");
  /** Enter came before the results: open the first one when they arrive. */
  const openOnArrival = useRef(false);
  const setHighlight = (index: number) => {
    highlightRef.current = index;
    setHighlightState(index);
  };
  const [open, setOpen] = useState(false);
  const latest = useRef(0);
  // The debounced search below lives for the component's life; it reaches the newest `onOpen` through this.
  const onOpenRef = useRef(onOpen);
  onOpenRef.current = onOpen;
  const input = useRef<HTMLInputElement>(null);

  // One debounced search for the component's life; answers to older
  // queries are dropped.
  const search = useMemo(
    () =>
      debounce((text: string) => {
        const mine = ++latest.current;
        call(commands.search(text)).then(
          (found) => {
            if (mine !== latest.current) return;
            hitsQuery.current = text;
            updateHits(found);
            setHighlight(found.length > 0 ? 0 : -1);
            if (openOnArrival.current) {
              openOnArrival.current = false;
              if (found[0]) choose(found[0]);
            }
          },
          (failure) => {
            if (mine === latest.current) showError(toReport(failure).message);
          },
        );
      }, 120),
    [],
  );
  useEffect(() => () => search.cancel(), [search]);

  function onInput(text: string) {
    setQuery(text);
    setOpen(true);
    typedQuery.current = text.trim();
    openOnArrival.current = false;
    if (text.trim()) search(text.trim());
    else {
      search.cancel();
      latest.current++;
      updateHits(null);
      setHighlight(-1);
    }
  }

  function choose(hit: SearchHit_Serialize) {
    setOpen(false);
    setQuery("");
    typedQuery.current = "";
    hitsQuery.current = "";
    updateHits(null);
    input.current?.blur();
    onOpenRef.current(hitScreen(hit));
  }

  function onKeyDown(event: KeyboardEvent) {
    const count = hitsRef.current?.length ?? 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setOpen(true);
      setHighlight(moveHighlight(highlightRef.current, count, event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (typedQuery.current && typedQuery.current !== hitsQuery.current) {
        // Typed faster than the search: open the best hit once it answers.
        openOnArrival.current = true;
        search.flush();
        return;
      }
      const index = highlightRef.current;
      const hit = hitsRef.current?.[index >= 0 ? index : 0];
      if (hit) choose(hit);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      if (open && query) setOpen(false);
      else {
        setQuery("");
        updateHits(null);
        input.current?.blur();
      }
    }
  }

  const showList = open && query.trim() !== "" && hits !== null;
  return (
    <div class="global-search">
      <input
        ref={input}
        id="global-search"
        type="search"
        placeholder="Search everything…"
        title="Search customers, tickets and comments (Ctrl+K)"
        autocomplete="off"
        spellcheck={false}
        value={query}
        role="combobox"
        aria-expanded={showList}
        aria-controls="global-search-results"
        aria-activedescendant={showList && highlight >= 0 ? `search-hit-${highlight}` : undefined}
        onInput={(event) => onInput(event.currentTarget.value)}
        onKeyDown={onKeyDown}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
      />
      {showList && (
        <ul id="global-search-results" class="search-results" role="listbox">
          {hits.length === 0 && <li class="search-empty">No matches</li>}
          {hits.map((hit, i) => (
            <li
              key={`${hit.kind}-${hit.id}`}
              id={`search-hit-${i}`}
              class={i === highlight ? "search-hit highlighted" : "search-hit"}
              role="option"
              aria-selected={i === highlight}
              data-kind={hit.kind}
              data-target-id={hit.target_id}
              data-archived={hit.is_archived ? "true" : undefined}
              // Keep the focus in the input, so the list does not close before the click.
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => choose(hit)}
              onMouseEnter={() => setHighlight(i)}
            >
              <span class={`hit-kind kind-${hit.kind}`}>{humanize(hit.kind)}</span>
              <span class="hit-text">
                <span class="hit-heading">
                  <span class="hit-title">{hit.title}</span>
                  {/* Lists leave archived customers out; search finds them and says so. */}
                  {hit.is_archived && <span class="pill archived hit-archived">Archived</span>}
                </span>
                <span class="hit-snippet">
                  {snippetParts(hit.snippet).map((part, j) => (part.hit ? <mark key={j}>{part.text}</mark> : part.text))}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
