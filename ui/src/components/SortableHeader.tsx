// A list's column header that sorts it: a button, so the keyboard reaches
// it, with `aria-sort` on the sorted column and a mark showing the
// direction. The list decides what a click does.

interface SortableHeaderProps {
  id: string;
  label: string;
  /** How the list is sorted by this column, if it is. */
  sorted: "ascending" | "descending" | undefined;
  onSort: () => void;
}

export function SortableHeader({ id, label, sorted, onSort }: SortableHeaderProps) {
  return (
    <th class="sortable" aria-sort={sorted}>
      <button
        id={id}
        type="button"
        class="sort-header"
        title={sorted ? "Reverse the order" : `Sort by ${label.toLowerCase()}`}
        onClick={onSort}
      >
        {label}
        <span class={sorted ? "sort-mark shown" : "sort-mark"} aria-hidden="true">
          {sorted === "descending" ? "▼" : "▲"}
        </span>
      </button>
    </th>
  );
}
