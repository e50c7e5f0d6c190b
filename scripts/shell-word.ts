/**
 * A path or value as one shell word, for the commands the scripts print for an operator to paste: left as it is
 * when the shell would read it so, else single-quoted (a data directory with a space in it).
 */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
