/**
 * NotaryService: a supply-chain platform notarizes contract evidence in its own log and gets a receipt with the
 * same proof shape as a credit-record attestation. A receipt is CHECKPOINTED when issued (the node signs a
 * checkpoint covering the leaf at once); GetNotarization later gives it ANCHORED. The notarization also goes on
 * chain (NotarizeEvidence, node/notary): Notarize waits a bounded time for that commit and answers with the
 * chain's record, or PENDING; GetNotarization on any node answers from the chain for documents it did not notarize.
 */
import { canonicalJson, checkParties, checkUscc, USCC_LIKE, type UsccMode } from '../../chaincode/src/protocol.ts';
import { invalidArgument, NodeError } from '../api/errors.ts';
import type { AdmissionMode } from '../bootstrap/uscc-mode.ts';
import type { ContractEvidence__Output } from '../api/generated/lianxin/v1/ContractEvidence.ts';
import type { NotarizeRequest__Output } from '../api/generated/lianxin/v1/NotarizeRequest.ts';
import type { NotaryServiceImpl } from '../api/handlers.ts';
import { ChainError, type LianxinChain } from '../ledger/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import {
  chainFields,
  signaturesByParty,
  toChainEvidence,
  type ChainName,
  type ChainNotarization,
  type EvidenceNotarizer,
} from '../notary/index.ts';
import type { AttestationBuilder } from './attestation-builder.ts';
import type { NotaryStore } from './notary-store.ts';

export interface NotaryServiceComponents extends ChainName {
  readonly notary: Pick<NotaryStore, 'notarize' | 'leafIndexOf'>;
  readonly notarizer: Pick<EvidenceNotarizer, 'settled' | 'state' | 'wake'>;
  readonly chain: Pick<LianxinChain, 'listEvidenceByDigest' | 'getOrganization' | 'getSettings' | 'blockNumberOf'>;
  readonly builder: AttestationBuilder;
  readonly log: Pick<TransparencyLog, 'latestCheckpoint' | 'checkpoint'>;
  /** The USCC mode enterprise parties are admitted in, read at each call. */
  readonly admission: AdmissionMode;
  /** The platform: this node's organisation. */
  readonly mspId: string;
  /** How long Notarize waits for NotarizeEvidence to commit before answering PENDING. */
  readonly chainWaitMs: number;
}

/** evidence.proto: at most 16 non-confidential labels. */
const MAX_LABELS = 16;
const LABEL_KEY = /^[a-z][a-z0-9_.-]{0,63}$/;
/** Printable text without control characters. */
const LABEL_VALUE = /^[^\p{Cc}]{1,256}$/u;
const DIGEST_BYTES = 32;

export function createNotaryService(c: Readonly<NotaryServiceComponents>): NotaryServiceImpl {
  return {
    async Notarize(request, { signal, logger }) {
      requireDigest('document_digest', request.documentDigest);
      // A repeat of a notarization this node logged gets a fresh receipt for its leaf (node.proto), whatever the
      // chain or the USCC modes say now: its parties were admitted when it was logged, and NotaryStore refuses a
      // repeat with other evidence.
      const repeat = (await c.notary.leafIndexOf(request.documentDigest)) !== undefined;
      const contract = validate(request, repeat ? 'lenient' : c.admission.usccMode);
      let chainUp = true;
      try {
        if (!repeat) await checkAgainstChain(contract, c);
      } catch (err) {
        if (!(err instanceof ChainError && err.retryable)) throw err;
        refuseUncheckedParties(contract, err);
        // The notarization is durable without the chain: the worker submits it once the chain is back.
        logger.warn({ err }, 'could not check the notarization against the chain; notarizing without waiting for it');
        chainUp = false;
      }
      const { leafIndex } = await c.notary.notarize(contract);
      // The marker is written: the worker submits it even if signing the checkpoint below fails.
      c.notarizer.wake();
      // Sign a checkpoint covering the leaf now rather than within T, so the receipt can be issued at once.
      if ((c.log.latestCheckpoint()?.size ?? 0) <= leafIndex) await c.log.checkpoint();
      const onChain = await c.notarizer.settled(
        contract.documentDigest,
        AbortSignal.any([signal, AbortSignal.timeout(chainUp ? c.chainWaitMs : 0)]),
      );
      if (onChain?.state === 'refused') throw refusal(contract.documentDigest, onChain);
      return { receipt: await c.builder.attest(leafIndex), ...chainFields(onChain, c) };
    },

    async GetNotarization({ documentDigest }) {
      requireDigest('document_digest', documentDigest);
      const leafIndex = await c.notary.leafIndexOf(documentDigest);
      if (leafIndex !== undefined) {
        const [receipt, onChain] = await Promise.all([c.builder.attest(leafIndex), c.notarizer.state(documentDigest)]);
        return { receipt, ...chainFields(onChain, c) };
      }
      const hex = documentDigest.toString('hex');
      const evidence = await c.chain.listEvidenceByDigest(hex);
      if (evidence.length === 0) {
        throw new NodeError('NOT_FOUND', `document ${hex} is notarized neither on this node nor on chain`);
      }
      // The chain's record keeps the transaction, not its block, by which a regulator dates the notarization.
      const blocks = await Promise.all(evidence.map((e) => c.chain.blockNumberOf(e.txId)));
      return { chainEvidence: evidence.map((e, i) => toChainEvidence(e, c, Number(blocks[i]))) };
    },
  };
}

/**
 * Refuses, before anything is logged, what NotarizeEvidence would refuse for good: an institution party that is
 * not registered, an enterprise code the registry's USCC mode refuses (changed by SetUsccMode since the node
 * started in its mode), or the document notarized on chain by this platform with other parties or signatures.
 * @throws ChainError when the chain cannot be asked.
 */
async function checkAgainstChain(
  contract: ContractEvidence__Output,
  c: Pick<NotaryServiceComponents, 'chain' | 'mspId'>,
): Promise<void> {
  const hex = contract.documentDigest.toString('hex');
  const [evidence, organizations, settings] = await Promise.all([
    c.chain.listEvidenceByDigest(hex),
    Promise.all(
      contract.parties.map((party) => (USCC_LIKE.test(party) ? Promise.resolve(null) : c.chain.getOrganization(party))),
    ),
    c.chain.getSettings(),
  ]);
  organizations.forEach((org, i) => {
    if (org === undefined) throw invalidArgument(`parties[${i}]`, 'must be an organisation registered on chain');
  });
  const registryMode = settings?.usccMode ?? 'strict';
  const checked = checkParties(contract.parties, registryMode);
  if (!checked.ok) {
    throw invalidArgument(checked.field, `${checked.requirement} (the registry's USCC mode is ${registryMode})`);
  }
  const own = evidence.find((e) => e.platform === c.mspId);
  if (own === undefined) return;
  // The chaincode's own comparison (chaincode/src/evidence.ts): canonical JSON of parties and signature maps.
  const same =
    canonicalJson(own.parties.map((p) => p.id)) === canonicalJson(contract.parties) &&
    canonicalJson(own.partySignatureDigests) === canonicalJson(signaturesByParty(contract));
  if (!same) {
    throw new NodeError(
      'ALREADY_EXISTS',
      `document ${hex} is already notarized on chain by ${c.mspId} with other parties or signatures (transaction ${own.txId})`,
      { field: 'document_digest' },
    );
  }
}

/**
 * With the chain unreachable, a notarization is logged only when NotarizeEvidence cannot refuse it for its parties
 * once the chain is back: each an enterprise whose code is right in either USCC mode. An institution party (is it
 * registered?) or a code with a wrong check character (is the registry lenient?) is refused UNAVAILABLE, to be sent
 * again: logged, a mistyped party would be refused on chain for good and never corrected, its digest being taken.
 */
function refuseUncheckedParties(contract: ContractEvidence__Output, cause: ChainError): void {
  const i = contract.parties.findIndex((party) => !USCC_LIKE.test(party) || !checkUscc(party, 'strict').valid);
  if (i === -1) return;
  const field = `parties[${i}]`;
  throw new NodeError(
    'UNAVAILABLE',
    `"${field}" ${contract.parties[i] ?? ''} cannot be checked against the chain now (${cause.message}): retry once the ledger answers`,
    { field, cause },
  );
}

function refusal(documentDigest: Buffer, refused: Extract<ChainNotarization, { state: 'refused' }>): NodeError {
  const message = `the chain refused the notarization of document ${documentDigest.toString('hex')}: ${refused.reason}`;
  return refused.code === 'EVIDENCE_CONFLICT'
    ? new NodeError('ALREADY_EXISTS', message, { field: 'document_digest' })
    : new NodeError('FAILED_PRECONDITION', message);
}

/**
 * The request, its digest already checked, as the leaf's ContractEvidence, parties normalized; throws
 * INVALID_ARGUMENT naming the field.
 */
function validate(request: NotarizeRequest__Output, usccMode: UsccMode): ContractEvidence__Output {
  const { partySignatureDigests, labels } = request;
  // The chaincode's own rule (NotarizeEvidence): what passes here is what the chain will take.
  const checked = checkParties(request.parties, usccMode);
  if (!checked.ok) throw invalidArgument(checked.field, checked.requirement);
  const parties = checked.parties.map((party) => party.id);
  if (partySignatureDigests.length > parties.length) {
    throw invalidArgument('party_signature_digests', 'must hold at most one signature digest per party');
  }
  partySignatureDigests.forEach((digest, i) => {
    requireDigest(`party_signature_digests[${i}]`, digest);
  });
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw invalidArgument('labels', `must hold at most ${MAX_LABELS} entries`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) {
      throw invalidArgument('labels', `key ${JSON.stringify(key)} must match [a-z][a-z0-9_.-]{0,63}`);
    }
    if (!LABEL_VALUE.test(value)) {
      throw invalidArgument(`labels.${key}`, 'must be 1 to 256 characters without control characters');
    }
  }
  return { documentDigest: request.documentDigest, parties, partySignatureDigests, labels };
}

function requireDigest(field: string, digest: Uint8Array): void {
  if (digest.length !== DIGEST_BYTES) {
    throw invalidArgument(field, `must be a SHA-256 digest of ${DIGEST_BYTES} bytes, got ${digest.length}`);
  }
}
