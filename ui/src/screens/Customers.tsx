// The customer list: every customer the user holds, a page at a time with
// the total ("1–100 of 250"), sortable by any column (click a header; again
// to reverse), instant search (the replica's full-text index, so it is fast
// enough to run as the user types), filters by stage and status (and owner,
// for admins), archived customers on request, and the way into each
// customer's page. The decisions live in customerList.ts.

import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type CustomerSortColumn } from "../bindings";
import { EnumSelect } from "../components/EnumSelect";
import { Pill } from "../components/Pill";
import { focusFirstRow, openableRow } from "../components/rows";
import { SortableHeader } from "../components/SortableHeader";
import { useApp } from "../context";
import {
  ariaSort,
  hasNextPage,
  hasPreviousPage,
  isFiltered,
  listFilter,
  nextSort,
  offsetWithin,
  ownerFilterChoices,
  showPager,
  shownSort,
  turnPage,
  type ListState,
} from "../customerList";
import { formatDate, formatFull } from "../datetime";
import { textOrNull } from "../forms";
import { useDebounced, useLoad, useNewAction } from "../hooks";
import { customerCount, pageRange, personName } from "../labels";
import { screenMemory } from "../memory";
import { withHint } from "../shortcuts";

export function Customers() {
  const { vocabulary, colleagues, session, navigate, openDialog } = useApp();
  const me = session.account.id;
  const isAdmin = session.account.role === "admin";
  // Start from how the list was left (see memory.ts).
  const [state, setState] = useState<ListState>(screenMemory.customers);
  const { search, stage, status, owner, showArchived, offset } = state;
  useEffect(() => {
    screenMemory.customers = state;
  }, [state]);
  /** Any change but a page turn starts again at the first page. */
  const change = (patch: Partial<ListState>) => setState((old) => ({ ...old, offset: 0, ...patch }));
  const goToPage = (to: number) => {
    setState((old) => ({ ...old, offset: to }));
    document.getElementById("customers-screen")?.scrollIntoView({ block: "start" });
  };

  const query = useDebounced(search, 120);
  // New words start at the first page once they are searched for (not on
  // each keystroke, which would ask twice).
  const searched = useRef(query);
  useEffect(() => {
    if (searched.current === query) return;
    searched.current = query;
    setState((old) => (old.offset === 0 ? old : { ...old, offset: 0 }));
  }, [query]);

  const filter = listFilter(state, query, isAdmin);
  const list = useLoad(() => commands.customerList(filter), [filter], { keep: true });

  const total = list.data?.total ?? 0;
  const customers = list.data?.items ?? [];
  // The page emptied (customers left or were archived since it was chosen):
  // go to the last page that has rows.
  useEffect(() => {
    if (!list.data || list.data.items.length > 0) return;
    const within = offsetWithin(offset, list.data.total);
    if (within !== offset) setState((old) => ({ ...old, offset: within }));
  }, [list.data]);

  const newCustomer = () => openDialog({ kind: "new-customer" });
  useNewAction(newCustomer, []);

  const searching = textOrNull(query) !== null;
  const sort = shownSort(state.sort, searching);
  const onSort = (column: CustomerSortColumn) => change({ sort: nextSort(sort, column) });
  // What the shown list answers (the search is debounced): "nothing matches" vs "no customers yet".
  const filtered = isFiltered({ search: query, stage, status, owner: isAdmin ? owner : "" });
  const clearFilters = () => {
    change({ search: "", stage: "", status: "", owner: "" });
    document.getElementById("customer-search")?.focus();
  };
  const header = (column: CustomerSortColumn, label: string) => (
    <SortableHeader id={`customer-sort-${column}`} label={label} sorted={ariaSort(sort, column)} onSort={() => onSort(column)} />
  );
  return (
    <section id="customers-screen" class="screen" data-loaded={list.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>Customers</h1>
        <button id="new-customer" type="button" class="button primary" onClick={newCustomer} title={withHint("New customer", "N")}>
          New customer
        </button>
      </header>

      <div class="toolbar" role="search">
        <input
          id="customer-search"
          type="search"
          class="grow"
          placeholder="Search by name, email or phone"
          title="Search customers (/)"
          aria-label="Search customers"
          autocomplete="off"
          spellcheck={false}
          value={search}
          onInput={(e) => setState((old) => ({ ...old, search: e.currentTarget.value }))}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              focusFirstRow("#customer-list");
            }
          }}
        />
        <EnumSelect
          id="filter-stage"
          aria-label="Stage"
          value={stage}
          choices={vocabulary.stages}
          none="All stages"
          onChange={(value) => change({ stage: value })}
        />
        <EnumSelect
          id="filter-status"
          aria-label="Status"
          value={status}
          choices={vocabulary.customer_statuses}
          none="All statuses"
          onChange={(value) => change({ status: value })}
        />
        {isAdmin && (
          <select id="filter-owner" aria-label="Owner" value={owner} onChange={(e) => change({ owner: e.currentTarget.value })}>
            {ownerFilterChoices(colleagues, me, owner).map((choice) => (
              <option key={choice.id} value={choice.id}>
                {choice.label}
              </option>
            ))}
          </select>
        )}
        <label class="checkbox-inline">
          <input
            id="customer-show-archived"
            type="checkbox"
            checked={showArchived}
            onChange={(e) => change({ showArchived: e.currentTarget.checked })}
          />
          Show archived
        </label>
      </div>

      {list.loaded && total > 0 && (
        <div class="list-summary">
          <span id="customer-list-total" aria-live="polite">
            {customerCount(total, { matching: filtered, archived: showArchived })}
          </span>
          {searching && state.sort && (
            <button id="customer-sort-best-match" type="button" class="link-button" onClick={() => change({ sort: null })}>
              Best matches first
            </button>
          )}
        </div>
      )}

      <div id="customer-list" class="list" data-loaded={list.loaded ? "true" : undefined}>
        {list.loaded && total === 0 && (
          <div id="customer-list-empty" class="empty" data-empty={filtered ? "no-match" : "no-customers"}>
            {filtered ? (
              <>
                <p>No customers match. Try fewer words or other filters.</p>
                <button id="clear-customer-filters" type="button" class="button" onClick={clearFilters}>
                  Clear search and filters
                </button>
              </>
            ) : (
              <>
                <p>No customers yet.</p>
                <button type="button" class="button" onClick={newCustomer}>
                  Add the first customer
                </button>
              </>
            )}
          </div>
        )}
        {customers.length > 0 && (
          <table class="table customer-table">
            <thead>
              <tr>
                {header("name", "Name")}
                {header("email", "Email")}
                {header("phone", "Phone")}
                {header("stage", "Stage")}
                {header("status", "Status")}
                {isAdmin && header("owner", "Owner")}
                {header("created_at", "Customer since")}
              </tr>
            </thead>
            <tbody>
              {customers.map((customer) => (
                <tr
                  key={customer.id}
                  class={customer.is_archived ? "customer-row archived" : "customer-row"}
                  data-id={customer.id}
                  data-archived={customer.is_archived ? "true" : undefined}
                  {...openableRow(() => navigate({ name: "customer", id: customer.id }))}
                >
                  <td class="strong">
                    <span class="customer-name">{customer.name}</span>
                    {customer.is_archived && <span class="pill archived">Archived</span>}
                  </td>
                  <td class="muted ellipsis" title={customer.email ?? undefined}>
                    {customer.email || "—"}
                  </td>
                  <td class="muted nowrap">{customer.phone || "—"}</td>
                  <td>
                    <Pill kind="stage" value={customer.acquisition_stage} />
                  </td>
                  <td>
                    <Pill kind="status" value={customer.status} />
                  </td>
                  {isAdmin && <td class="muted ellipsis">{personName(customer.owner_name, "—")}</td>}
                  <td class="muted nowrap" title={formatFull(customer.created_at)}>
                    {formatDate(customer.created_at) || "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list.loaded && showPager(offset, total) && (
          <nav id="customer-pager" class="pager" aria-label="Pages of customers">
            <span id="customer-page-range" class="muted">
              {pageRange(offset, customers.length, total)}
            </span>
            <button
              id="customer-page-previous"
              type="button"
              class="button small"
              disabled={!hasPreviousPage(offset)}
              onClick={() => goToPage(turnPage(offset, -1))}
            >
              Previous
            </button>
            <button
              id="customer-page-next"
              type="button"
              class="button small"
              disabled={!hasNextPage(offset, total)}
              onClick={() => goToPage(turnPage(offset, 1))}
            >
              Next
            </button>
          </nav>
        )}
      </div>
    </section>
  );
}
