/**
 * NotaryService: a supply-chain platform notarizes contract evidence in its own log and gets a receipt with the
 * same proof shape as a credit-record attestation. A receipt is CHECKPOINTED when issued (the node signs a
 * checkpoint covering the leaf at once); GetNotarization later gives it ANCHORED.
 */
import { MSP_ID } from '../../chaincode/src/validation.ts';
import { checkUscc, type UsccMode } from '../../chaincode/src/uscc.ts';
import { invalidArgument, NodeError } from '../api/errors.ts';
import type { ContractEvidence__Output } from '../api/generated/lianxin/v1/ContractEvidence.ts';
import type { NotarizeRequest__Output } from '../api/generated/lianxin/v1/NotarizeRequest.ts';
import type { NotaryServiceImpl } from '../api/handlers.ts';
import type { TransparencyLog } from '../log/index.ts';
import type { AttestationBuilder } from './attestation-builder.ts';
import type { NotaryStore } from './notary-store.ts';

export interface NotaryServiceComponents {
  readonly notary: Pick<NotaryStore, 'notarize' | 'leafIndexOf'>;
  readonly builder: AttestationBuilder;
  readonly log: Pick<TransparencyLog, 'latestCheckpoint' | 'checkpoint'>;
  readonly usccMode: UsccMode;
}

/** As the chaincode's NotarizeEvidence bounds them (chaincode/src/evidence.ts). */
const MAX_PARTIES = 32;
/** An 18-character code is a USCC; anything else must be an MSP ID (the chaincode's rule). */
const USCC_LIKE = /^[0-9A-Za-z]{18}$/;
/** evidence.proto: at most 16 non-confidential labels. */
const MAX_LABELS = 16;
const LABEL_KEY = /^[a-z][a-z0-9_.-]{0,63}$/;
/** Printable text without control characters. */
const LABEL_VALUE = /^[^\p{Cc}]{1,256}$/u;
const DIGEST_BYTES = 32;

export function createNotaryService(c: Readonly<NotaryServiceComponents>): NotaryServiceImpl {
  const receiptOf = async (leafIndex: number) => ({ receipt: await c.builder.attest(leafIndex) });

  return {
    async Notarize(request) {
      const contract = validate(request, c.usccMode);
      const { leafIndex } = await c.notary.notarize(contract);
      // Sign a checkpoint covering the leaf now rather than within T, so the receipt can be issued at once.
      if ((c.log.latestCheckpoint()?.size ?? 0) <= leafIndex) await c.log.checkpoint();
      return receiptOf(leafIndex);
    },

    async GetNotarization({ documentDigest }) {
      requireDigest('document_digest', documentDigest);
      const leafIndex = await c.notary.leafIndexOf(documentDigest);
      if (leafIndex === undefined) {
        throw new NodeError('NOT_FOUND', `document ${documentDigest.toString('hex')} is not notarized on this node`);
      }
      return receiptOf(leafIndex);
    },
  };
}

/** The request as the leaf's ContractEvidence, parties normalized; throws INVALID_ARGUMENT naming the field. */
function validate(request: NotarizeRequest__Output, usccMode: UsccMode): ContractEvidence__Output {
  requireDigest('document_digest', request.documentDigest);
  const { parties: given, partySignatureDigests, labels } = request;
  if (given.length === 0 || given.length > MAX_PARTIES) {
    throw invalidArgument('parties', `must name 1 to ${MAX_PARTIES} parties, got ${given.length}`);
  }
  const parties = given.map((party, i) => {
    if (USCC_LIKE.test(party)) {
      const uscc = checkUscc(party, usccMode);
      if (!uscc.valid) throw invalidArgument(`parties[${i}]`, 'must be a valid Unified Social Credit Code');
      return uscc.code;
    }
    if (!MSP_ID.test(party))
      throw invalidArgument(`parties[${i}]`, 'must be a Unified Social Credit Code or an MSP ID');
    return party;
  });
  parties.forEach((party, i) => {
    if (parties.indexOf(party) !== i) throw invalidArgument(`parties[${i}]`, `repeats party ${party}`);
  });
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
