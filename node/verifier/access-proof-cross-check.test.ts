/**
 * The access-proof verifier gives identical verdicts, step by step, on both crypto backends (node:crypto and noble)
 * for the file `lianxin receipt prove --out` writes: the valid proof, the bundle alone, every field of the file
 * changed once and each one removed, every field of the access leaf changed and logged and attested by the
 * bank as a lying node would, and the trust bundle's key windows closed around the signing times. A disagreement
 * is a proof `lianxin receipt verify` accepts and the Verify page refuses, or the reverse.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { LogLeaf } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { attestationBytes, decodeLogLeaf, encodeLogLeaf } from '../receipts/index.ts';
import { attestBatch, createTestLog, creditRecordLeaf, editBundle } from '../receipts/test-fixtures.ts';
import { explainAccessProof } from './access-proof-verifier.ts';
import { parseAccessProofJson } from './access-proof-file.ts';
import type { VerifierCrypto } from './crypto-port.ts';
import { ExchangeMessageError } from './errors.ts';
import { nobleCrypto } from './noble-crypto.ts';
import { nodeCrypto } from './node-crypto.ts';
import { createAccessProofFixture, accessProofFileText, type AccessProofFixture } from './test-access-proof.ts';
import { parseTrustBundle } from './trust-bundle.ts';
import { ACCESS_PROOF_STEP_IDS } from './steps.ts';

const BACKENDS: readonly VerifierCrypto[] = [nodeCrypto, nobleCrypto];
const NOW = Date.parse('2026-12-01T00:00:00Z');

interface Verdict {
  readonly ok?: boolean;
  readonly code?: string;
  readonly attestationCode?: string;
  readonly steps?: readonly { id: string; status: string; code?: string; field?: string }[];
  readonly unreadable?: string;
}

/** One backend's verdict on a file (as text) with a trust bundle (as JSON), as comparable data. */
function verdictOf(crypto: VerifierCrypto, fileText: string, trustJson: unknown): Verdict {
  let file;
  try {
    file = parseAccessProofJson(JSON.parse(fileText));
  } catch (err) {
    if (err instanceof ExchangeMessageError) return { unreadable: err.field };
    throw err;
  }
  const trust = parseTrustBundle(trustJson as object, crypto);
  const {
    ok,
    verification: v,
    steps,
  } = explainAccessProof(file.envelopes, file.accessAttestation, trust, {
    now: NOW,
  });
  const verdict = v.ok
    ? { receiptDigest: v.receiptDigest, findings: v.findings, access: 'access' in v ? v.access : undefined }
    : { code: v.code, field: v.field, reason: v.reason, attestationCode: v.attestationCode };
  return { ok, ...verdict, steps };
}

let checked = 0;

function crossCheck(label: string, fileText: string, trustJson: unknown): Verdict {
  const [first, ...others] = BACKENDS.map((crypto) => verdictOf(crypto, fileText, trustJson));
  for (const other of others) expect(other, label).toEqual(first);
  checked++;
  // Steps run in order: only passed checks come before a failure, only unreached ones after it.
  const statuses = (first as Verdict).steps?.map((s) => s.status) ?? [];
  const failure = statuses.indexOf('failed');
  if (failure >= 0) {
    expect(
      statuses.slice(0, failure).every((s) => s === 'passed'),
      label,
    ).toBe(true);
    expect(
      statuses.slice(failure + 1).every((s) => s === 'not-reached'),
      label,
    ).toBe(true);
  }
  return first as Verdict;
}

const failedStep = (v: Verdict) => v.steps?.find((s) => s.status === 'failed')?.id;

/** Every string leaf of a JSON value, with its path. */
function* stringPaths(value: unknown, path: (string | number)[] = []): Generator<(string | number)[]> {
  if (typeof value === 'string') yield path;
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) yield* stringPaths(child, [...path, key]);
  }
}

/** `json` with the value at `path` replaced by `change(old)`, or removed when `change` gives undefined. */
function edited(json: unknown, path: readonly (string | number)[], change: (old: string) => string | undefined) {
  const copy = structuredClone(json) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1) ?? '';
  // Removed as a JSON writer would leave it out.
  parent[last] = change(parent[last] as string);
  return JSON.parse(JSON.stringify(copy)) as unknown;
}

/** A base64 field with one byte in the middle flipped (still base64), other text with one character changed. */
function changedText(old: string): string {
  const bytes = Buffer.from(old, 'base64');
  if (bytes.toString('base64') === old && bytes.length > 0) {
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    return bytes.toString('base64');
  }
  const at = old.length >> 1;
  return old.slice(0, at) + (old[at] === 'a' ? 'b' : 'a') + old.slice(at + 1);
}

let fx: AccessProofFixture;
beforeAll(async () => {
  fx = await createAccessProofFixture();
});

describe('access proofs on both crypto backends', () => {
  it('agree on the valid proof, every step passed, and on the bundle alone', () => {
    const valid = crossCheck('valid', fx.fileText, fx.trustJson);
    expect(valid.ok).toBe(true);
    expect(valid.steps?.map((s) => [s.id, s.status])).toEqual(ACCESS_PROOF_STEP_IDS.map((id) => [id, 'passed']));
    const alone = crossCheck('bundle alone', accessProofFileText(fx.bundle, undefined), fx.trustJson);
    expect(alone.ok).toBe(true);
    expect(alone.steps?.filter((s) => s.status === 'passed').map((s) => s.id)).toEqual([
      'request-signature',
      'receipt-signature',
      'acknowledgement',
    ]);
  });

  it('agree on every field of the file changed once and removed once, none of them valid', () => {
    const json = JSON.parse(fx.fileText) as unknown;
    const paths = [...stringPaths(json)];
    expect(paths.length).toBeGreaterThanOrEqual(10);
    const expected: Record<string, string> = {
      'bundle.request.signature.signature': 'request-signature',
      'bundle.receipt.signature.signature': 'receipt-signature',
      'bundle.acknowledgement.signature.signature': 'acknowledgement',
    };
    for (const path of paths) {
      const key = path.join('.');
      const changed = crossCheck(`${key} changed`, JSON.stringify(edited(json, path, changedText)), fx.trustJson);
      expect(changed.ok, key).not.toBe(true);
      if (expected[key] !== undefined) expect(failedStep(changed), key).toBe(expected[key]);
      // A flipped byte of the attestation breaks its encoding or, signed per batch, its batch proof.
      if (key === 'accessAttestation') expect(['format', 'batch-proof']).toContain(failedStep(changed));
      const removed = crossCheck(`${key} removed`, JSON.stringify(edited(json, path, () => undefined)), fx.trustJson);
      // Without its attestation the file is a bundle alone, which verifies: the proof of the leaf is gone.
      if (key === 'accessAttestation') expect(removed.steps?.at(-1)?.status).toBe('not-requested');
      else expect(removed.ok, key).not.toBe(true);
    }
  });

  it("agree on every field of the access leaf changed and attested by the bank: the leaf's evidence fails at access-leaf", () => {
    const leaf = decodeLogLeaf(fx.log.leaves[1] ?? new Uint8Array());
    const access = leaf.access;
    if (access === null || access === undefined) throw new Error('leaf 1 is not the access');
    const flip = (bytes: Uint8Array) => bytes.map((b, i) => (i === 0 ? b ^ 1 : b));
    const changes: [string, LogLeaf, string | undefined][] = [
      ['requestDigest', { ...leaf, access: { ...access, requestDigest: flip(access.requestDigest) } }, 'access-leaf'],
      ['receiptDigest', { ...leaf, access: { ...access, receiptDigest: flip(access.receiptDigest) } }, 'access-leaf'],
      [
        'acknowledgementDigest',
        { ...leaf, access: { ...access, acknowledgementDigest: flip(access.acknowledgementDigest) } },
        'access-leaf',
      ],
      ['requester', { ...leaf, access: { ...access, requester: fx.agency.mspId } }, 'access-leaf'],
      ['provider', { ...leaf, access: { ...access, provider: fx.bank.mspId } }, 'access-leaf'],
      ['subject', { ...leaf, access: { ...access, subject: `${access.subject.slice(0, -1)}X` } }, 'access-leaf'],
      ['role', { ...leaf, access: { ...access, role: 'ACCESS_ROLE_PROVIDED' } }, 'access-leaf'],
      ['org', { ...leaf, org: fx.agency.mspId }, 'leaf-hash'],
      ['version', { ...leaf, version: 2 }, 'leaf-hash'],
      ['nonce', { ...leaf, nonce: flip(leaf.nonce) }, undefined],
      ['appendedAtMs', { ...leaf, appendedAtMs: leaf.appendedAtMs + 1 }, undefined],
      ['entry', creditRecordLeaf(fx.bank.mspId, 1), 'access-leaf'],
    ];
    for (const [field, changedLeaf, step] of changes) {
      const log = createTestLog(fx.bank, 3, (org, i) =>
        i === 1 ? decodeLogLeaf(encodeLogLeaf(changedLeaf)) : creditRecordLeaf(org, i),
      );
      const attestation = attestBatch(log, [0, 1, 2])[1];
      if (attestation === undefined) throw new Error('no attestation');
      const v = crossCheck(
        `leaf ${field}`,
        accessProofFileText(fx.bundle, attestationBytes(attestation)),
        fx.trustJson,
      );
      expect(failedStep(v), field).toBe(step);
    }
  });

  it("agree when a key's validity window does not cover the time it signed at", () => {
    const closed = (mspId: string, role: string, window: { validFrom?: string; validUntil?: string }) =>
      editBundle(fx.trustJson, (draft) => {
        for (const key of draft.keys) if (key.mspId === mspId && key.role === role) Object.assign(key, window);
      });
    const cases: [string, unknown, string][] = [
      [
        "the bank's receipt key expired before the request",
        closed(fx.bank.mspId, 'receipt', { validUntil: '2026-11-23T10:00:00.000Z' }),
        'request-signature',
      ],
      [
        "the agency's receipt key starts after the receipt",
        closed(fx.agency.mspId, 'receipt', { validFrom: '2026-11-23T11:30:00.000Z' }),
        'receipt-signature',
      ],
      [
        "the bank's log key starts after the attestation",
        closed(fx.bank.mspId, 'log', { validFrom: '2026-11-23T13:00:00.000Z' }),
        'checkpoint-signature',
      ],
    ];
    for (const [label, trustJson, step] of cases) {
      const v = crossCheck(label, fx.fileText, trustJson);
      expect(failedStep(v), label).toBe(step);
    }
    expect(checked).toBeGreaterThan(40);
  });
});
