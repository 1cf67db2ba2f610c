// The customer list: instant search (the replica's full-text index, so it
// is fast enough to run as the user types), filters by stage and status,
// and the way into each customer's page.

import { useEffect, useState } from "preact/hooks";
import { commands, type AcquisitionStage, type CustomerStatus } from "../bindings";
import { EnumSelect } from "../components/EnumSelect";
import { Pill } from "../components/Pill";
import { focusFirstRow, openableRow } from "../components/rows";
import { useApp } from "../context";
import { textOrNull } from "../forms";
import { useDebounced, useLoad, useNewAction } from "../hooks";
import { firstPageNote, personName } from "../labels";
import { screenMemory } from "../memory";
import { withHint } from "../shortcuts";

/** The list shows this many; the search narrows it down. */
const PAGE = 100;

export function Customers() {
  const { vocabulary, navigate, openDialog } = useApp();
  // Start from how the list was left (see memory.ts).
  const [search, setSearch] = useState(screenMemory.customers.search);
  const [stage, setStage] = useState<AcquisitionStage | "">(screenMemory.customers.stage);
  const [status, setStatus] = useState<CustomerStatus | "">(screenMemory.customers.status);
  const query = useDebounced(search, 120);
  useEffect(() => {
    screenMemory.customers = { search, stage, status };
  }, [search, stage, status]);

  const list = useLoad(
    () =>
      commands.listCustomers({
        search: textOrNull(query),
        stage: stage || null,
        status: status || null,
        include_archived: false,
        // One more than is shown, to know whether there are more.
        limit: PAGE + 1,
        offset: 0,
      }),
    [query, stage, status],
    { keep: true },
  );

  const newCustomer = () => openDialog({ kind: "new-customer" });
  useNewAction(newCustomer, []);

  // What the shown list answers (the search is debounced): "nothing matches" vs "no customers yet".
  const filtered = Boolean(textOrNull(query) || stage || status);
  const fetched = list.data ?? [];
  const note = firstPageNote(fetched.length, PAGE);
  const customers = fetched.slice(0, PAGE);
  const clearFilters = () => {
    setSearch("");
    setStage("");
    setStatus("");
    document.getElementById("customer-search")?.focus();
  };
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
          onInput={(e) => setSearch(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              focusFirstRow("#customer-list");
            }
          }}
        />
        <EnumSelect id="filter-stage" aria-label="Stage" value={stage} choices={vocabulary.stages} none="All stages" onChange={setStage} />
        <EnumSelect
          id="filter-status"
          aria-label="Status"
          value={status}
          choices={vocabulary.customer_statuses}
          none="All statuses"
          onChange={setStatus}
        />
      </div>

      <div id="customer-list" class="list" data-loaded={list.loaded ? "true" : undefined}>
        {list.loaded && customers.length === 0 && (
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
          <table class="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Contact</th>
                <th>Stage</th>
                <th>Status</th>
                <th>Owner</th>
              </tr>
            </thead>
            <tbody>
              {customers.map((customer) => (
                <tr
                  key={customer.id}
                  class="customer-row"
                  data-id={customer.id}
                  {...openableRow(() => navigate({ name: "customer", id: customer.id }))}
                >
                  <td class="customer-name strong">{customer.name}</td>
                  <td class="muted ellipsis">{[customer.email, customer.phone].filter(Boolean).join(" · ") || "—"}</td>
                  <td>
                    <Pill kind="stage" value={customer.acquisition_stage} />
                  </td>
                  <td>
                    <Pill kind="status" value={customer.status} />
                  </td>
                  <td class="muted">{personName(customer.owner_name, "—")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {note && (
          <p id="customer-list-note" class="list-note muted">
            {note}
          </p>
        )}
      </div>
    </section>
  );
}
