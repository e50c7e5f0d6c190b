/**
 * Offline verification of an attestation (or notarization receipt) with the consortium trust bundle: no network,
 * no chain, the same code in Node (`lianxin verify`, node/receipts) and in a browser (the explorer's Verify page),
 * the crypto behind the bundle's port (node:crypto or noble). It establishes that a registered, active institution
 * issued it with its receipt key, that the leaf is in that institution's registered log under a checkpoint signed
 * by the log's registered key, and reports the claimed anchoring transaction (checking it on chain is an online
 * step, left to the caller). `explainAttestation` gives the same verdict as a list of named checks.
 *
 * Every input here is attacker-controlled; failures are results with a closed `code`, never exceptions.
 * Cost: one ECDSA verification per v1 attestation, or per distinct v2 batch signature, plus one per distinct
 * checkpoint (both remembered per bundle), about 10k/s per core each with node:crypto (DESIGN §9).
 */
import {
  type Checkpoint,
  createMerkle,
  equalBytes,
  type Merkle,
  MerkleProofError,
  parseCheckpoint,
} from '../../chaincode/src/protocol-portable.ts';
import type { Attestation, Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { AttestationBatch__Output } from '../api/generated/lianxin/v1/AttestationBatch.ts';
import type { ChainAnchor__Output } from '../api/generated/lianxin/v1/ChainAnchor.ts';
import type { InclusionProof__Output } from '../api/generated/lianxin/v1/InclusionProof.ts';
import type { LogLeaf__Output } from '../api/generated/lianxin/v1/LogLeaf.ts';
import type { NodeSignature__Output } from '../api/generated/lianxin/v1/NodeSignature.ts';
import { batchSigningInput, checkBatchPath } from './attestation-batch.ts';
import { toHex, utf8 } from './bytes.ts';
import {
  ATTESTATION_FORMAT,
  ATTESTATION_FORMAT_V1,
  ATTESTATION_SIGNATURE_CONTEXT,
  BATCH_SIGNATURE_MEMO_SIZE,
  CHECKPOINT_MEMO_SIZE,
  CLOCK_SKEW_MS,
  LOG_LEAF_VERSION,
} from './constants.ts';
import type { VerifierCrypto } from './crypto-port.ts';
import { decodeAttestation, decodeLogLeaf, encodeAttestation, type DecodedAttestation } from './evidence-codec.ts';
import { ReceiptsError } from './errors.ts';
import { verifyP256 } from './p256.ts';
import { step, STEP_IDS, type AttestationStepId, type VerificationStep } from './steps.ts';
import type { TrustBundle, TrustedKey } from './trust-bundle.ts';

export type AttestationRejectionCode =
  /** Not a well-formed v1 or v2 attestation: undecodable, a required field missing, or fields that contradict. */
  | 'BAD_FORMAT'
  /** Another attestation format or leaf version: a newer verifier is needed. */
  | 'UNSUPPORTED_FORMAT'
  /** The issuer is not an organisation of the bundle. */
  | 'UNKNOWN_ISSUER'
  /** The issuer is suspended in the registry. */
  | 'ISSUER_SUSPENDED'
  /** The node signature's kid is not a registered receipt key of the issuer. */
  | 'UNKNOWN_KEY'
  /** A key's validity window does not cover the time it signed at. */
  | 'KEY_NOT_VALID_AT_TIME'
  /** A key was revoked before the time it signed at. */
  | 'KEY_REVOKED'
  /** The issue time is later than the verifier's clock allows. */
  | 'ISSUED_IN_FUTURE'
  | 'BAD_NODE_SIGNATURE'
  /** v2: the attestation is not where its batch proof says under the signed batch root (changed or swapped). */
  | 'BAD_BATCH_PROOF'
  /** The checkpoint's log origin is not in the bundle. */
  | 'ORIGIN_NOT_REGISTERED'
  /** The origin belongs to another organisation than the issuer, or than the leaf's `org`. */
  | 'ORIGIN_NOT_OWNED'
  /** No signature line of the checkpoint verifies with a registered log key of the origin's organisation. */
  | 'BAD_CHECKPOINT_SIGNATURE'
  /** The leaf and proof do not lead to the checkpoint's root (a changed leaf or proof), or the proof is malformed. */
  | 'BAD_INCLUSION_PROOF'
  /** Anchored on another channel than the bundle's. */
  | 'WRONG_CHANNEL'
  /** Not yet anchored, and the caller required it. */
  | 'NOT_ANCHORED';

export interface AttestationRejection {
  readonly ok: false;
  readonly code: AttestationRejectionCode;
  /** One sentence naming what failed, for people. */
  readonly reason: string;
  /** The attestation field to blame, as a path (`inclusion.hashes`, `checkpoint.note`), when there is one. */
  readonly field?: string;
}

export interface VerifiedAttestation {
  readonly ok: true;
  readonly attestation: Attestation__Output;
  /** The decoded leaf; `leaf.entry` says whether it is a credit record or a contract. */
  readonly leaf: LogLeaf__Output;
  /** RFC 9162 leaf hash of the leaf bytes. */
  readonly leafHash: Uint8Array;
  readonly leafIndex: number;
  readonly origin: string;
  /** Tree size of the checkpoint. */
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly issuer: string;
  readonly issuedAtMs: number;
  readonly state: 'EVIDENCE_STATE_CHECKPOINTED' | 'EVIDENCE_STATE_ANCHORED';
  /** The claimed anchoring transaction, not checked against the chain here. Null while not anchored. */
  readonly anchor: ChainAnchor__Output | null;
  /** The issuer's receipt key that signed the attestation. */
  readonly receiptKey: TrustedKey;
  /** The log key whose checkpoint signature was accepted. */
  readonly logKey: TrustedKey;
}

export type AttestationVerification = VerifiedAttestation | AttestationRejection;

export interface VerifyAttestationOptions {
  /** The verifier's clock (default: now); attestations issued later than this plus a clock skew are refused. */
  readonly now?: Date | number;
  /** Refuse attestations whose checkpoint is not yet anchored on chain (`NOT_ANCHORED`). */
  readonly requireAnchored?: boolean;
}

/**
 * Verifies a serialized attestation (as received or read from a file) or a decoded one (as the gRPC client
 * hands it over, with defaults). Bytes are verified as they are; an object is first encoded deterministically.
 * @example
 * const result = verifyAttestation(await readFile(file), parseTrustBundle(await readFile(bundleFile, 'utf8')));
 * if (!result.ok) console.error(`${result.code}: ${result.reason}`);
 */
export function verifyAttestation(
  input: Uint8Array | Attestation,
  bundle: TrustBundle,
  options: VerifyAttestationOptions = {},
): AttestationVerification {
  return explainAttestation(input, bundle, options).verification;
}

export interface ExplainAttestationOptions extends VerifyAttestationOptions {
  /** SHA-256 of the document in hand (`--artifact`): the leaf must commit to it (record, document or receipt digest). */
  readonly artifactDigest?: Uint8Array;
}

export interface ExplainedAttestation {
  /** Every check passed, the artifact's included when one was given. */
  readonly ok: boolean;
  /** The verdict `verifyAttestation` gives (the artifact is not part of it). */
  readonly verification: AttestationVerification;
  /** Each check in order: passed, failed (the first failure stops the run) or not reached. */
  readonly steps: readonly VerificationStep[];
}

/**
 * `verifyAttestation` as a list of named checks, for people: what `lianxin verify` prints and the Verify page
 * shows. With `artifactDigest`, a last check compares it to the digest the leaf commits to.
 */
export function explainAttestation(
  input: Uint8Array | Attestation,
  bundle: TrustBundle,
  options: ExplainAttestationOptions = {},
): ExplainedAttestation {
  const now = clockOf(options.now);
  const run = new StepRun(options.artifactDigest !== undefined);
  let decoded: DecodedAttestation;
  try {
    decoded = decode(input);
  } catch (err) {
    if (!(err instanceof ReceiptsError)) throw err;
    return run.fail('format', reject('BAD_FORMAT', err.message, err.field));
  }
  const verification = verifyDecoded(decoded, bundle, { ...options, now }, run);
  if (!verification.ok) return run.fail(run.current, verification);
  if (options.artifactDigest === undefined) return run.done(verification);
  const about = committedDigest(verification.leaf);
  if (!equalBytes(about.digest, options.artifactDigest)) {
    return run.fail(
      'artifact',
      {
        code: 'ARTIFACT_MISMATCH',
        reason: `it is about the ${about.what} sha256:${toHex(about.digest)}, not the artifact (sha256:${toHex(options.artifactDigest)})`,
      },
      verification,
    );
  }
  run.pass('artifact', `the artifact's SHA-256 is the ${about.what} digest ${toHex(about.digest)}`);
  return run.done(verification);
}

/**
 * What a leaf is about: the digest of the credit record, contract document or access receipt it commits to.
 * @throws ReceiptsError `MALFORMED_ATTESTATION` (field `leaf`) for a leaf with no entry, which verification refuses.
 */
export function committedDigest(leaf: LogLeaf__Output): {
  readonly what: 'record' | 'document' | 'access receipt';
  readonly digest: Uint8Array;
} {
  if (leaf.entry === 'creditRecord' && leaf.creditRecord)
    return { what: 'record', digest: leaf.creditRecord.recordDigest };
  if (leaf.entry === 'contract' && leaf.contract) return { what: 'document', digest: leaf.contract.documentDigest };
  if (leaf.entry === 'access' && leaf.access) return { what: 'access receipt', digest: leaf.access.receiptDigest };
  throw new ReceiptsError(
    'MALFORMED_ATTESTATION',
    'leaf holds no evidence entry (credit record, contract, access)',
    'leaf',
  );
}

/**
 * The verifier's clock in milliseconds. An invalid Date (NaN) would compare false with every issue time and so
 * silently turn ISSUED_IN_FUTURE off: refused instead.
 * @throws ReceiptsError `INVALID_OPTION` on field `now`.
 */
function clockOf(now: Date | number | undefined): number {
  if (now === undefined) return Date.now();
  const ms = Number(now);
  if (!Number.isFinite(ms))
    throw new ReceiptsError('INVALID_OPTION', `"now" must be a valid time, got ${String(now)}`, 'now');
  return ms;
}

/** Records the steps of one run: the current step, passes, and on failure the steps never reached. */
class StepRun {
  readonly #steps: VerificationStep[] = [];
  readonly #artifact: boolean;
  current: AttestationStepId = 'format';

  constructor(artifact: boolean) {
    this.#artifact = artifact;
  }

  /** Moves on to `id`: the checks made from now belong to it. */
  enter(id: AttestationStepId): void {
    this.current = id;
  }

  pass(id: AttestationStepId, detail: string): void {
    this.#steps.push(step(id, 'passed', detail));
  }

  fail(
    id: AttestationStepId,
    failure: { code: string; reason: string; field?: string },
    verified?: VerifiedAttestation,
  ): ExplainedAttestation {
    this.#steps.push(step(id, 'failed', failure.reason, failure));
    for (const later of STEP_IDS.slice(STEP_IDS.indexOf(id) + 1)) {
      this.#steps.push(step(later, later === 'artifact' && !this.#artifact ? 'not-requested' : 'not-reached', ''));
    }
    const verification = verified ?? (failure as AttestationRejection);
    return { ok: false, verification, steps: this.#steps };
  }

  done(verification: VerifiedAttestation): ExplainedAttestation {
    if (!this.#artifact) this.#steps.push(step('artifact', 'not-requested', 'no artifact given'));
    return { ok: true, verification, steps: this.#steps };
  }
}

function decode(input: Uint8Array | Attestation): DecodedAttestation {
  if (input instanceof Uint8Array) return decodeAttestation(input);
  let bytes: Uint8Array;
  try {
    bytes = encodeAttestation(input);
  } catch (err) {
    throw new ReceiptsError(
      'MALFORMED_ATTESTATION',
      `attestation object does not fit lianxin.v1.Attestation: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
  return decodeAttestation(bytes);
}

/** The attestation with its required parts present and its checkpoint note parsed. */
interface Shaped {
  readonly a: Attestation__Output;
  readonly unsigned: Uint8Array;
  readonly signature: NodeSignature__Output;
  /** v2: where the attestation is in the batch its signature covers; null for v1. */
  readonly batch: AttestationBatch__Output | null;
  readonly inclusion: InclusionProof__Output;
  readonly note: string;
  readonly cp: Checkpoint;
}

function verifyDecoded(
  decoded: DecodedAttestation,
  bundle: TrustBundle,
  options: VerifyAttestationOptions & { readonly now: number },
  run: StepRun,
): AttestationVerification {
  const shaped = checkShape(decoded);
  if ('ok' in shaped) return shaped;
  const { a, inclusion, cp } = shaped;
  run.pass(
    'format',
    `${a.format} from ${a.issuer}, issued ${iso(a.issuedAtMs)}, ${a.state.replace('EVIDENCE_STATE_', '')}`,
  );

  const receiptKey = checkNodeSignature(shaped, bundle, options.now, run);
  if ('ok' in receiptKey) return receiptKey;
  const what = shaped.batch === null ? '' : `the root of its batch of ${shaped.batch.size}, `;
  run.pass(
    'node-signature',
    `${what}signed by receipt key ${receiptKey.kid} of ${a.issuer} (valid from ${receiptKey.validFrom}${receiptKey.validUntil === null ? '' : ` until ${receiptKey.validUntil}`})`,
  );

  run.enter('leaf-hash');
  let leaf: LogLeaf__Output;
  try {
    leaf = decodeLogLeaf(a.leaf);
  } catch (err) {
    if (!(err instanceof ReceiptsError)) throw err;
    return reject('BAD_FORMAT', err.message, err.field);
  }
  if (leaf.version !== LOG_LEAF_VERSION)
    return reject('UNSUPPORTED_FORMAT', `leaf version ${leaf.version} is not ${LOG_LEAF_VERSION}`, 'leaf');
  if (leaf.entry === undefined)
    return reject('BAD_FORMAT', 'leaf holds no evidence entry (credit record, contract, access)', 'leaf');
  if (leaf.org !== a.issuer)
    return reject('ORIGIN_NOT_OWNED', `the leaf is ${leaf.org}'s, not the issuer ${a.issuer}'s`, 'leaf');
  const merkle = merkleOf(bundle.crypto);
  const leafHash = merkle.hashLeaf(a.leaf);
  run.pass('leaf-hash', `${leaf.entry} leaf of ${leaf.org}, leaf hash ${toHex(leafHash)}`);

  run.enter('checkpoint-signature');
  const logKey = checkCheckpoint(shaped, bundle);
  if ('ok' in logKey) return logKey;
  run.pass(
    'checkpoint-signature',
    `checkpoint ${cp.origin} at size ${cp.size} signed by log key ${logKey.kid} (valid from ${logKey.validFrom}${logKey.validUntil === null ? '' : ` until ${logKey.validUntil}`}, ${logKey.status})`,
  );

  run.enter('inclusion-proof');
  // RFC 9162 §2.1.3.2: the leaf is in the tree the checkpoint commits to.
  if (BigInt(inclusion.treeSize) !== cp.size) {
    return reject(
      'BAD_INCLUSION_PROOF',
      `inclusion proof is for tree size ${inclusion.treeSize}, the checkpoint's size is ${cp.size}`,
      'inclusion.treeSize',
    );
  }
  try {
    merkle.verifyInclusion(BigInt(inclusion.leafIndex), cp.size, leafHash, inclusion.hashes, cp.rootHash);
  } catch (err) {
    if (!(err instanceof MerkleProofError)) throw err;
    return reject(
      'BAD_INCLUSION_PROOF',
      `leaf ${inclusion.leafIndex} is not proven in ${cp.origin} at size ${cp.size}: ${err.message}`,
      'inclusion',
    );
  }
  run.pass(
    'inclusion-proof',
    `leaf ${inclusion.leafIndex} of ${cp.size}: ${inclusion.hashes.length} hashes lead to root ${toHex(cp.rootHash)}`,
  );

  run.enter('anchor');
  if (a.anchor !== null && a.anchor.channel !== bundle.json.channel) {
    return reject(
      'WRONG_CHANNEL',
      `anchored on channel "${a.anchor.channel}", the trust bundle is for "${bundle.json.channel}"`,
      'anchor.channel',
    );
  }
  if (options.requireAnchored === true && a.anchor === null) {
    return reject('NOT_ANCHORED', `checkpoint ${cp.origin} at size ${cp.size} is not anchored on chain yet`, 'state');
  }
  run.pass(
    'anchor',
    a.anchor === null
      ? 'not anchored on chain yet (CHECKPOINTED)'
      : `claimed: channel ${a.anchor.channel}, transaction ${a.anchor.transactionId}, block ${a.anchor.blockNumber} (not looked up offline)`,
  );
  return {
    ok: true,
    attestation: a,
    leaf,
    leafHash,
    leafIndex: inclusion.leafIndex,
    origin: cp.origin,
    size: Number(cp.size),
    rootHash: cp.rootHash,
    issuer: a.issuer,
    issuedAtMs: a.issuedAtMs,
    state: a.state === 'EVIDENCE_STATE_ANCHORED' ? a.state : 'EVIDENCE_STATE_CHECKPOINTED',
    anchor: a.anchor,
    receiptKey,
    logKey,
  };
}

/** Required parts present, state and anchor consistent, the note parsed and agreeing with its parsed copy. */
function checkShape({ attestation: a, unsigned, repeated }: DecodedAttestation): Shaped | AttestationRejection {
  if (a.format !== ATTESTATION_FORMAT && a.format !== ATTESTATION_FORMAT_V1) {
    return a.format === ''
      ? reject('BAD_FORMAT', '"format" is missing', 'format')
      : reject(
          'UNSUPPORTED_FORMAT',
          `format "${a.format}" is not ${ATTESTATION_FORMAT} or ${ATTESTATION_FORMAT_V1}`,
          'format',
        );
  }
  const { signature, inclusion, checkpoint, batch } = a;
  if (signature === null) return reject('BAD_FORMAT', '"signature" is missing', 'signature');
  if (unsigned === undefined) {
    const field = repeated ?? 'signature';
    return reject('BAD_FORMAT', `"${field}" appears more than once on the wire`, field);
  }
  if (a.format === ATTESTATION_FORMAT && batch === null)
    return reject('BAD_FORMAT', `"batch" is missing: ${ATTESTATION_FORMAT} is signed per batch`, 'batch');
  if (a.format === ATTESTATION_FORMAT_V1 && batch !== null)
    return reject('BAD_FORMAT', `"batch" is set, but ${ATTESTATION_FORMAT_V1} is signed alone`, 'batch');
  if (inclusion === null) return reject('BAD_FORMAT', '"inclusion" is missing', 'inclusion');
  if (checkpoint === null) return reject('BAD_FORMAT', '"checkpoint" is missing', 'checkpoint');
  if (!Number.isSafeInteger(a.issuedAtMs) || a.issuedAtMs <= 0) {
    return reject('BAD_FORMAT', '"issuedAtMs" must be a positive Unix time in milliseconds', 'issuedAtMs');
  }
  if (!Number.isSafeInteger(inclusion.leafIndex))
    return reject('BAD_FORMAT', '"inclusion.leafIndex" is beyond 2^53', 'inclusion.leafIndex');
  if (a.state === 'EVIDENCE_STATE_ANCHORED') {
    if (a.anchor === null || a.anchor.channel === '' || a.anchor.transactionId === '') {
      return reject('BAD_FORMAT', 'state is ANCHORED but "anchor" lacks a channel or transaction', 'anchor');
    }
  } else if (a.state === 'EVIDENCE_STATE_CHECKPOINTED') {
    if (a.anchor !== null) return reject('BAD_FORMAT', 'state is CHECKPOINTED but an "anchor" is present', 'anchor');
  } else {
    return reject(
      'BAD_FORMAT',
      `state ${a.state} cannot carry a signed checkpoint: must be CHECKPOINTED or ANCHORED`,
      'state',
    );
  }
  const parsed = parseCheckpoint(checkpoint.note);
  if (!parsed.ok)
    return reject(
      'BAD_FORMAT',
      `"checkpoint.note" is not a C2SP signed checkpoint: ${parsed.reason}`,
      'checkpoint.note',
    );
  const cp = parsed.checkpoint;
  // SignedCheckpoint's parsed fields are a convenience: they must agree with the note that is signed.
  if (checkpoint.origin !== cp.origin)
    return reject('BAD_FORMAT', '"checkpoint.origin" differs from the signed note', 'checkpoint.origin');
  if (BigInt(checkpoint.size) !== cp.size)
    return reject('BAD_FORMAT', '"checkpoint.size" differs from the signed note', 'checkpoint.size');
  if (!equalBytes(checkpoint.rootHash, cp.rootHash)) {
    return reject('BAD_FORMAT', '"checkpoint.rootHash" differs from the signed note', 'checkpoint.rootHash');
  }
  if (cp.size > BigInt(Number.MAX_SAFE_INTEGER))
    return reject('BAD_FORMAT', 'checkpoint size is beyond 2^53', 'checkpoint.note');
  return { a, unsigned, signature, batch, inclusion, note: checkpoint.note, cp };
}

/**
 * The issuer is an active member and its receipt key, valid at the issue time, signed the received bytes: v1
 * directly; v2 through the attestation's path to the batch root it signed, checked first (step `batch-proof`:
 * hashing only, so a changed or swapped attestation costs no ECDSA verification).
 */
function checkNodeSignature(
  { a, unsigned, signature, batch }: Shaped,
  bundle: TrustBundle,
  now: number,
  run: StepRun,
): TrustedKey | AttestationRejection {
  run.enter('batch-proof');
  if (batch === null) {
    run.pass('batch-proof', `none: ${ATTESTATION_FORMAT_V1} is signed alone`);
  } else {
    const merkle = merkleOf(bundle.crypto);
    const problem = checkBatchPath(merkle, merkle.hashLeaf(unsigned), batch);
    if (problem !== undefined) return reject('BAD_BATCH_PROOF', problem.reason, problem.field);
    run.pass(
      'batch-proof',
      `attestation ${batch.index} of a batch of ${batch.size}: ${batch.path.length} hashes lead to batch root ${toHex(batch.root)}`,
    );
  }
  run.enter('node-signature');
  const issuer = bundle.organization(a.issuer);
  if (issuer === undefined)
    return reject('UNKNOWN_ISSUER', `issuer "${a.issuer}" is not an organisation of the trust bundle`, 'issuer');
  if (issuer.status !== 'active')
    return reject('ISSUER_SUSPENDED', `issuer ${a.issuer} is ${issuer.status} in the registry`, 'issuer');
  const key = bundle.key(a.issuer, signature.kid);
  if (key === undefined)
    return reject('UNKNOWN_KEY', `key ${signature.kid} is not registered for ${a.issuer}`, 'signature.kid');
  if (key.role !== 'receipt')
    return reject(
      'UNKNOWN_KEY',
      `key ${signature.kid} of ${a.issuer} is a ${key.role} key, not a receipt key`,
      'signature.kid',
    );
  if (a.issuedAtMs > now + CLOCK_SKEW_MS) {
    return reject(
      'ISSUED_IN_FUTURE',
      `issued at ${iso(a.issuedAtMs)}, later than the verifier's clock ${iso(now)}`,
      'issuedAtMs',
    );
  }
  const window = windowStartProblem(key, a.issuedAtMs) ?? windowEndProblem(key, a.issuedAtMs);
  if (window !== undefined) return window;
  if (signature.suite !== key.suite)
    return reject(
      'BAD_NODE_SIGNATURE',
      `suite "${signature.suite}" is not the key's suite ${key.suite}`,
      'signature.suite',
    );
  if (batch !== null) return checkBatchSignature(batch, signature, key, bundle) ?? key;
  const signingInput = attestationSigningInput(bundle.crypto, unsigned);
  const verified = verifyP256(bundle.crypto, key.publicKey, signingInput, signature.signature);
  if (!verified.ok) {
    return reject(
      'BAD_NODE_SIGNATURE',
      `node signature does not verify with receipt key ${key.kid} of ${a.issuer}: ${verified.reason}`,
      'signature.signature',
    );
  }
  return key;
}

/**
 * v2: the receipt key signed the batch's root and size. Every attestation of a batch carries the same root and
 * signature, so the check is remembered per bundle: a verifier of a whole stream pays one ECDSA verify per batch.
 */
function checkBatchSignature(
  batch: AttestationBatch__Output,
  signature: NodeSignature__Output,
  key: TrustedKey,
  bundle: TrustBundle,
): AttestationRejection | undefined {
  const memo = memoOf(batchSignatureMemo, bundle);
  const id = `${key.kid}\n${batch.size}\n${toHex(batch.root)}\n${toHex(signature.signature)}`;
  let valid = memo.get(id);
  if (valid === undefined) {
    const verified = verifyP256(
      bundle.crypto,
      key.publicKey,
      batchSigningInput(batch.size, batch.root),
      signature.signature,
    );
    valid = verified.ok ? true : verified.reason;
    if (memo.size >= BATCH_SIGNATURE_MEMO_SIZE) memo.delete(memo.keys().next().value ?? '');
    memo.set(id, valid);
  }
  if (valid === true) return undefined;
  return reject(
    'BAD_NODE_SIGNATURE',
    `batch signature does not verify with receipt key ${key.kid} of ${key.mspId}: ${valid}`,
    'signature.signature',
  );
}

/** The checkpoint's origin is the issuer's (and so the leaf's), and a log key of that organisation signed it. */
function checkCheckpoint({ a, note, cp }: Shaped, bundle: TrustBundle): TrustedKey | AttestationRejection {
  const owner = bundle.originOwner(cp.origin);
  if (owner === undefined)
    return reject(
      'ORIGIN_NOT_REGISTERED',
      `log origin "${cp.origin}" is not registered in the trust bundle`,
      'checkpoint.note',
    );
  if (owner !== a.issuer)
    return reject(
      'ORIGIN_NOT_OWNED',
      `log origin ${cp.origin} is registered to ${owner}, not to the issuer ${a.issuer}`,
      'checkpoint.note',
    );
  return checkpointKey(bundle, note, cp, owner, a.issuedAtMs);
}

/**
 * The checkpoint carries no time, but it existed when the attestation was issued, so its log key signed at or
 * before `issuedAtMs`. A rotated or expired log key keeps vouching for the checkpoints it signed in its window
 * (the chain accepted them only then); a revoked one, presumed compromised, only in attestations issued before
 * the revocation — which the separate receipt key dates.
 */
function logKeyProblem(key: TrustedKey, at: number): AttestationRejection | undefined {
  return windowStartProblem(key, at) ?? (key.status === 'revoked' ? windowEndProblem(key, at) : undefined);
}

function windowStartProblem(key: TrustedKey, at: number): AttestationRejection | undefined {
  if (at >= key.validFromMs) return undefined;
  return reject(
    'KEY_NOT_VALID_AT_TIME',
    `${key.role} key ${key.kid} of ${key.mspId} is valid from ${key.validFrom}, after the issue time ${iso(at)}`,
    'issuedAtMs',
  );
}

/** A window closed before `at`: by revocation, or by rotation or expiry (chaincode registry.ts isKeyValidAt). */
function windowEndProblem(key: TrustedKey, at: number): AttestationRejection | undefined {
  if (key.validUntil === null || key.validUntilMs === null || at < key.validUntilMs) return undefined;
  return key.status === 'revoked'
    ? reject(
        'KEY_REVOKED',
        `${key.role} key ${key.kid} of ${key.mspId} was revoked at ${key.validUntil}, before the issue time ${iso(at)}`,
        'issuedAtMs',
      )
    : reject(
        'KEY_NOT_VALID_AT_TIME',
        `${key.role} key ${key.kid} of ${key.mspId} is ${key.status}, valid until ${key.validUntil}, before the issue time ${iso(at)}`,
        'issuedAtMs',
      );
}

/**
 * signed-note: signatures by other names or unknown keys are ignored (witness cosignatures may ride along); one
 * signature named for the origin must verify with a registered log key of the origin's organisation whose key
 * ID (the kid's first 4 bytes) it carries — the rule AnchorCheckpoint applies on chain.
 */
function checkpointKey(
  bundle: TrustBundle,
  note: string,
  cp: Checkpoint,
  owner: string,
  issuedAtMs: number,
): TrustedKey | AttestationRejection {
  const memo = memoOf(checkpointMemo, bundle);
  const message = utf8(cp.body);
  // Keyed by the note's SHA-256, not the note (up to 16K characters): 4,096 entries stay small.
  let noteDigest: string | undefined;
  let outOfTime: AttestationRejection | undefined;
  for (const key of bundle.keysOf(owner, 'log')) {
    for (const [i, line] of cp.signatures.entries()) {
      if (line.name !== cp.origin || !equalBytes(line.keyId, key.noteKeyId)) continue;
      noteDigest ??= toHex(bundle.crypto.sha256(utf8(note)));
      const id = `${i}\n${key.kid}\n${noteDigest}`;
      let valid = memo.get(id);
      if (valid === undefined) {
        valid = verifyP256(bundle.crypto, key.publicKey, message, line.signature).ok;
        if (memo.size >= CHECKPOINT_MEMO_SIZE) memo.delete(memo.keys().next().value ?? '');
        memo.set(id, valid);
      }
      if (!valid) continue;
      const problem = logKeyProblem(key, issuedAtMs);
      if (problem === undefined) return key;
      outOfTime ??= problem;
    }
  }
  return (
    outOfTime ??
    reject(
      'BAD_CHECKPOINT_SIGNATURE',
      `no signature on checkpoint ${cp.origin} at size ${cp.size} verifies with a registered log key of ${owner}`,
      'checkpoint.note',
    )
  );
}

/** Checkpoint signatures already verified, per bundle: a pure function of (key, note digest), so safe to remember. */
const checkpointMemo = new WeakMap<TrustBundle, Map<string, boolean>>();

/** Batch signatures already checked, per bundle: true, or why not; a pure function of (key, size, root, signature). */
const batchSignatureMemo = new WeakMap<TrustBundle, Map<string, true | string>>();

function memoOf<V>(memos: WeakMap<TrustBundle, Map<string, V>>, bundle: TrustBundle): Map<string, V> {
  let memo = memos.get(bundle);
  if (memo === undefined) {
    memo = new Map();
    memos.set(bundle, memo);
  }
  return memo;
}

/** What a v1 receipt key signs (ECDSA hashes it once more with SHA-256): context ‖ SHA-256(unsigned bytes). */
export function attestationSigningInput(crypto: VerifierCrypto, unsignedBytes: Uint8Array): Uint8Array {
  const digest = crypto.sha256(unsignedBytes);
  const input = new Uint8Array(SIGNATURE_CONTEXT_BYTES.length + digest.length);
  input.set(SIGNATURE_CONTEXT_BYTES);
  input.set(digest, SIGNATURE_CONTEXT_BYTES.length);
  return input;
}

const SIGNATURE_CONTEXT_BYTES = utf8(ATTESTATION_SIGNATURE_CONTEXT);

/** One Merkle instance per backend. */
const merkles = new WeakMap<VerifierCrypto, Merkle>();

function merkleOf(crypto: VerifierCrypto): Merkle {
  let merkle = merkles.get(crypto);
  if (merkle === undefined) {
    merkle = createMerkle((...parts) => crypto.sha256(...parts));
    merkles.set(crypto, merkle);
  }
  return merkle;
}

function reject(code: AttestationRejectionCode, reason: string, field?: string): AttestationRejection {
  return field === undefined ? { ok: false, code, reason } : { ok: false, code, reason, field };
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
