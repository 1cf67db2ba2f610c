// A customer's page: their details, their interactions (newest first, with
// follow-ups that are due or overdue highlighted), and their tickets. The
// back link names where it leads (the list, or the ticket this page was
// opened from), as Escape goes there too.

import { Fragment } from "preact";
import { commands, type Colleague_Serialize, type CustomerInteraction_Serialize } from "../bindings";
import { FollowUpActions } from "../components/FollowUpActions";
import { LoadingNote } from "../components/LoadingNote";
import { Pill } from "../components/Pill";
import { openableRow } from "../components/rows";
import { useApp } from "../context";
import { followUpState, formatDate, formatDateTime, formatFull } from "../datetime";
import { useNewAction, useNow, useRecordPage } from "../hooks";
import { addressPieces, personName } from "../labels";
import { personLabel } from "../people";
import { backLabel, backTarget, type Screen } from "../route";
import { withHint } from "../shortcuts";

interface CustomerPageProps {
  id: string;
  /** The screen left for this one, where "back" leads; none: the customer list. */
  back?: Screen | null;
  /** The customer is not in the replica (deleted, or access lost). */
  onMissing: (message: string) => void;
}

export function CustomerPage({ id, back, onMissing }: CustomerPageProps) {
  const { products, colleagues, session, navigate, goBack, openDialog } = useApp();
  const page = useRecordPage(() => commands.customerPage(id), id, onMissing);
  const now = useNow(60_000);

  const data = page.data;
  const logInteraction = data
    ? () => openDialog({ kind: "log-interaction", customerId: id, customerName: data.customer.name })
    : null;
  useNewAction(logInteraction, [id, data?.customer.name]);

  if (!data) {
    return (
      <section id="customer-page" class="screen" data-id={id}>
        <LoadingNote error={page.error} />
      </section>
    );
  }

  const { customer } = data;
  const product = products.find((p) => p.id === customer.product_id);
  const backTo = backTarget(back, { name: "customers" });
  // Opened from one of this customer's tickets: the link names it.
  const backWords = backLabel(backTo, backTo.name === "ticket" ? data.tickets.find((t) => t.id === backTo.id)?.title : null);
  return (
    <section id="customer-page" class="screen" data-id={id} data-loaded="true">
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <button
          type="button"
          class="link-button back-link"
          onClick={() => goBack({ name: "customers" })}
          title={`Back to ${backWords} (Esc)`}
        >
          ← {backWords}
        </button>
      </nav>
      <header class="screen-header">
        <h1 id="customer-title">{customer.name}</h1>
        {customer.is_archived && <span class="pill archived">Archived</span>}
        <span class="header-spacer" />
        {data.can_edit && (
          <button
            id="edit-customer"
            type="button"
            class="button"
            onClick={() => openDialog({ kind: "edit-customer", customer })}
          >
            Edit
          </button>
        )}
        <button
          id="open-ticket-for-customer"
          type="button"
          class="button"
          onClick={() => openDialog({ kind: "new-ticket", customer: { id, name: customer.name } })}
        >
          Open ticket
        </button>
        <button id="log-interaction" type="button" class="button primary" onClick={logInteraction!} title={withHint("Log interaction", "N")}>
          Log interaction
        </button>
      </header>

      <dl class="details">
        <Detail label="Email" value={customer.email} address />
        <Detail label="Phone" value={customer.phone} />
        <Detail label="Product" value={product?.name ?? (customer.product_id ? "Unknown product" : null)} />
        <div>
          <dt>Stage</dt>
          <dd>
            <Pill kind="stage" value={customer.acquisition_stage} />
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <Pill kind="status" value={customer.status} />
          </dd>
        </div>
        <Detail label="Owner" value={personName(data.owner_name, customer.owner ? "Unknown" : "Nobody")} />
        <Detail
          label="Customer since"
          value={formatDate(customer.created_at)}
          title={formatDate(customer.created_at, { weekday: true })}
        />
      </dl>

      <div class="columns">
        <section class="panel" aria-labelledby="interactions-heading">
          <h2 id="interactions-heading">
            Interactions <span class="count">{data.interactions.length}</span>
          </h2>
          {data.interactions.length === 0 ? (
            <p class="empty-inline">No interactions logged yet. Press N to log one.</p>
          ) : (
            <ul class="interactions">
              {data.interactions.map((interaction) => (
                <InteractionRow
                  key={interaction.id}
                  interaction={interaction}
                  now={now}
                  colleagues={colleagues}
                  me={session.account.id}
                  canEdit={data.can_edit}
                  ownerId={data.customer.owner}
                />
              ))}
            </ul>
          )}
        </section>

        <section class="panel" aria-labelledby="tickets-heading">
          <h2 id="tickets-heading">
            Tickets <span class="count">{data.tickets.length}</span>
          </h2>
          {data.tickets.length === 0 ? (
            <p class="empty-inline">No tickets for this customer.</p>
          ) : (
            <ul class="rows">
              {data.tickets.map((ticket) => (
                <li
                  key={ticket.id}
                  class="ticket-row row"
                  data-id={ticket.id}
                  {...openableRow(() => navigate({ name: "ticket", id: ticket.id }))}
                >
                  <span class="row-title">{ticket.title}</span>
                  <Pill kind="ticket-status" value={ticket.status} />
                  <Pill kind="priority" value={ticket.priority} />
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </section>
  );
}

interface DetailProps {
  label: string;
  value: string | null | undefined;
  title?: string;
  /** An email or web address: it may wrap only between its parts (`addressPieces`). */
  address?: boolean;
}

function Detail({ label, value, title, address }: DetailProps) {
  return (
    <div>
      <dt>{label}</dt>
      <dd title={title} class={value ? undefined : "muted"}>
        {value ? (address ? <Address text={value} /> : value) : "—"}
      </dd>
    </div>
  );
}

/** An address with a line-break opportunity (`<wbr>`, copied as nothing) between its parts. */
function Address({ text }: { text: string }) {
  return (
    <>
      {addressPieces(text).map((piece, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {piece}
        </Fragment>
      ))}
    </>
  );
}

interface InteractionRowProps {
  interaction: CustomerInteraction_Serialize;
  now: Date;
  colleagues: Colleague_Serialize[];
  me: string;
  /** The user manages this customer: they may act on its follow-ups. */
  canEdit: boolean;
  /** The customer's owner, whose follow-ups remind them. */
  ownerId: string | null;
}

function InteractionRow({ interaction, now, colleagues, me, canEdit, ownerId }: InteractionRowProps) {
  const mine = ownerId === me || interaction.created_by === me;
  const followUp = followUpState(interaction.follow_up_date, now);
  return (
    <li class="interaction-row" data-id={interaction.id}>
      <div class="interaction-head">
        <span class="strong">{interaction.type}</span>
        <Pill kind="channel" value={interaction.channel} />
        <span class="muted small">
          <span title={formatFull(interaction.created_at)}>{formatDateTime(interaction.created_at, now)}</span>
          {" · logged by "}
          <span class="interaction-by" data-user-id={interaction.created_by}>
            {personLabel(interaction.created_by, colleagues, me)}
          </span>
        </span>
      </div>
      {interaction.note && <p class="note">{interaction.note}</p>}
      {interaction.follow_up_done_at ? (
        <p class="follow-up done" title={formatFull(interaction.follow_up_done_at)}>
          Follow-up done {formatDateTime(interaction.follow_up_done_at, now)}
        </p>
      ) : (
        followUp &&
        interaction.follow_up_date && (
          <div class="follow-up-line">
            <p class={`follow-up ${followUp}`} title={formatFull(interaction.follow_up_date)}>
              {followUp === "overdue" ? "Follow-up overdue: " : followUp === "due" ? "Follow-up due today: " : "Follow up: "}
              {formatDateTime(interaction.follow_up_date, now)}
            </p>
            {canEdit && (
              <FollowUpActions
                interactionId={interaction.id}
                due={interaction.follow_up_date}
                // Reminders are the user's own: their customers' follow-ups and the ones they logged.
                snooze={mine}
              />
            )}
          </div>
        )
      )}
    </li>
  );
}
