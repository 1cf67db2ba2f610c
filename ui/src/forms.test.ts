import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Customer_Serialize, Ticket_Serialize } from "./bindings";
import {
  commentDraft,
  customerEdit,
  customerFormFrom,
  debounce,
  emptyCustomerForm,
  emptyTicketForm,
  interactionDraft,
  messagesByField,
  newCustomerDraft,
  saveFailureSentence,
  statusChoices,
  textOrNull,
  ticketDraft,
  ticketEdit,
  unplacedMessages,
  visibleMessages,
} from "./forms";

const vocabulary = {
  stages: ["lead", "qualified"] as const,
  customer_statuses: ["active", "churned"] as const,
  priorities: ["low", "medium", "high"] as const,
  channels: ["phone", "email"] as const,
};

const customer: Customer_Serialize = {
  id: "c1",
  name: "Acme",
  email: null,
  phone: "+33 1 23",
  product_id: "p1",
  status: "active",
  acquisition_stage: "proposal",
  owner: "u7",
  is_archived: false,
  created_at: "2024-01-01T00:00:00Z",
  updated_at: "2024-01-01T00:00:00Z",
};

const ticket: Ticket_Serialize = {
  id: "t1",
  title: "Printer jams",
  description: null,
  priority: "medium",
  status: "open",
  customer_id: "c1",
  assigned_to: "u2",
  created_by: "u1",
  created_at: "2024-01-01T00:00:00Z",
  updated_at: "2024-01-01T00:00:00Z",
  resolved_at: null,
  closed_at: null,
};

describe("field messages", () => {
  it("group by field as sentences", () => {
    const messages = messagesByField([
      { field: "name", message: "must not be blank" },
      { field: "email", message: "is not an email address" },
      { field: "email", message: "is too long." },
    ]);
    expect(messages).toEqual({ name: "Must not be blank.", email: "Is not an email address. Is too long." });
  });

  it("show for touched fields only, until a save is attempted", () => {
    const messages = { name: "Required.", email: "Bad." };
    expect(visibleMessages(messages, new Set(["email"]), false)).toEqual({ email: "Bad." });
    expect(visibleMessages(messages, new Set(), true)).toEqual(messages);
  });

  it("keep the ones no field shows", () => {
    expect(unplacedMessages({ name: "Required.", owner: "Is not a colleague." }, ["name", "email"])).toEqual([
      "Owner is not a colleague.",
    ]);
    expect(unplacedMessages({ product_id: "Is not a known product." }, [])).toEqual(["Product is not a known product."]);
  });
});

describe("a failed save's sentence", () => {
  it("is left out when the refusal names fields, whose messages show on their own", () => {
    const report = {
      message: "email: must be a valid email address; phone: must have at least 5 digits",
      fields: [
        { field: "email", message: "must be a valid email address" },
        { field: "phone", message: "must have at least 5 digits" },
      ],
    };
    expect(saveFailureSentence(report)).toBeNull();
    // Each message is shown once, beside its field, and goes when it is fixed.
    const shown = visibleMessages(messagesByField(report.fields), new Set(), true);
    expect(shown).toEqual({ email: "Must be a valid email address.", phone: "Must have at least 5 digits." });
    expect(unplacedMessages(shown, ["name", "email", "phone"])).toEqual([]);
  });

  it("stays for a refusal that is not about a field", () => {
    expect(saveFailureSentence({ message: "you may not change this customer", fields: [] })).toBe(
      "you may not change this customer",
    );
    expect(saveFailureSentence({ message: "  ", fields: [] })).toBeNull();
  });
});

describe("text fields", () => {
  it("are trimmed, and empty means absent", () => {
    expect(textOrNull("  a@b.c ")).toBe("a@b.c");
    expect(textOrNull("   ")).toBeNull();
    expect(textOrNull("")).toBeNull();
    expect(textOrNull(undefined)).toBeNull();
  });
});

describe("debounce", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs once after the calls pause, with the last arguments", () => {
    const seen: string[] = [];
    const check = debounce((text: string) => seen.push(text), 120);
    check("a");
    vi.advanceTimersByTime(100);
    check("ab");
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(seen).toEqual(["ab"]);
  });

  it("can be cancelled or flushed", () => {
    const seen: string[] = [];
    const check = debounce((text: string) => seen.push(text), 120);
    check("gone");
    check.cancel();
    vi.advanceTimersByTime(500);
    expect(seen).toEqual([]);
    check("now");
    check.flush();
    expect(seen).toEqual(["now"]);
    vi.advanceTimersByTime(500);
    expect(seen).toEqual(["now"]);
  });
});

describe("customer drafts", () => {
  it("start at the vocabulary's first stage and status", () => {
    const form = emptyCustomerForm(vocabulary as never);
    expect(form.acquisition_stage).toBe("lead");
    expect(form.status).toBe("active");
  });

  it("trim, turn empty into null and leave the owner to the core", () => {
    const form = { ...emptyCustomerForm(vocabulary as never), name: "  Acme  ", email: " ", phone: " 0612 " };
    expect(newCustomerDraft(form)).toEqual({
      name: "Acme",
      email: null,
      phone: "0612",
      product_id: null,
      status: "active",
      acquisition_stage: "lead",
      owner: null,
    });
  });

  it("send the owner an admin chose, and none when left empty", () => {
    const form = { ...emptyCustomerForm(vocabulary as never, "u1"), name: "Acme" };
    expect(form.owner).toBe("u1");
    expect(newCustomerDraft({ ...form, owner: "u5" }, true).owner).toBe("u5");
    expect(newCustomerDraft({ ...form, owner: "" }, true).owner).toBeNull();
    // An agent's form never names an owner, whatever the state holds.
    expect(newCustomerDraft({ ...form, owner: "u5" }).owner).toBeNull();
  });

  it("reassign when an admin chose another owner", () => {
    const form = { ...customerFormFrom(customer), owner: "u9" };
    expect(customerFormFrom(customer).owner).toBe("u7");
    expect(customerFormFrom({ ...customer, owner: null }).owner).toBe("");
    expect(customerEdit(form, customer.owner, true).owner).toBe("u9");
    expect(customerEdit({ ...form, owner: "" }, customer.owner, true).owner).toBeNull();
    // Without the choice (an agent), the current owner stays.
    expect(customerEdit(form, customer.owner).owner).toBe("u7");
  });

  it("edit every field and keep the owner", () => {
    const form = { ...customerFormFrom(customer), email: "ops@acme.test", product_id: "", is_archived: true };
    expect(customerEdit(form, customer.owner)).toEqual({
      name: "Acme",
      email: "ops@acme.test",
      phone: "+33 1 23",
      product_id: null,
      status: "active",
      acquisition_stage: "proposal",
      owner: "u7",
      is_archived: true,
    });
  });
});

describe("customer edits and new customers", () => {
  it("send the same fields the same way", () => {
    const form = { ...customerFormFrom(customer), name: "  Acme  ", email: " ", phone: " 0612 ", product_id: "" };
    const { owner: _newOwner, ...created } = newCustomerDraft(form);
    const { owner: _editOwner, is_archived: _archived, ...edited } = customerEdit(form, customer.owner);
    expect(edited).toEqual(created);
    expect(created).toEqual({
      name: "Acme",
      email: null,
      phone: "0612",
      product_id: null,
      status: "active",
      acquisition_stage: "proposal",
    });
  });
});

describe("interaction drafts", () => {
  it("send the follow-up as UTC, or null", () => {
    const draft = interactionDraft({ type: " call ", channel: "phone", note: "", follow_up: "" }, "c1");
    expect(draft).toEqual({ customer_id: "c1", type: "call", channel: "phone", note: null, follow_up_date: null, occurred_at: null });
    const later = interactionDraft({ type: "demo", channel: "email", note: "ok", follow_up: "2024-06-03T14:05" }, "c1");
    expect(later.follow_up_date).toBe(new Date(2024, 5, 3, 14, 5).toISOString().replace(".000Z", "Z"));
  });

  it("send when it happened as UTC, or null for just now", () => {
    const yesterday = interactionDraft({ type: "call", channel: "phone", note: "", follow_up: "", occurred: "2024-06-02T09:30" }, "c1");
    expect(yesterday.occurred_at).toBe(new Date(2024, 5, 2, 9, 30).toISOString().replace(".000Z", "Z"));
  });
});

describe("ticket drafts", () => {
  it("default to medium priority and assign nobody", () => {
    const form = { ...emptyTicketForm(vocabulary as never, "c1"), title: " Broken " };
    expect(ticketDraft(form)).toEqual({
      title: "Broken",
      description: null,
      priority: "medium",
      customer_id: "c1",
      assigned_to: null,
    });
    expect(ticketDraft({ ...form, customer_id: "" }).customer_id).toBeNull();
  });

  it("edit with every field of the ticket and the chosen changes", () => {
    expect(ticketEdit(ticket, { status: "in_progress" })).toEqual({
      title: "Printer jams",
      description: null,
      priority: "medium",
      status: "in_progress",
      customer_id: "c1",
      assigned_to: "u2",
    });
    expect(ticketEdit(ticket, { priority: "urgent" })).toMatchObject({ status: "open", priority: "urgent" });
  });

  it("offer the current status and the workflow's moves, once each", () => {
    expect(statusChoices("open", ["in_progress", "resolved", "in_progress"])).toEqual(["open", "in_progress", "resolved"]);
    expect(statusChoices("closed", ["reopened", "closed"])).toEqual(["closed", "reopened"]);
    expect(statusChoices("open", [])).toEqual(["open"]);
  });

  it("trim comments and keep the internal flag", () => {
    expect(commentDraft("t1", "  Called back\n", true)).toEqual({ ticket_id: "t1", content: "Called back", is_internal: true });
  });
});
