// What every screen of the signed-in app may use, handed down by the shell
// (app.tsx) through one Preact context: who is signed in, the vocabulary,
// products and colleagues for the forms and for names, navigation,
// dialogs, the data version that makes screens reload, and the upload in
// progress.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type {
  Colleague_Serialize,
  Customer_Serialize,
  IntegrationToken_Serialize,
  IntegrationVocabulary,
  Product_Serialize,
  SessionInfo_Serialize,
  UploadProgress,
  Vocabulary,
} from "./bindings";
import type { Screen } from "./route";

/** The forms and overlays that open above the current screen. */
export type DialogSpec =
  | { kind: "new-customer" }
  | { kind: "edit-customer"; customer: Customer_Serialize }
  | { kind: "log-interaction"; customerId: string; customerName: string }
  | { kind: "new-ticket"; customer?: { id: string; name: string } }
  | { kind: "help" }
  /** `confirm(keep)`: sign out, keeping this user's data here or not. */
  | { kind: "sign-out"; pending: number; confirm: (keepData: boolean) => void }
  | { kind: "new-token"; vocabulary: IntegrationVocabulary }
  | { kind: "rename-token"; token: IntegrationToken_Serialize }
  | { kind: "rotate-token"; token: IntegrationToken_Serialize; vocabulary: IntegrationVocabulary }
  | { kind: "new-webhook"; vocabulary: IntegrationVocabulary }
  /** A secret, shown this once. */
  | { kind: "secret"; what: "token" | "webhook"; name: string; secret: string; expiresAt?: string | null }
  /** A yes-or-no question before something that cannot be undone. */
  | { kind: "confirm"; id: string; title: string; text: string; action: string; confirm: () => void }
  /** The same, confirmed with the user's password; `run` throws to say it failed. */
  | { kind: "password"; id: string; title: string; text: string; action: string; run: (password: string) => Promise<void> }
  /** A one-time password reset code, shown to the admin once. */
  | { kind: "reset-code"; name: string; email: string; code: string; expiresAt: string }
  /** An admin adds a colleague; `added` hears of it (the list reloads). */
  | { kind: "add-colleague"; added: () => void };

export interface AppContextValue {
  session: SessionInfo_Serialize;
  vocabulary: Vocabulary;
  products: Product_Serialize[];
  /**
   * Everyone the replica knows (the core renews the list every sync round),
   * for owner pickers and for names beside ids (people.ts: `personLabel`).
   * Empty until the first answer.
   */
  colleagues: Colleague_Serialize[];
  /**
   * Goes up whenever the replica may hold new data (a sync round finished,
   * or the user saved something); screens reload when it changes.
   */
  version: number;
  /**
   * The attachment file being uploaded right now and how far it is (from
   * the sync status), for the ticket page's "Uploading 42%"; null when none.
   */
  upload: UploadProgress | null;
  /** Call after a successful save: every screen reloads quietly. */
  refresh(): void;
  navigate(screen: Screen): void;
  /** Back to the previous screen (or `fallback` when there is none). */
  goBack(fallback: Screen): void;
  openDialog(dialog: DialogSpec): void;
  /**
   * Signs out here at once and shows the sign-in form (unsent work stays in
   * the replica for the next sign-in); for a sign-out already decided, as
   * after "sign out everywhere".
   */
  signOut(): void;
  closeDialog(): void;
  /**
   * The current screen's answer to the "n" shortcut; a screen sets it while
   * shown (see `useNewAction` in hooks.ts).
   */
  setNewAction(action: (() => void) | null): void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const app = useContext(AppContext);
  if (!app) throw new Error("useApp outside the signed-in app");
  return app;
}
