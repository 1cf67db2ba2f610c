// The global search's pure parts: the core marks matches in a hit's snippet
// with [ and ]; the UI shows them highlighted. Also the arrow-key movement
// through a list of results.

export interface SnippetPart {
  text: string;
  hit: boolean;
}

/** "a [match] b" -> plain "a ", hit "match", plain " b". An unclosed "[" is plain text. */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  const push = (text: string, hit: boolean) => {
    if (!text) return;
    const last = parts[parts.length - 1];
    if (last && last.hit === hit) last.text += text;
    else parts.push({ text, hit });
  };
  let rest = snippet;
  while (rest) {
    const open = rest.indexOf("[");
    const close = open < 0 ? -1 : rest.indexOf("]", open + 1);
    if (open < 0 || close < 0) {
      push(rest, false);
      break;
    }
    push(rest.slice(0, open), false);
    push(rest.slice(open + 1, close), true);
    rest = rest.slice(close + 1);
  }
  return parts;
}

/**
 * The highlighted index after an arrow key, wrapping around; -1 (nothing
 * highlighted) when the list is empty.
 */
export function moveHighlight(current: number, count: number, step: 1 | -1): number {
  if (count <= 0) return -1;
  if (current < 0) return step > 0 ? 0 : count - 1;
  return (current + step + count) % count;
}
