/**
 * The two crypto backends of the verifier core give identical verdicts, step by step: on the golden files, on the
 * transparency-dev Merkle vectors, and on a corpus of valid and tampered inputs — every byte of each golden
 * attestation bit-flipped once, every field of the attestation format changed once (unsigned, and re-signed by
 * the issuer so that the change reaches the later checks), every field of the trust bundle changed once; for
 * format v2 also each part of the batch proof (index, size, root, path) and the batch signature.
 * A disagreement is a verification that would pass in the browser and fail in `lianxin verify`, or the reverse.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMerkle, MerkleProofError } from '../../chaincode/src/protocol-portable.ts';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { attestationBytes } from '../receipts/attestation-signer.ts';
import {
  attest,
  attestBatch,
  bodyOf,
  bundleOf,
  createTestLog,
  createTestOrg,
  resigned,
  unsignedAttestation,
  type TestLog,
  type TestOrg,
} from '../receipts/test-fixtures.ts';
import { signAttestationBatch } from '../receipts/attestation-signer.ts';
import type { VerifierCrypto } from './crypto-port.ts';
import { decodeAttestation } from './evidence-codec.ts';
import { explainAttestation, parseTrustBundle, ReceiptsError, type TrustBundle } from './index.ts';
import { nobleCrypto } from './noble-crypto.ts';
import { nodeCrypto } from './node-crypto.ts';

const BACKENDS: readonly VerifierCrypto[] = [nodeCrypto, nobleCrypto];
const NOW = Date.parse('2026-12-01T00:00:00Z');
const testdata = (name: string) => readFileSync(new URL(`../receipts/testdata/${name}`, import.meta.url));

/** The verdict of one backend, as comparable data: the steps (names, statuses, codes, fields, details). */
function verdictOf(crypto: VerifierCrypto, bundleJson: unknown, attestation: Uint8Array): unknown {
  let bundle: TrustBundle;
  try {
    bundle = parseTrustBundle(bundleJson as object, crypto);
  } catch (err) {
    if (err instanceof ReceiptsError) return { bundle: err.code, field: err.field, message: err.message };
    throw err;
  }
  const { ok, steps } = explainAttestation(attestation, bundle, { now: NOW });
  return { ok, steps };
}

let checked = 0;
let mismatches = 0;

/** Both backends on one input; returns the (shared) verdict. */
function crossCheck(
  bundleJson: unknown,
  attestation: Uint8Array,
): { ok?: boolean; steps?: { status: string; id: string; code?: string }[] } {
  const [first, ...others] = BACKENDS.map((crypto) => verdictOf(crypto, bundleJson, attestation));
  for (const other of others) {
    checked++;
    if (JSON.stringify(other) !== JSON.stringify(first)) mismatches++;
    expect(other).toEqual(first);
  }
  return first as { ok?: boolean; steps?: { status: string; id: string; code?: string }[] };
}

const failedStep = (verdict: { steps?: { status: string; id: string }[] }) =>
  verdict.steps?.find((s) => s.status === 'failed')?.id;

/** Every leaf value of a JSON-like object with its path, and a way to build the object with it changed. */
function* fieldsOf(value: unknown, path: string[] = []): Generator<string[]> {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') {
    yield path;
    return;
  }
  for (const [key, child] of Object.entries(value)) yield* fieldsOf(child, [...path, key]);
}

function changed<T>(value: T, path: readonly string[]): T {
  const copy = structuredClone(value);
  const last = path.at(-1);
  if (last === undefined) return copy;
  let parent = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const old = parent[last];
  // A v1 attestation's absent batch becomes a well-formed one (a v1 file must not carry it).
  parent[last] =
    last === 'batch' && old === null ? { index: 0, size: 1, root: new Uint8Array(32), path: [] } : changedValue(old);
  return copy;
}

function changedValue(old: unknown): unknown {
  if (old instanceof Uint8Array) {
    if (old.length === 0) return Uint8Array.of(1);
    const bytes = Uint8Array.from(old);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    return bytes;
  }
  if (typeof old === 'number') return old + 1;
  if (typeof old === 'boolean') return !old;
  if (typeof old === 'string') {
    if (old.startsWith('EVIDENCE_STATE_'))
      return old === 'EVIDENCE_STATE_ANCHORED' ? 'EVIDENCE_STATE_CHECKPOINTED' : 'EVIDENCE_STATE_ANCHORED';
    if (old.length === 0) return 'x';
    // A character in the middle, changed: a note's root hash or signature, a name, a time.
    const at = old.length >> 1;
    const c = old.charCodeAt(at);
    return old.slice(0, at) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + old.slice(at + 1);
  }
  if (old === null) return 'x';
  return old;
}

describe('verdict parity of the node:crypto and noble backends', () => {
  const goldenBundle = JSON.parse(testdata('trust-bundle.v1.json').toString('utf8')) as Record<string, unknown>;
  const goldens = ['credit-record-attestation.v1.binpb', 'notarization-receipt.v1.binpb'].map(
    (name) => new Uint8Array(testdata(name)),
  );

  const bundleV2 = JSON.parse(testdata('trust-bundle.for-attestation-v2.json').toString('utf8')) as Record<
    string,
    unknown
  >;
  const goldensV2 = ['credit-record-attestation.v2.binpb', 'notarization-receipt.v2.binpb'].map(
    (name) => new Uint8Array(testdata(name)),
  );
  const ALL_PASSED = [
    'format',
    'batch-proof',
    'node-signature',
    'leaf-hash',
    'checkpoint-signature',
    'inclusion-proof',
    'anchor',
  ];

  it('the golden attestations, v1 and v2, verify with both, every step passed', () => {
    for (const [bundle, golden] of [
      ...goldens.map((g) => [goldenBundle, g] as const),
      ...goldensV2.map((g) => [bundleV2, g] as const),
    ]) {
      const verdict = crossCheck(bundle, golden);
      expect(verdict.ok).toBe(true);
      expect(verdict.steps?.filter((s) => s.status === 'passed').map((s) => s.id)).toEqual(ALL_PASSED);
    }
  });

  it('every bit-flipped byte of the golden v2 credit-record attestation: same verdict, never valid', () => {
    const [golden = new Uint8Array()] = goldensV2;
    for (let i = 0; i < golden.length; i++) {
      const tampered = Uint8Array.from(golden);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      expect(crossCheck(bundleV2, tampered).ok, `byte ${i}`).not.toBe(true);
    }
  });

  it('every field of each golden v2 attestation changed once: same verdict; the batch proof and signature at their own step', () => {
    for (const golden of goldensV2) {
      const { attestation } = decodeAttestation(golden);
      let batchFields = 0;
      for (const path of fieldsOf(attestation)) {
        const key = path.join('.');
        if (key === 'signature.suite') continue; // its own code, as for v1
        const verdict = crossCheck(bundleV2, attestationBytes(changed(attestation, path)));
        expect(verdict.ok, key).toBe(false);
        if (key === 'batch.size') {
          // A size whose tree shape gives the same path still leads to the root; the signature binds the size.
          batchFields++;
          expect(['batch-proof', 'node-signature'], key).toContain(failedStep(verdict));
        } else if (key.startsWith('batch.')) {
          batchFields++;
          expect(failedStep(verdict), key).toBe('batch-proof');
          expect(verdict.steps?.find((s) => s.status === 'failed')?.code, key).toBe('BAD_BATCH_PROOF');
        } else if (key === 'signature.signature') {
          expect(failedStep(verdict), key).toBe('node-signature');
        } else {
          // Any other byte is in the leaf hashed into the batch: the path no longer leads to the signed root.
          expect(['format', 'batch-proof', 'node-signature'], key).toContain(failedStep(verdict));
        }
      }
      expect(batchFields).toBeGreaterThanOrEqual(3); // index, size, root (and each path hash)
    }
  });

  it('every bit-flipped byte of the golden credit-record attestation: same verdict, never valid', () => {
    // One golden only: noble's curve check is slow, and the notarization receipt's fields are changed below.
    for (const golden of goldens.slice(0, 1)) {
      for (let i = 0; i < golden.length; i++) {
        const tampered = Uint8Array.from(golden);
        tampered[i] = (tampered[i] ?? 0) ^ 0x01;
        expect(crossCheck(goldenBundle, tampered).ok, `byte ${i}`).not.toBe(true);
      }
    }
  });

  it('every field of each golden attestation changed once: same verdict, failing at the node signature or before', () => {
    for (const golden of goldens) {
      const { attestation } = decodeAttestation(golden);
      for (const path of fieldsOf(attestation)) {
        if (path.join('.') === 'signature.suite') continue; // covered below: its own code
        const tampered = attestationBytes(changed(attestation, path));
        const verdict = crossCheck(goldenBundle, tampered);
        expect(verdict.ok, path.join('.')).toBe(false);
        expect(['format', 'batch-proof', 'node-signature']).toContain(failedStep(verdict));
      }
    }
  });

  it('every field of the trust bundle changed once: same reading and the same verdict on the goldens', () => {
    let paths = 0;
    for (const path of fieldsOf(goldenBundle)) {
      paths++;
      const bundle = changed(goldenBundle, path);
      for (const golden of goldens) crossCheck(bundle, golden);
    }
    expect(paths).toBeGreaterThan(20);
  });

  describe('a generated log, each field changed and re-signed by the issuer (the change reaches later checks)', () => {
    let org: TestOrg;
    let log: TestLog;
    let bundleJson: unknown;
    beforeAll(async () => {
      const created = await createTestOrg('HangzhouAgencyMSP', 'agency');
      org = created;
      log = createTestLog(org, 7);
      bundleJson = bundleOf([created]);
    });

    it('valid attestations of every leaf verify with both, v1 and a v2 batch', () => {
      for (let i = 0; i < 7; i++) expect(crossCheck(bundleJson, attestationBytes(attest(log, i))).ok).toBe(true);
      for (const a of attestBatch(log, [6, 0, 5, 1, 4, 2, 3]))
        expect(crossCheck(bundleJson, attestationBytes(a)).ok).toBe(true);
    });

    it('v2: a tampered batch path, index, size, root or batch signature fails alike with both', () => {
      const batch = attestBatch(log, [0, 1, 2, 3, 4, 5]);
      const [valid = batch[0]] = batch.slice(3);
      if (valid?.batch == null || valid.signature === null) throw new Error('the batch signer gave no batch');
      const other = attestBatch(log, [3, 4]).at(0);
      const variants: Record<string, [Partial<Attestation__Output>, string]> = {
        'path hash': [
          {
            batch: {
              ...valid.batch,
              path: valid.batch.path.map((h, i) => (i === 1 ? (changedValue(h) as Buffer) : h)),
            },
          },
          'batch-proof',
        ],
        'path cut': [{ batch: { ...valid.batch, path: valid.batch.path.slice(1) } }, 'batch-proof'],
        index: [{ batch: { ...valid.batch, index: 2 } }, 'batch-proof'],
        'index beyond size': [{ batch: { ...valid.batch, index: 6 } }, 'batch-proof'],
        // Leaf 3's path is the same in trees of 6 and 7 leaves: only the signature (over size ‖ root) binds the size.
        size: [{ batch: { ...valid.batch, size: 7 } }, 'node-signature'],
        'size below the index': [{ batch: { ...valid.batch, size: 3 } }, 'batch-proof'],
        'size zero': [{ batch: { ...valid.batch, size: 0 } }, 'batch-proof'],
        root: [{ batch: { ...valid.batch, root: changedValue(valid.batch.root) as Buffer } }, 'batch-proof'],
        'short root': [{ batch: { ...valid.batch, root: valid.batch.root.subarray(1) } }, 'batch-proof'],
        'batch signature': [
          { signature: { ...valid.signature, signature: changedValue(valid.signature.signature) as Buffer } },
          'node-signature',
        ],
        // Another batch's valid signature, with this batch's root: signatures are per (size, root).
        'signature of another batch': [{ signature: other?.signature ?? null }, 'node-signature'],
        'no batch (v2 signed alone)': [{ batch: null }, 'format'],
        'v1 format with a batch': [{ format: 'lianxin-attestation/v1' }, 'format'],
      };
      for (const [name, [change, step]] of Object.entries(variants)) {
        const verdict = crossCheck(bundleJson, attestationBytes({ ...valid, ...change }));
        expect(verdict.ok, name).toBe(false);
        expect(failedStep(verdict), name).toBe(step);
      }
    });

    it('v2: every body field changed and signed into a batch: same verdict with both, at its own step', () => {
      const expected: Record<string, string> = {
        'inclusion.hashes.0': 'inclusion-proof',
        'inclusion.leafIndex': 'inclusion-proof',
        'inclusion.treeSize': 'inclusion-proof',
        'anchor.channel': 'anchor',
      };
      const body = bodyOf(unsignedAttestation(log, 3));
      for (const path of fieldsOf(body)) {
        const [tampered] = signAttestationBatch(
          [changed(body, path), bodyOf(unsignedAttestation(log, 5))],
          org.receiptKey,
        );
        if (tampered === undefined) throw new Error('empty batch');
        const verdict = crossCheck(bundleJson, attestationBytes(tampered));
        const key = path.join('.');
        if (expected[key] !== undefined) expect(failedStep(verdict), key).toBe(expected[key]);
      }
    });

    it('every field changed: same verdict with both; tampered leaves, proofs and notes fail at their own step', () => {
      const valid = attest(log, 3);
      const { format: _f, signature: _s, ...unsigned } = valid;
      const expected: Record<string, string> = {
        leaf: 'checkpoint-signature', // the leaf's org byte or a content byte: org mismatch or inclusion
        'inclusion.hashes.0': 'inclusion-proof',
        'inclusion.hashes.1': 'inclusion-proof',
        'inclusion.hashes.2': 'inclusion-proof',
        'inclusion.leafIndex': 'inclusion-proof',
        'inclusion.treeSize': 'inclusion-proof',
        'anchor.channel': 'anchor',
      };
      for (const path of fieldsOf(unsigned)) {
        const change = changed(unsigned, path) as Partial<Attestation__Output>;
        const tampered = attestationBytes(resigned(valid, org.receiptKey, change));
        const verdict = crossCheck(bundleJson, tampered);
        const key = path.join('.');
        if (key === 'leaf')
          expect(['leaf-hash', 'checkpoint-signature', 'inclusion-proof']).toContain(failedStep(verdict));
        else if (expected[key] !== undefined) expect(failedStep(verdict), key).toBe(expected[key]);
      }
    });
  });

  it('reports the corpus size and no mismatch', () => {
    expect(checked).toBeGreaterThan(500);
    expect(mismatches).toBe(0);
    console.info(`verifier parity: ${checked} inputs cross-checked, ${mismatches} mismatches`);
  });
});

describe('the transparency-dev Merkle vectors, with the Merkle algorithm on each backend', () => {
  const root = new URL('../../test/vectors/merkle/', import.meta.url).pathname;
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : name.endsWith('.json') ? [path] : [];
    });
  const b64 = (text: string | null): Uint8Array => Uint8Array.from(Buffer.from(text ?? '', 'base64'));
  const merkles = BACKENDS.map((crypto) => createMerkle((...parts) => crypto.sha256(...parts)));
  const outcome = (run: () => void): string => {
    try {
      run();
      return 'ok';
    } catch (err) {
      if (err instanceof MerkleProofError) return err.code;
      throw err;
    }
  };

  it('inclusion and consistency: every vector gives its expected result, the same code with both', () => {
    let vectors = 0;
    for (const file of files(root)) {
      const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const results = merkles.map((m) =>
        'leafIdx' in v
          ? outcome(() => {
              m.verifyInclusion(
                BigInt(v.leafIdx as number),
                BigInt(v.treeSize as number),
                b64(v.leafHash as string),
                ((v.proof as string[] | null) ?? []).map(b64),
                b64(v.root as string),
              );
            })
          : outcome(() => {
              m.verifyConsistency(
                BigInt(v.size1 as number),
                BigInt(v.size2 as number),
                b64(v.root1 as string),
                b64(v.root2 as string),
                ((v.proof as string[] | null) ?? []).map(b64),
              );
            }),
      );
      expect(results[1], file).toBe(results[0]);
      expect(results[0] !== 'ok', file).toBe(v.wantErr);
      vectors++;
    }
    expect(vectors).toBeGreaterThan(100);
  });
});
