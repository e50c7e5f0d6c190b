import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64Field,
  decodeIndexEntries,
  encodeIndexEntries,
  indexEntriesOf,
  IndexEntriesWriter,
  leafIndexAt,
  MAX_INDEX_ENTRIES,
  scanIndexEntries,
  type IndexEntry,
} from '../src/index-entry-codec';
import { ChaincodeError } from '../src/errors';
import { checkUscc } from '../src/uscc';
import { RECORD_KIND } from '../src/validation';
import { USCC } from './fixtures';

const SUBJECTS = [USCC.icbc, USCC.huawei, USCC.alibaba];
const KINDS = ['loan', 'tax', 'judgment', 'a', 'k'.repeat(32), 'court_2'];

function randomEntries(count: number, seed: number): IndexEntry[] {
  let leafIndex = seed * 1_000;
  return Array.from({ length: count }, (_, i) => {
    leafIndex += 1 + ((i * 7 + seed) % 5);
    return {
      leafIndex,
      leafHash: randomBytes(32).toString('hex'),
      subject: SUBJECTS[(i + seed) % SUBJECTS.length] ?? USCC.icbc,
      kind: KINDS[(i * 3 + seed) % KINDS.length] ?? 'loan',
      recordDigest: randomBytes(32).toString('hex'),
    };
  });
}

/** The ChaincodeError `fn` throws (fails the test when it throws nothing). */
function refusal(fn: () => unknown): ChaincodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChaincodeError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const expectText = (text: string): unknown => expect.stringContaining(text) as unknown;

const sorted = (entry: IndexEntry) => ({
  kind: entry.kind,
  leafHash: entry.leafHash,
  leafIndex: entry.leafIndex,
  recordDigest: entry.recordDigest,
  subject: entry.subject,
});

describe('index entry codec', () => {
  it('decodes what it encodes, for entry lists of many sizes and shapes', () => {
    for (let seed = 0; seed < 20; seed++) {
      const entries = randomEntries(seed * 3, seed);
      expect(decodeIndexEntries(encodeIndexEntries(entries), 'strict')).toEqual(entries.map(sorted));
    }
  });

  it('keeps leaf indexes up to 2^53 - 1 exactly', () => {
    const [a, b] = [...randomEntries(1, 1), ...randomEntries(1, 2)] as [IndexEntry, IndexEntry];
    const entries = [
      { ...a, leafIndex: 2 ** 32 + 5 },
      { ...b, leafIndex: Number.MAX_SAFE_INTEGER },
    ];
    expect(decodeIndexEntries(encodeIndexEntries(entries), 'strict').map((e) => e.leafIndex)).toEqual([
      2 ** 32 + 5,
      Number.MAX_SAFE_INTEGER,
    ]);
  });

  it('has one encoding per list: the same entries give the same bytes, 96 bytes for a 4-letter kind', () => {
    const entries = randomEntries(10, 3).map((e) => ({ ...e, kind: 'loan' }));
    const bytes = encodeIndexEntries(entries);
    expect(bytes.length).toBe(5 + 10 * 95);
    expect(encodeIndexEntries(decodeIndexEntries(bytes, 'strict'))).toEqual(bytes);
  });

  it('refuses bytes after the last entry, a cut-short entry, and an unknown format version', () => {
    const bytes = encodeIndexEntries(randomEntries(3, 4));
    expect(refusal(() => decodeIndexEntries(Buffer.concat([bytes, Buffer.from([0])]), 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('1 bytes after its 3 entries'),
    });
    expect(refusal(() => decodeIndexEntries(bytes.subarray(0, bytes.length - 40), 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const version2 = Buffer.from(bytes);
    version2[0] = 2;
    expect(refusal(() => decodeIndexEntries(version2, 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('format version 2'),
    });
  });

  it('refuses leaf indexes out of order or repeated', () => {
    const [a, b] = randomEntries(2, 5) as [IndexEntry, IndexEntry];
    const bytes = encodeIndexEntries([a, b]);
    // Swap the two entries' leaf index fields (first 8 bytes of each, all entries 95 + kind bytes long).
    const second = 5 + 95 + a.kind.length;
    const swapped = Buffer.from(bytes);
    bytes.copy(swapped, 5, second, second + 8);
    bytes.copy(swapped, second, 5, 13);
    expect(refusal(() => decodeIndexEntries(swapped, 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('"indexEntries[1].leafIndex"'),
    });
    expect(refusal(() => encodeIndexEntries([a, a]))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a lower-case subject (two encodings of one entry) and a wrong check character in strict mode only', () => {
    const [entry] = randomEntries(1, 6) as [IndexEntry];
    const lower = { ...entry, subject: USCC.icbc.toLowerCase() };
    expect(refusal(() => decodeIndexEntries(encodeIndexEntries([lower]), 'lenient'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('must be upper-case'),
    });
    const wrongCheck = { ...entry, subject: `${USCC.icbc.slice(0, 17)}${USCC.icbc.endsWith('0') ? '1' : '0'}` };
    expect(refusal(() => decodeIndexEntries(encodeIndexEntries([wrongCheck]), 'strict'))).toMatchObject({
      code: 'INVALID_USCC',
    });
    expect(decodeIndexEntries(encodeIndexEntries([wrongCheck]), 'lenient')[0]?.subject).toBe(wrongCheck.subject);
  });

  it('refuses a kind outside the record-kind pattern and a kind length past the end', () => {
    const [entry] = randomEntries(1, 7) as [IndexEntry];
    const bytes = encodeIndexEntries([{ ...entry, kind: 'loan' }]);
    const upper = Buffer.from(bytes);
    upper.write('LOAN', bytes.length - 4, 'latin1');
    expect(refusal(() => decodeIndexEntries(upper, 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('"indexEntries[0].kind"'),
    });
    const long = Buffer.from(bytes);
    long[bytes.length - 5] = 5;
    expect(refusal(() => decodeIndexEntries(long, 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('"indexEntries[0].kind"'),
    });
  });

  it(`refuses more than ${MAX_INDEX_ENTRIES} entries from the header alone`, () => {
    const header = Buffer.from([1, 0, 0, 0, 0]);
    header.writeUInt32BE(MAX_INDEX_ENTRIES + 1, 1);
    expect(refusal(() => decodeIndexEntries(header, 'strict'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expectText('at most 10000'),
    });
  });

  it('takes padded base64 only', () => {
    expect(decodeBase64Field('f', 'AAEC')).toEqual(Buffer.from([0, 1, 2]));
    for (const bad of ['AAE', 'AA==AA==', 'AA\nEC', 'AAE=!', 'AAF=']) {
      expect(refusal(() => decodeBase64Field('f', bad))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});

describe('scanning index entries in place', () => {
  // Subjects near the valid ones: every position mutated to characters in and out of the alphabet, lower case.
  const MUTATIONS = ['0', '9', 'A', 'H', 'I', 'O', 'S', 'V', 'Z', 'Y', 'a', 'y', ' ', '\u00ff'];
  const candidates = [USCC.icbc, USCC.huawei, USCC.alibaba].flatMap((code) => [
    code,
    code.toLowerCase(),
    ...Array.from({ length: 18 }, (_, i) => MUTATIONS.map((m) => `${code.slice(0, i)}${m}${code.slice(i + 1)}`)).flat(),
  ]);

  it("accepts exactly the subjects checkUscc accepts upper-case, in both modes, with decodeIndexEntries' errors", () => {
    const [entry] = randomEntries(1, 8) as [IndexEntry];
    let refused = 0;
    for (const mode of ['strict', 'lenient'] as const) {
      for (const subject of candidates) {
        const bytes = encodeIndexEntries([{ ...entry, subject }]);
        const verdict = checkUscc(subject, mode);
        if (verdict.valid && verdict.code === subject) {
          expect(scanIndexEntries(bytes, mode).count).toBe(1);
        } else {
          refused++;
          expect(refusal(() => scanIndexEntries(bytes, mode))).toMatchObject({
            code: verdict.valid ? 'INVALID_ARGUMENT' : 'INVALID_USCC',
          });
        }
      }
    }
    expect(refused).toBeGreaterThan(candidates.length);
  });

  it('accepts exactly the kinds RECORD_KIND matches', () => {
    const [entry] = randomEntries(1, 9) as [IndexEntry];
    for (const kind of ['a', 'loan', 'court_2', 'x9', 'k'.repeat(32), '_a', '9a', 'Loan', 'lo-an', 'lo an', 'é']) {
      const bytes = encodeIndexEntries([{ ...entry, kind: 'loan' }]);
      const withKind = Buffer.concat([
        bytes.subarray(0, bytes.length - 5),
        Buffer.from([kind.length]),
        Buffer.from(kind, 'latin1'),
      ]);
      if (RECORD_KIND.test(kind)) expect(scanIndexEntries(withKind, 'strict').count).toBe(1);
      else expect(refusal(() => scanIndexEntries(withKind, 'strict'))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('gives each entry its offset and leaf index, and the objects decodeIndexEntries gives', () => {
    const entries = randomEntries(25, 10);
    const bytes = encodeIndexEntries(entries);
    const view = scanIndexEntries(bytes, 'strict');
    expect(view.count).toBe(25);
    expect(view.offsets[25]).toBe(bytes.length);
    expect(Array.from({ length: 25 }, (_, i) => leafIndexAt(view, i))).toEqual(entries.map((e) => e.leafIndex));
    expect(indexEntriesOf(view)).toEqual(entries.map(sorted));
  });
});

/**
 * Each entry's fields as bytes scattered in one buffer, as a log leaf holds them (padding before, between and after),
 * with the leaf hash in a separate buffer at an offset, as a level-0 tile holds it.
 */
function writeAll(entries: readonly IndexEntry[], capacity = entries.length): IndexEntriesWriter {
  const writer = new IndexEntriesWriter(capacity);
  entries.forEach((entry, i) => {
    const pad = Buffer.alloc(1 + (i % 3), 0xee);
    const subject = Buffer.from(entry.subject, 'latin1');
    const kind = Buffer.from(entry.kind, 'latin1');
    const digest = Buffer.from(entry.recordDigest, 'hex');
    const source = Buffer.concat([pad, subject, pad, kind, pad, digest, pad]);
    const tile = Buffer.concat([randomBytes(32 * (i % 4)), Buffer.from(entry.leafHash, 'hex'), randomBytes(32)]);
    writer.add(entry.leafIndex, tile, 32 * (i % 4), source, {
      subjectAt: pad.length,
      subjectLength: subject.length,
      kindAt: 2 * pad.length + subject.length,
      kindLength: kind.length,
      digestAt: 3 * pad.length + subject.length + kind.length,
    });
  });
  return writer;
}

/** One entry written from its decoded fields. */
function addDecoded(writer: IndexEntriesWriter, e: IndexEntry): void {
  writer.addDecoded(
    e.leafIndex,
    Buffer.from(e.leafHash, 'hex'),
    0,
    e.subject,
    e.kind,
    Buffer.from(e.recordDigest, 'hex'),
  );
}

describe('index entries written from bytes (IndexEntriesWriter)', () => {
  it('writes byte for byte what encodeIndexEntries writes for the same entries', () => {
    for (let seed = 0; seed < 20; seed++) {
      const entries = randomEntries(seed * 3, seed);
      const view = writeAll(entries, entries.length + seed).finish('strict');
      expect(view.bytes.toString('hex')).toBe(encodeIndexEntries(entries).toString('hex'));
      expect(view.count).toBe(entries.length);
      expect(indexEntriesOf(view)).toEqual(entries.map(sorted));
    }
  });

  it('writes a list after restart as a new writer does, into the same bytes, leaving what it returned before', () => {
    const first = randomEntries(30, 21);
    const writer = writeAll(first);
    const firstView = writer.finish('strict');
    const firstBytes = Buffer.from(firstView.bytes);
    for (const [count, seed] of [
      [12, 22],
      [30, 23],
      [45, 24],
      [0, 25],
    ] as const) {
      const entries = randomEntries(count, seed);
      writer.restart(entries.length);
      for (const e of entries) addDecoded(writer, e);
      expect(writer.count).toBe(count);
      expect(writer.finish('strict').bytes).toEqual(encodeIndexEntries(entries));
    }
    expect(firstView.bytes).toEqual(firstBytes);
    expect(indexEntriesOf(firstView)).toEqual(first.map(sorted));
    // A list left half-written (an anchor that failed) leaves nothing in the next one.
    const [a, b] = randomEntries(2, 26) as [IndexEntry, IndexEntry];
    writer.restart(1);
    addDecoded(writer, a);
    writer.restart(1);
    addDecoded(writer, b);
    expect(writer.finish('strict').bytes).toEqual(encodeIndexEntries([b]));
    expect(
      refusal(() => {
        writer.restart(MAX_INDEX_ENTRIES + 1);
      }),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('writes decoded fields (addDecoded) as encodeIndexEntries does', () => {
    const entries = randomEntries(12, 3);
    const writer = new IndexEntriesWriter(entries.length);
    for (const e of entries) addDecoded(writer, e);
    expect(writer.finish('strict').bytes).toEqual(encodeIndexEntries(entries));
  });

  it('refuses what the decoder refuses, naming the field', () => {
    const [a, b] = randomEntries(2, 5) as [IndexEntry, IndexEntry];
    expect(refusal(() => writeAll([b, a]).finish('lenient'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expectText('indexEntries[1].leafIndex'),
    });
    expect(refusal(() => writeAll([{ ...a, subject: a.subject.toLowerCase() }]).finish('lenient'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expectText('indexEntries[0].subject'),
    });
    expect(refusal(() => writeAll([{ ...a, kind: 'Loan' }]).finish('lenient'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expectText('indexEntries[0].kind'),
    });
    const wrongCheck = { ...a, subject: `${a.subject.slice(0, 17)}${a.subject.endsWith('0') ? '1' : '0'}` };
    expect(refusal(() => writeAll([wrongCheck]).finish('strict'))).toMatchObject({ code: 'INVALID_USCC' });
    expect(writeAll([wrongCheck]).finish('lenient').count).toBe(1);
  });

  it('refuses fields of the wrong length before writing them', () => {
    const [a] = randomEntries(1, 6) as [IndexEntry];
    const cases: [IndexEntry, string][] = [
      [{ ...a, subject: a.subject.slice(1) }, 'indexEntries[0].subject'],
      [{ ...a, kind: '' }, 'indexEntries[0].kind'],
      [{ ...a, kind: 'k'.repeat(33) }, 'indexEntries[0].kind'],
    ];
    for (const [entry, field] of cases) {
      expect(refusal(() => writeAll([entry]))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expectText(field) });
    }
    const writer = new IndexEntriesWriter(1);
    const hash = Buffer.from(a.leafHash, 'hex');
    expect(
      refusal(() => {
        writer.add(1, hash, 1, Buffer.alloc(0), {
          subjectAt: 0,
          subjectLength: 18,
          kindAt: 0,
          kindLength: 1,
          digestAt: 0,
        });
      }),
    ).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expectText('indexEntries[0].leafHash'),
    });
    for (const digest of [Buffer.alloc(31), Buffer.alloc(33)]) {
      expect(
        refusal(() => {
          writer.addDecoded(1, hash, 0, a.subject, a.kind, digest);
        }),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expectText('indexEntries[0].recordDigest'),
      });
    }
    // A character outside ASCII is not cut to a byte that might pass: its UTF-8 bytes are refused.
    const lookalike = `${a.subject.slice(0, 17)}\u0141`;
    expect(() => {
      const w = new IndexEntriesWriter(1);
      w.addDecoded(1, hash, 0, lookalike, a.kind, Buffer.alloc(32));
      w.finish('lenient');
    }).toThrow(ChaincodeError);
    expect(refusal(() => writeAll([a, a], 1))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(refusal(() => new IndexEntriesWriter(MAX_INDEX_ENTRIES + 1))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
