// Hooks the screens share: loading a command's data (and reloading it
// quietly when the data version changes), a record's page whose record may
// be gone, checking a form as the user types, debouncing a value, a clock
// for relative times, and files dropped on the window.

import { getCurrentWebview } from "@tauri-apps/api/webview";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { call, onNotFound, toastReport, toReport, type Result } from "./api";
import type { ErrorReport, FieldMessage } from "./bindings";
import { useApp } from "./context";
import { messagesByField, type Messages } from "./forms";

export interface Loaded<T> {
  /** The latest data; kept while a reload runs, so nothing flickers. */
  data: T | undefined;
  /** True once data arrived (the screens' `data-loaded`). */
  loaded: boolean;
  error: ErrorReport | null;
  reload(): void;
}

export interface LoadOptions {
  /**
   * Keep showing the old data while the inputs change (a list being
   * filtered); otherwise a new input clears it (another customer's page).
   */
  keep?: boolean;
  /** Return true when the error was handled, so the toast stays quiet. */
  onError?: (error: ErrorReport) => boolean;
}

/**
 * Runs `load` now, whenever `inputs` change, and whenever the app's data
 * version goes up (after a sync round or a save). Answers that arrive out
 * of order are dropped, so a slow old search never replaces a newer one.
 */
export function useLoad<T>(load: () => Promise<Result<T>>, inputs: unknown[], options: LoadOptions = {}): Loaded<T> {
  const { version } = useApp();
  const key = JSON.stringify(inputs);
  const [state, setState] = useState<{ key: string; data: T | undefined; error: ErrorReport | null }>({
    key,
    data: undefined,
    error: null,
  });
  const [manual, setManual] = useState(0);
  const latest = useRef(0);
  // The newest callbacks, without making them inputs of the effect.
  const loadRef = useRef(load);
  loadRef.current = load;
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    const mine = ++latest.current;
    call(loadRef.current()).then(
      (data) => {
        if (mine === latest.current) setState({ key, data, error: null });
      },
      (failure) => {
        if (mine !== latest.current) return;
        const error = toReport(failure);
        if (!optionsRef.current.onError?.(error)) toastReport(error);
        setState((old) => ({ key, data: old.key === key || optionsRef.current.keep ? old.data : undefined, error }));
      },
    );
  }, [key, version, manual]);

  const data = state.key === key || options.keep ? state.data : undefined;
  return { data, loaded: data !== undefined, error: state.error, reload: () => setManual((n) => n + 1) };
}

/**
 * The data of the page of record `id` (a customer, a ticket). When the core
 * answers "not found" (deleted, or access lost), `onMissing` gets its
 * message instead of the toast.
 */
export function useRecordPage<T>(load: () => Promise<Result<T>>, id: string, onMissing: (message: string) => void): Loaded<T> {
  return useLoad(load, [id], { onError: onNotFound(onMissing) });
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * The core's messages about `draft`, checked as the user types (debounced),
 * keeping only the answer to the newest draft. A check that fails (a draft
 * the core cannot read) reports nothing: saving will say what is wrong.
 */
export function useCheck<D>(draft: D, check: (draft: D) => Promise<FieldMessage[]>, ms = 150): Messages {
  const [messages, setMessages] = useState<Messages>({});
  const key = JSON.stringify(draft);
  const latest = useRef(0);
  const checkRef = useRef(check);
  checkRef.current = check;
  useEffect(() => {
    const mine = ++latest.current;
    const timer = setTimeout(() => {
      checkRef.current(JSON.parse(key) as D).then(
        (list) => {
          if (mine === latest.current) setMessages(messagesByField(list));
        },
        (failure) => {
          if (mine === latest.current) setMessages({});
          console.warn("check failed", failure);
        },
      );
    }, ms);
    return () => clearTimeout(timer);
  }, [key, ms]);
  return messages;
}

/** The current time, renewed every `ms` (for "5 min ago"). */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/**
 * Makes `action` the "n" shortcut while the calling screen is shown. A
 * layout effect, so the shortcut works from the moment the screen is drawn.
 */
export function useNewAction(action: (() => void) | null, inputs: unknown[]): void {
  const { setNewAction } = useApp();
  useLayoutEffect(() => {
    setNewAction(action);
    return () => setNewAction(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, inputs);
}

/** Whether the window runs inside the Tauri shell (not in tests or a plain browser). */
function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/**
 * Files dragged from the desktop onto the window while the calling
 * component is shown. The shell handles such drags natively (the page gets
 * no DOM drop event with paths), so this listens to the webview's
 * drag-and-drop events: the answer is true while files hover over the
 * window, and `onDrop` gets the paths of the dropped files. Does nothing
 * outside Tauri.
 */
export function useFileDrop(onDrop: (paths: string[]) => void): { dragging: boolean; ready: boolean } {
  const [dragging, setDragging] = useState(false);
  /** Listening: a drop from now on is not lost (the page marks it, for tests and assistive tools). */
  const [ready, setReady] = useState(false);
  const onDropRef = useRef(onDrop);
  onDropRef.current = onDrop;

  useEffect(() => {
    if (!inTauri()) return;
    let unlisten: (() => void) | undefined;
    let gone = false;
    try {
      getCurrentWebview()
        .onDragDropEvent((event) => {
          const drag = event.payload;
          switch (drag.type) {
            case "enter":
            case "over":
              setDragging(true);
              break;
            case "leave":
              setDragging(false);
              break;
            case "drop":
              setDragging(false);
              if (drag.paths.length > 0) onDropRef.current(drag.paths);
              break;
          }
        })
        .then(
          (stop) => {
            if (gone) {
              stop();
            } else {
              unlisten = stop;
              setReady(true);
            }
          },
          (failure) => console.warn("cannot follow dropped files", failure),
        );
    } catch (failure) {
      console.warn("cannot follow dropped files", failure);
    }
    return () => {
      gone = true;
      unlisten?.();
    };
  }, []);

  return { dragging, ready };
}
