// The window: startup and the session (App), and the signed-in app (Shell):
// navigation, the current screen, dialogs, keyboard shortcuts, and the
// listeners for the core's events. Screens get what they share through
// AppContext (context.ts).
//
// Data flow: the status bar shows the last SyncStatus, first from
// startup() and then only from `syncStatusChanged` events. When an event
// says a sync round finished (status.ts: bringsNewData), or the user saved
// something, the data version goes up and the current screen reloads
// quietly (hooks.ts: useLoad).

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { accessEndedWords, accessEndingWords } from "./access";
import { attempt, call, toReport } from "./api";
import {
  commands,
  events,
  type Colleague_Serialize,
  type Product_Serialize,
  type GraceCheck,
  type Locked,
  type SessionInfo_Serialize,
  type TokenSecret_Serialize,
  type SyncStatus_Serialize,
  type Vocabulary,
} from "./bindings";
import { Dialog } from "./components/Dialog";
import { GlobalSearch } from "./components/GlobalSearch";
import { ShortcutsHelp } from "./components/ShortcutsHelp";
import { StatusBar } from "./components/StatusBar";
import { Toast } from "./components/Toast";
import { AppContext, useApp, type AppContextValue, type DialogSpec } from "./context";
import { goneMessage, personName } from "./labels";
import { forgetScreenMemory } from "./memory";
import { formatScreen, HOME, parseScreen, pushHistory, sameScreen, section, type Screen } from "./route";
import { CustomerForm } from "./screens/CustomerForm";
import { CustomerPage } from "./screens/CustomerPage";
import { Customers } from "./screens/Customers";
import { Dashboard } from "./screens/Dashboard";
import { FollowUps } from "./screens/FollowUps";
import { Account } from "./screens/Account";
import { Integrations } from "./screens/Integrations";
import { Team } from "./screens/Team";
import { RenameTokenForm, RotateForm, SecretShown, TokenForm, WebhookForm } from "./screens/IntegrationForms";
import { ColleagueForm, PasswordConfirm, ResetCodeShown, SignOutChoice } from "./screens/AccountDialogs";
import { Inbox } from "./screens/Inbox";
import { InteractionForm } from "./screens/InteractionForm";
import { SignIn } from "./screens/SignIn";
import { Unlock } from "./screens/Unlock";
import { PasswordDue } from "./screens/PasswordDue";
import { TicketForm } from "./screens/TicketForm";
import { TicketPage } from "./screens/TicketPage";
import { Tickets } from "./screens/Tickets";
import { isTyping, matchShortcut, type NavTarget } from "./shortcuts";
import { bringsNewData } from "./status";
import { showError, toaster } from "./toast";

// ------------------------------------------------------------------ App

export function App() {
  const [started, setStarted] = useState(false);
  const [fatal, setFatal] = useState<string | null>(null);
  const [vocabulary, setVocabulary] = useState<Vocabulary | null>(null);
  const [session, setSession] = useState<SessionInfo_Serialize | null>(null);
  /** Signed in, but the data here waits for its passphrase (no keyring). */
  const [locked, setLocked] = useState<Locked | null>(null);
  /** Past the offline grace period: the password before any data. */
  const [passwordDue, setPasswordDue] = useState<GraceCheck | null>(null);
  /** What the sign-in form offers: the default server, or the last one used. */
  const [signInServer, setSignInServer] = useState("");
  /** The server revoked the session: the sign-in form shows over the app. */
  const [signingInAgain, setSigningInAgain] = useState(false);
  /** The server ended this device's access and its data was removed: said on the sign-in form. */
  const [accessEnded, setAccessEnded] = useState<string | null>(null);
  const [status, setStatus] = useState<SyncStatus_Serialize | null>(null);
  /** Goes up each time a status event says new data may have arrived. */
  const [syncVersion, setSyncVersion] = useState(0);
  const lastStatus = useRef<SyncStatus_Serialize | null>(null);

  const applyStatus = useCallback((next: SyncStatus_Serialize) => {
    if (next.state === "access_ended") {
      // Leave the app at once: its data is being removed, and no screen
      // should ask for it meanwhile. The accessEnded event says the rest.
      lastStatus.current = null;
      setStatus(null);
      setSigningInAgain(false);
      setSession(null);
      setAccessEnded(accessEndingWords(next.message));
      return;
    }
    if (bringsNewData(lastStatus.current, next)) setSyncVersion((n) => n + 1);
    lastStatus.current = next;
    setStatus(next);
  }, []);

  /** Startup's status, unless an event already brought a newer one. */
  const applyFirstStatus = useCallback(
    (first: SyncStatus_Serialize | null) => {
      if (first && !lastStatus.current) applyStatus(first);
    },
    [applyStatus],
  );

  useEffect(() => {
    // Listen before starting, so no status event is missed.
    let unlisten: (() => void) | undefined;
    let gone = false;
    events.syncStatusChanged
      .listen((event) => applyStatus(event.payload))
      .then(
        (stop) => (gone ? stop() : (unlisten = stop)),
        (failure) => showError(`Cannot follow the sync status: ${toReport(failure).message}`),
      );
    // The account was deactivated or this sign-in revoked: the core has
    // removed the user's data here; the window leaves the app and says so.
    let unlistenEnded: (() => void) | undefined;
    events.accessEnded
      .listen((event) => {
        lastStatus.current = null;
        setStatus(null);
        setSigningInAgain(false);
        setSession(null);
        forgetScreenMemory();
        toaster.dismiss();
        setAccessEnded(accessEndedWords(event.payload));
      })
      .then(
        (stop) => (gone ? stop() : (unlistenEnded = stop)),
        (failure) => showError(`Cannot follow the session: ${toReport(failure).message}`),
      );

    (async () => {
      try {
        setVocabulary(await commands.vocabulary());
      } catch (failure) {
        setFatal(toReport(failure).message);
        return;
      }
      try {
        const start = await call(commands.startup());
        setSignInServer(start.default_server);
        setSession(start.session);
        setLocked(start.locked);
        setPasswordDue(start.password_due);
        applyFirstStatus(start.status);
      } catch (failure) {
        // The replica could not be opened: say so; signing in may still work.
        showError(toReport(failure).message);
      }
      setStarted(true);
    })();

    return () => {
      gone = true;
      unlisten?.();
      unlistenEnded?.();
    };
  }, [applyStatus, applyFirstStatus]);

  /** Signed in, and the data here asks for its passphrase first. */
  async function onLocked() {
    const start = await attempt(commands.startup());
    if (start) setLocked(start.locked);
  }

  async function onSignedIn(signedIn: SessionInfo_Serialize) {
    setLocked(null);
    setAccessEnded(null);
    setSession(signedIn);
    setSigningInAgain(false);
    // startup() now reports the running engine's status for the status bar.
    const start = await attempt(commands.startup());
    if (start) {
      setPasswordDue(start.password_due);
      applyFirstStatus(start.status);
    }
  }

  /** `keepData`: leave the replica here for the next sign-in (else it is removed). */
  async function signOut(keepData = true) {
    const server = session?.server;
    // The window leaves the signed-in app first, so no screen asks the
    // replica for data while it closes (each would say "please sign in").
    // The core signs out at once; the server is told in the background.
    lastStatus.current = null;
    setStatus(null);
    setSession(null);
    setSigningInAgain(false);
    if (server) setSignInServer(server);
    forgetScreenMemory();
    await attempt(commands.signOut(keepData));
  }

  let body;
  if (fatal) {
    body = (
      <main class="sign-in" data-loaded="true">
        <div class="sign-in-card">
          <h1>The app could not start</h1>
          <p class="form-error">{fatal}</p>
        </div>
      </main>
    );
  } else if (!started || !vocabulary) {
    body = <main class="starting">Starting…</main>;
  } else if (session && passwordDue) {
    body = (
      <PasswordDue
        session={session}
        check={passwordDue}
        onConfirmed={() => setPasswordDue(null)}
        onSignOut={() => {
          setPasswordDue(null);
          void signOut(true);
        }}
      />
    );
  } else if (!session && locked) {
    body = (
      <Unlock
        locked={locked}
        onUnlocked={onSignedIn}
        onSignOut={() => {
          setSignInServer(locked.session.server);
          setLocked(null);
          void attempt(commands.signOut(true));
        }}
      />
    );
  } else if (!session) {
    body = <SignIn server={signInServer} onSignedIn={onSignedIn} onLocked={onLocked} notice={accessEnded} />;
  } else {
    body = (
      <>
        <Shell
          // Another person signing in gets a fresh shell.
          key={session.account.id}
          session={session}
          vocabulary={vocabulary}
          status={status}
          syncVersion={syncVersion}
          onSignOut={signOut}
          onSignInAgain={() => setSigningInAgain(true)}
        />
        {signingInAgain && (
          // The app's shortcuts stay behind the overlay; Escape means "not now".
          <div
            class="overlay"
            onKeyDown={(event) => {
              event.stopPropagation();
              if (event.key === "Escape") setSigningInAgain(false);
            }}
          >
            <SignIn
              server={session.server}
              email={session.account.email}
              onCancel={() => setSigningInAgain(false)}
              onSignedIn={onSignedIn}
            />
          </div>
        )}
      </>
    );
  }

  return (
    <>
      {body}
      <Toast />
    </>
  );
}

// ------------------------------------------------------------------ Shell

interface ShellProps {
  session: SessionInfo_Serialize;
  vocabulary: Vocabulary;
  status: SyncStatus_Serialize | null;
  syncVersion: number;
  onSignOut: (keepData?: boolean) => void;
  onSignInAgain: () => void;
}

const NAV: { to: NavTarget; label: string; keys: string }[] = [
  { to: "customers", label: "Customers", keys: "Alt+1" },
  { to: "tickets", label: "Tickets", keys: "Alt+2" },
  { to: "follow-ups", label: "Follow-ups", keys: "Alt+5" },
  { to: "inbox", label: "Inbox", keys: "Alt+3" },
  { to: "dashboard", label: "Dashboard", keys: "Alt+4" },
  { to: "integrations", label: "Integrations", keys: "Alt+6" },
  { to: "team", label: "Team", keys: "Alt+7" },
];

/**
 * What `load` answers, asked again whenever the data `version` goes up; an
 * answer to an older version that arrives late is dropped, and a failed one
 * (already shown as a toast) keeps the last value.
 */
function useRefetched<T>(load: () => Promise<T | undefined>, version: number, initial: T): T {
  const [value, setValue] = useState(initial);
  useEffect(() => {
    let stale = false;
    void load().then((answer) => {
      if (answer !== undefined && !stale) setValue(answer);
    });
    return () => {
      stale = true;
    };
  }, [version]);
  return value;
}

function Shell({ session, vocabulary, status, syncVersion, onSignOut, onSignInAgain }: ShellProps) {
  const [screen, setScreen] = useState<Screen | null>(null);
  const [history, setHistory] = useState<Screen[]>([]);
  const [dialog, setDialog] = useState<DialogSpec | null>(null);
  const [saves, setSaves] = useState(0);
  const version = syncVersion + saves;
  // Products name customers' products and fill the form's select; colleagues
  // name who did what and fill the owner select. Either can change with a sync.
  const products = useRefetched<Product_Serialize[]>(() => attempt(commands.products()), version, []);
  const colleagues = useRefetched<Colleague_Serialize[]>(() => attempt(commands.colleagues()), version, []);

  // Event handlers and the key listener read the latest values through refs.
  const screenRef = useRef(screen);
  screenRef.current = screen;
  const historyRef = useRef(history);
  historyRef.current = history;
  const dialogRef = useRef(dialog);
  dialogRef.current = dialog;
  /** The screen restored at start, until the user goes elsewhere. */
  const restored = useRef<Screen | null>(null);
  const newAction = useRef<(() => void) | null>(null);

  const navigate = useCallback((next: Screen) => {
    const current = screenRef.current;
    setDialog(null);
    if (current && sameScreen(current, next)) return;
    if (current) setHistory((old) => pushHistory(old, current));
    restored.current = null;
    setScreen(next);
  }, []);

  /**
   * Sign-out is immediate. With unsent work the user is asked first: the
   * changes stay saved on this computer and go out at the next sign-in,
   * but someone lending the laptop should know they have not arrived.
   */
  const requestSignOut = useCallback(() => {
    const pending = status?.pending ?? 0;
    setDialog({ kind: "sign-out", pending, confirm: onSignOut });
  }, [status?.pending, onSignOut]);

  const goBack = useCallback(
    (fallback: Screen) => {
      const previous = historyRef.current[historyRef.current.length - 1];
      if (!previous) return navigate(fallback);
      setHistory((old) => old.slice(0, -1));
      setDialog(null);
      restored.current = null;
      setScreen(previous);
    },
    [navigate],
  );

  /** A page whose customer or ticket is gone: back to the list (quietly if it was only remembered). */
  const onMissing = useCallback((message: string) => {
    const current = screenRef.current;
    const wasRestored = restored.current && current && sameScreen(restored.current, current);
    restored.current = null;
    if (!wasRestored) {
      showError(current?.name === "customer" || current?.name === "ticket" ? goneMessage(current.name) : message);
    }
    setScreen(HOME);
  }, []);

  const refresh = useCallback(() => setSaves((n) => n + 1), []);
  const closeDialog = useCallback(() => setDialog(null), []);
  const setNewAction = useCallback((action: (() => void) | null) => {
    newAction.current = action;
  }, []);

  // The screen the window showed last time.
  useEffect(() => {
    call(commands.lastScreen()).then(
      (text) => {
        const first = parseScreen(text);
        restored.current = first;
        setScreen(first);
      },
      () => setScreen(HOME),
    );
  }, []);

  // Remember every screen for next time; the focus goes to the new screen.
  const screenKey = screen ? formatScreen(screen) : null;
  const content = useRef<HTMLElement>(null);
  useEffect(() => {
    if (!screenKey) return;
    void attempt(commands.rememberScreen(screenKey));
    if (!dialogRef.current) content.current?.focus({ preventScroll: true });
  }, [screenKey]);

  // A follow-up reminder was clicked: show its customer; the summary of
  // missed ones: show the follow-ups.
  useEffect(() => {
    const stops: (() => void)[] = [];
    let gone = false;
    const keep = (stop: () => void) => (gone ? stop() : stops.push(stop));
    const failed = (failure: unknown) => showError(toReport(failure).message);
    events.openCustomer.listen((event) => navigate({ name: "customer", id: event.payload.customer_id })).then(keep, failed);
    events.openFollowUps.listen(() => navigate({ name: "follow-ups" })).then(keep, failed);
    return () => {
      gone = true;
      stops.forEach((stop) => stop());
    };
  }, [navigate]);

  // Keyboard shortcuts (shortcuts.ts says which key is which action).
  useEffect(() => {
    function onKeyDown(event: KeyboardEvent) {
      if (event.defaultPrevented || dialogRef.current) return; // an open dialog handles its own keys
      const focused = document.activeElement as HTMLElement | null;
      const typing = isTyping(focused as HTMLInputElement | null);
      if (event.key === "Escape" && typing) {
        focused?.blur();
        return;
      }
      const action = matchShortcut({
        key: event.key,
        code: event.code,
        altKey: event.altKey,
        ctrlKey: event.ctrlKey,
        metaKey: event.metaKey,
        shiftKey: event.shiftKey,
        typing,
      });
      if (!action) return;
      event.preventDefault();
      switch (action.kind) {
        case "navigate":
          navigate({ name: action.to });
          break;
        case "focus-search": {
          const local = action.target === "screen" ? document.getElementById("customer-search") : null;
          const box = (local ?? document.getElementById("global-search")) as HTMLInputElement | null;
          box?.focus();
          box?.select();
          break;
        }
        case "new":
          newAction.current?.();
          break;
        case "help":
          setDialog({ kind: "help" });
          break;
        case "back":
          if (historyRef.current.length > 0) goBack(HOME);
          break;
        case "quit":
          void commands.quit();
          break;
      }
    }
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [navigate, goBack]);

  // The upload in progress, a new value only when it moved: other status
  // changes do not redraw every screen.
  const uploading = status?.upload ?? null;
  const upload = useMemo(
    () => uploading,
    [uploading?.attachment_id, uploading?.file_name, uploading?.sent, uploading?.total],
  );

  const app: AppContextValue = useMemo(
    () => ({
      session,
      vocabulary,
      products,
      colleagues,
      version,
      upload,
      refresh,
      navigate,
      goBack,
      openDialog: setDialog,
      closeDialog,
      signOut: () => onSignOut(true),
      setNewAction,
    }),
    [session, vocabulary, products, colleagues, version, upload, refresh, navigate, goBack, closeDialog, setNewAction, onSignOut],
  );

  const current = screen ? section(screen) : null;
  const inboxCount = status?.inbox ?? 0;
  const who = personName(session.account.full_name, session.account.email);

  return (
    <AppContext.Provider value={app}>
      <div class="app">
        <aside class="sidebar">
          <div class="brand">
            <span class="brand-mark" aria-hidden="true">
              F
            </span>
            Field CRM
          </div>
          <nav class="nav" aria-label="Main">
            {NAV.filter((item) => item.to !== "team" || session.account.role === "admin").map((item) => (
              <button
                key={item.to}
                id={`nav-${item.to}`}
                type="button"
                class={current === item.to ? "nav-item active" : "nav-item"}
                aria-current={current === item.to ? "page" : undefined}
                title={`${item.label} (${item.keys})`}
                onClick={() => navigate({ name: item.to })}
              >
                <span class="grow">{item.label}</span>
                {item.to === "inbox" && (
                  <span
                    id="inbox-count"
                    class={inboxCount > 0 ? "badge" : "badge zero"}
                    data-count={inboxCount}
                    aria-label={`${inboxCount} waiting`}
                  >
                    {inboxCount}
                  </span>
                )}
              </button>
            ))}
          </nav>
          <div class="sidebar-foot">
            <button
              id="nav-account"
              type="button"
              class={current === "account" ? "who active" : "who"}
              aria-current={current === "account" ? "page" : undefined}
              title={`My account: ${session.account.email} on ${session.server}`}
              onClick={() => navigate({ name: "account" })}
            >
              <span class="avatar" aria-hidden="true">
                {who.charAt(0).toUpperCase()}
              </span>
              <span class="who-text">
                <span class="ellipsis strong">{who}</span>
                <span class="ellipsis muted small">{session.account.email}</span>
              </span>
            </button>
            <button id="sign-out" type="button" class="button subtle small" onClick={requestSignOut}>
              Sign out
            </button>
          </div>
        </aside>

        <div class="main">
          <header class="topbar">
            <GlobalSearch onOpen={navigate} />
            <button
              id="shortcuts-help"
              type="button"
              class="icon-button round"
              aria-label="Keyboard shortcuts"
              title="Keyboard shortcuts (?)"
              onClick={() => setDialog({ kind: "help" })}
            >
              ?
            </button>
          </header>
          {/* Keyed by screen: a new screen starts scrolled to the top; a reload keeps the scroll. */}
          <main id="content" class="content" tabIndex={-1} ref={content} key={screenKey ?? "none"}>
            {screen && <ScreenView screen={screen} back={history[history.length - 1]} onMissing={onMissing} />}
          </main>
        </div>

        <StatusBar
          status={status}
          onSyncNow={async () => (await attempt(commands.syncNow())) ?? null}
          onSignInAgain={onSignInAgain}
          onOpenInbox={() => navigate({ name: "inbox" })}
          onOpenPending={() => navigate({ name: "inbox" })}
        />
      </div>
      {dialog && <DialogView dialog={dialog} />}
    </AppContext.Provider>
  );
}

/** The current screen; `back` is where "back" leads (a page's back link names it). */
function ScreenView({ screen, back, onMissing }: { screen: Screen; back?: Screen; onMissing: (message: string) => void }) {
  switch (screen.name) {
    case "customers":
      return <Customers />;
    case "customer":
      return <CustomerPage id={screen.id} back={back} onMissing={onMissing} />;
    case "tickets":
      return <Tickets />;
    case "ticket":
      return <TicketPage id={screen.id} back={back} onMissing={onMissing} />;
    case "inbox":
      return <Inbox />;
    case "dashboard":
      return <Dashboard />;
    case "follow-ups":
      return <FollowUps />;
    case "integrations":
      return <Integrations />;
    case "account":
      return <Account />;
    case "team":
      return <Team />;
  }
}

/**
 * The open dialog; each form closes it, reloads and maybe navigates when
 * saved. It sits inside the provider, so it uses the context like a screen.
 */
function DialogView({ dialog }: { dialog: DialogSpec }) {
  const { closeDialog, refresh, navigate, openDialog } = useApp();
  /** A token just made or rotated: the lists reload, and its secret is shown once. */
  const showTokenSecret = (made: TokenSecret_Serialize) => {
    refresh();
    openDialog({ kind: "secret", what: "token", name: made.token.name, secret: made.secret, expiresAt: made.token.expires_at });
  };
  switch (dialog.kind) {
    case "new-customer":
      return (
        <Dialog title="New customer" onClose={closeDialog}>
          <CustomerForm
            onCancel={closeDialog}
            onSaved={(customer) => {
              refresh();
              navigate({ name: "customer", id: customer.id });
            }}
          />
        </Dialog>
      );
    case "edit-customer":
      return (
        <Dialog title={`Edit ${dialog.customer.name}`} onClose={closeDialog}>
          <CustomerForm
            customer={dialog.customer}
            onCancel={closeDialog}
            onSaved={() => {
              closeDialog();
              refresh();
            }}
          />
        </Dialog>
      );
    case "log-interaction":
      return (
        <Dialog title={`Log interaction · ${dialog.customerName}`} onClose={closeDialog}>
          <InteractionForm
            customerId={dialog.customerId}
            onCancel={closeDialog}
            onSaved={() => {
              closeDialog();
              refresh();
            }}
          />
        </Dialog>
      );
    case "new-ticket":
      return (
        <Dialog title={dialog.customer ? `New ticket · ${dialog.customer.name}` : "New ticket"} onClose={closeDialog}>
          <TicketForm
            customer={dialog.customer}
            onCancel={closeDialog}
            onSaved={(ticket) => {
              refresh();
              navigate({ name: "ticket", id: ticket.id });
            }}
          />
        </Dialog>
      );
    case "help":
      return <ShortcutsHelp onClose={closeDialog} />;
    case "new-token":
      return (
        <Dialog id="new-token-dialog" title="New integration token" onClose={closeDialog} wide>
          <TokenForm
            vocabulary={dialog.vocabulary}
            onCancel={closeDialog}
            onSaved={showTokenSecret}
          />
        </Dialog>
      );
    case "rename-token":
      return (
        <Dialog id="rename-token-dialog" title={`Rename ${dialog.token.name}`} onClose={closeDialog}>
          <RenameTokenForm
            token={dialog.token}
            onCancel={closeDialog}
            onSaved={() => {
              closeDialog();
              refresh();
            }}
          />
        </Dialog>
      );
    case "rotate-token":
      return (
        <Dialog id="rotate-token-dialog" title={`Rotate ${dialog.token.name}`} onClose={closeDialog}>
          <RotateForm
            token={dialog.token}
            vocabulary={dialog.vocabulary}
            onCancel={closeDialog}
            onSaved={showTokenSecret}
          />
        </Dialog>
      );
    case "new-webhook":
      return (
        <Dialog id="new-webhook-dialog" title="New webhook" onClose={closeDialog} wide>
          <WebhookForm
            vocabulary={dialog.vocabulary}
            onCancel={closeDialog}
            onSaved={(made) => {
              refresh();
              openDialog({ kind: "secret", what: "webhook", name: made.webhook.url, secret: made.secret });
            }}
          />
        </Dialog>
      );
    case "secret":
      return (
        <Dialog id="secret-dialog" title={dialog.what === "token" ? "Your new token" : "Your webhook's signing secret"} onClose={closeDialog}>
          <SecretShown what={dialog.what} name={dialog.name} secret={dialog.secret} expiresAt={dialog.expiresAt} onDone={closeDialog} />
        </Dialog>
      );
    case "password":
      return (
        <Dialog id={dialog.id} title={dialog.title} onClose={closeDialog}>
          <PasswordConfirm text={dialog.text} action={dialog.action} run={dialog.run} onCancel={closeDialog} />
        </Dialog>
      );
    case "add-colleague":
      return (
        <Dialog id="add-colleague-dialog" title="Add a colleague" onClose={closeDialog}>
          <ColleagueForm
            onCancel={closeDialog}
            onAdded={(added) => {
              dialog.added();
              const name = added.account.full_name || added.account.email;
              openDialog({
                kind: "reset-code",
                name,
                email: added.account.email,
                code: added.reset_code.code,
                expiresAt: added.reset_code.expires_at,
              });
            }}
          />
        </Dialog>
      );
    case "reset-code":
      return (
        <Dialog id="reset-code-dialog" title={`A reset code for ${dialog.name}`} onClose={closeDialog}>
          <ResetCodeShown name={dialog.name} email={dialog.email} code={dialog.code} expiresAt={dialog.expiresAt} onDone={closeDialog} />
        </Dialog>
      );
    case "confirm":
      return (
        <Dialog id={dialog.id} title={dialog.title} onClose={closeDialog}>
          <p>{dialog.text}</p>
          <div class="form-actions">
            <button type="button" id="confirm-cancel" class="button subtle" onClick={closeDialog} data-autofocus>
              Cancel
            </button>
            <button type="button" id="confirm-action" class="button danger" onClick={dialog.confirm}>
              {dialog.action}
            </button>
          </div>
        </Dialog>
      );
    case "sign-out":
      return (
        <Dialog id="sign-out-dialog" title={dialog.pending > 0 ? "Sign out with unsent changes?" : "Sign out?"} onClose={closeDialog}>
          <SignOutChoice pending={dialog.pending} onCancel={closeDialog} onConfirm={(keep) => {
            closeDialog();
            dialog.confirm(keep);
          }} />
        </Dialog>
      );
  }
}
