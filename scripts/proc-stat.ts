/**
 * Reading a proc(5) `stat` line (/proc/<pid>/stat, /proc/<pid>/task/<tid>/stat), for the operator scripts (is a
 * recorded process still the one started?) and the benchmarks (CPU time per process and thread) alike.
 */

/** Clock ticks per second of proc(5)'s time fields: USER_HZ, 100 on every Linux ABI. */
export const USER_HZ = 100;

/**
 * The fields of a proc(5) `stat` line after the command name, from field 3 (state) on: field n is at index n - 3.
 * The command name (field 2) is parenthesised and may hold spaces and parentheses: fields are counted after its
 * last closing parenthesis.
 */
export function procStatFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
