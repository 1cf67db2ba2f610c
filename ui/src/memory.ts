// What list screens remember while the app runs, so that coming back from a
// customer's page finds the list as it was left (search, filters, order,
// page). Kept outside the components because a screen is rebuilt each time
// it is shown; forgotten on sign-out, so the next user starts clean.

import type { TicketView } from "./bindings";
import type { TicketSort } from "./ticketList";
import { initialListState, type ListState } from "./customerList";

export interface ScreenMemory {
  customers: ListState;
  tickets: { includeDone: boolean; view: TicketView; sort?: TicketSort | null };
}

const fresh = (): ScreenMemory => ({
  customers: initialListState(),
  tickets: { includeDone: false, view: "assigned_to_me" },
});

export let screenMemory: ScreenMemory = fresh();

export function forgetScreenMemory(): void {
  screenMemory = fresh();
}
