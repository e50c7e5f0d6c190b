import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { procStatFields } from './proc-stat.ts';

describe('procStatFields', () => {
  it('counts fields after the last parenthesis, whatever the command name holds', () => {
    // A process may name itself anything (prctl PR_SET_NAME): spaces and parentheses included.
    const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 987654 1000 200';
    const fields = procStatFields(line);
    expect(fields[0]).toBe('S'); // field 3: state
    expect(fields[11]).toBe('250'); // field 14: utime
    expect(fields[12]).toBe('75'); // field 15: stime
    expect(fields[19]).toBe('987654'); // field 22: start time
  });

  it.runIf(process.platform === 'linux')('reads this process’s own stat line', async () => {
    const fields = procStatFields(await readFile('/proc/self/stat', 'utf8'));
    expect(fields[0]).toMatch(/^[RS]$/);
    expect(Number(fields[19])).toBeGreaterThan(0);
  });
});
