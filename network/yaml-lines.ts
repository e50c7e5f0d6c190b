/**
 * A configuration file's YAML parsed keeping where each field is, so that a refusal names the file and line, as the
 * project's CLI errors do (`file:line: "field" problem`).
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export interface YamlWithLines {
  readonly doc: Document.Parsed;
  /**
   * The 1-based line of the field at `path` (`a.b`, `list[2].c`): its key's line in a mapping, its item's in a list.
   * A field the file lacks gets the line of the nearest enclosing field it has; undefined when it has none.
   */
  readonly lineOf: (path: string) => number | undefined;
}

export function parseYamlWithLines(text: string): YamlWithLines {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: lines });
  const lineOf = (path: string): number | undefined => {
    const keys = pathKeys(path);
    while (keys.length > 0) {
      const start = startOf(doc.getIn(keys.slice(0, -1), true), keys.at(-1));
      if (start !== undefined) return lines.linePos(start).line;
      keys.pop();
    }
    return undefined;
  };
  return { doc, lineOf };
}

/** `organizations[0].nodes[1].name` → ['organizations', 0, 'nodes', 1, 'name']. */
function pathKeys(path: string): (string | number)[] {
  return (path.match(/[^.[\]]+|\[\d+\]/g) ?? []).map((key) => (key.startsWith('[') ? Number(key.slice(1, -1)) : key));
}

/** Where `key` of `parent` starts: a mapping's key, a list's item. */
function startOf(parent: unknown, key: string | number | undefined): number | undefined {
  if (isMap(parent)) {
    const pair = parent.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
    return (pair?.key as Node | null | undefined)?.range?.[0];
  }
  if (isSeq(parent) && typeof key === 'number') return (parent.items[key] as Node | undefined)?.range?.[0];
  return undefined;
}
