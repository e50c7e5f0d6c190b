/**
 * The launchers' processes get glibc's arena limit (process-memory.ts), through the one place both launchers take
 * their commands from (consortium-processes.ts), and an operator's own value wins.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerCommand, nodeCommand } from './consortium-processes.ts';
import { withProcessMemorySettings } from './process-memory.ts';
import type { InstitutionNode } from './register-institutions.ts';

const saved = process.env.MALLOC_ARENA_MAX;
afterEach(() => {
  if (saved === undefined) delete process.env.MALLOC_ARENA_MAX;
  else process.env.MALLOC_ARENA_MAX = saved;
});

const node = { configFile: 'nodes/x/node.yaml' } as unknown as InstitutionNode;
const ledger = () => ledgerCommand({ config: 'consortium.yaml', dataDir: '.data', port: 0 });

describe('process memory settings of launched processes', () => {
  it('limits malloc arenas to 2 in the ledger and every node when the operator has not set it', () => {
    delete process.env.MALLOC_ARENA_MAX;
    expect(ledger().env.MALLOC_ARENA_MAX).toBe('2');
    expect(nodeCommand(node, '127.0.0.1:7050').env.MALLOC_ARENA_MAX).toBe('2');
    expect(withProcessMemorySettings({ MALLOC_ARENA_MAX: '' }).MALLOC_ARENA_MAX).toBe('2');
  });

  it("keeps the operator's own MALLOC_ARENA_MAX", () => {
    process.env.MALLOC_ARENA_MAX = '4';
    expect(ledger().env.MALLOC_ARENA_MAX).toBe('4');
    expect(nodeCommand(node, '127.0.0.1:7050').env.MALLOC_ARENA_MAX).toBe('4');
  });

  it('leaves the rest of the environment as it was (the node still gets the ledger address)', () => {
    const env = nodeCommand(node, '127.0.0.1:7050').env;
    expect(Object.values(env)).toContain('127.0.0.1:7050');
    expect(env.PATH).toBe(process.env.PATH);
  });
});
