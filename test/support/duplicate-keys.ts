/**
 * The keys that occur more than once at the top level of a JSON object line. JSON.parse keeps the last of them
 * silently; log collectors differ (some keep the first, some reject the line), so a log line must not have any.
 * Pino writes a child logger's bindings and then the call's own fields without merging them, which is how a
 * field ends up twice.
 */
export function duplicateKeys(line: string): string[] {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  let depth = 0;
  let expectingKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let end = i + 1;
      while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectingKey) {
        const key = JSON.parse(line.slice(i, end + 1)) as string;
        if (seen.has(key)) duplicates.push(key);
        seen.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      depth += 1;
      expectingKey = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') {
      depth -= 1;
    } else if (c === ',' && depth === 1) {
      expectingKey = true;
    }
  }
  return duplicates;
}
