// Rows of a list that open something: focusable, opened by click or Enter,
// and the arrow keys move between the rows of the same list.

/** Moves the focus to the next or previous row of the same list. */
export function focusSibling(row: HTMLElement, step: 1 | -1): void {
  const sibling = step > 0 ? row.nextElementSibling : row.previousElementSibling;
  if (sibling instanceof HTMLElement && sibling.tabIndex >= 0) sibling.focus();
}

/** Props that make a row open `open` on click and Enter. */
export function openableRow(open: () => void) {
  return {
    tabIndex: 0,
    onClick: open,
    onKeyDown: (event: KeyboardEvent) => {
      const row = event.currentTarget as HTMLElement;
      if (event.target !== row) return;
      if (event.key === "Enter") {
        event.preventDefault();
        open();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        focusSibling(row, 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        focusSibling(row, -1);
      }
    },
  };
}

/** From a search box: ArrowDown focuses the first row of the list `listSelector`. */
export function focusFirstRow(listSelector: string): void {
  document.querySelector<HTMLElement>(`${listSelector} [tabindex="0"]`)?.focus();
}
