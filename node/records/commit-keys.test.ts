import { describe, expect, it } from 'vitest';
import { testUscc } from '../../test/support/chaincode-log.ts';
import { CommitKeys } from './commit-keys.ts';
import { PreparedBatch } from './prepared-batch.ts';
import type { ValidCreditRecord } from './record-validation.ts';

const record = (n: number, kind: string, version: number): ValidCreditRecord => ({
  subject: testUscc(n),
  kind,
  version,
  contentType: 'application/json',
  content: Buffer.from(`{"n":${n}}`),
});

const batchOf = (requestId: string, records: ValidCreditRecord[]) =>
  new PreparedBatch(requestId, records, 'HangzhouCreditMSP', 1_795_000_000_000);

describe('CommitKeys', () => {
  const first = batchOf('a', [record(1, 'loan', 1), record(2, 'loan', 1), record(1, 'loan', 2)]);
  const second = batchOf('b', [record(2, 'loan', 1), record(1, 'lease', 1), record(1, 'loan', 2)]);

  it('tells keys apart on their bytes when their hashes collide', () => {
    const keys = new CommitKeys();
    keys.begin([first, second], 6);
    // One hash for every key: each lookup probes past the others and compares the keys' bytes.
    for (let i = 0; i < first.count; i++) keys.add(0, i, 7, 10 + i);
    expect(keys.find(1, 0, 7)).toEqual({ batch: first, index: 1, offset: 11 });
    expect(keys.find(1, 1, 7)).toBeUndefined();
    expect(keys.find(1, 2, 7)).toEqual({ batch: first, index: 2, offset: 12 });
    // Another hash finds nothing, even for a key that was added.
    expect(keys.find(1, 0, 8)).toBeUndefined();
  });

  it('forgets a refused batch, and the last commit at the next', () => {
    const keys = new CommitKeys();
    keys.begin([first, second], 6);
    keys.add(0, 1, 0xfedcba98, 0);
    keys.refuse(0);
    expect(keys.find(1, 0, 0xfedcba98)).toBeUndefined();
    keys.add(1, 0, 0xfedcba98, 0);
    expect(keys.find(1, 0, 0xfedcba98)).toEqual({ batch: second, index: 0, offset: 0 });
    keys.end();
    // The same batches again: an entry left from the last commit would be found.
    keys.begin([first, second], 6);
    expect(keys.find(1, 0, 0xfedcba98)).toBeUndefined();
  });

  it('grows for a larger commit', () => {
    const many = batchOf(
      'm',
      Array.from({ length: 100 }, (_, n) => record(n, 'loan', 1)),
    );
    const keys = new CommitKeys();
    keys.begin([first], 3);
    keys.begin([many], 100);
    for (let i = 0; i < many.count; i++) keys.add(0, i, i % 5, i);
    for (let i = 0; i < many.count; i++) expect(keys.find(0, i, i % 5)?.offset).toBe(i);
    // A small commit after it uses part of the table, a large one after that the whole again: nothing is left over.
    keys.begin([first], 3);
    expect(keys.find(0, 0, 0)).toBeUndefined();
    keys.begin([many], 100);
    for (let i = 0; i < many.count; i++) expect(keys.find(0, i, i % 5)).toBeUndefined();
  });
});
