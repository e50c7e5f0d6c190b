/** The chain's notarization records as the API gives them (lianxin.v1.NotarizeResponse's chain fields). */
import type { ContractEvidence__Output } from '../api/generated/lianxin/v1/ContractEvidence.ts';
import type { ChainEvidence } from '../api/generated/lianxin/v1/ChainEvidence.ts';
import type { NotarizeResponse } from '../api/generated/lianxin/v1/NotarizeResponse.ts';
import type { Evidence } from '../ledger/index.ts';
import type { ChainNotarization } from './evidence-notarizer.ts';

/** The channel and chaincode the node's chain facade talks to. */
export interface ChainName {
  readonly channel: string;
  readonly chaincode: string;
}

export function toChainEvidence(evidence: Evidence, where: ChainName, blockNumber?: number): ChainEvidence {
  return {
    evidenceId: evidence.evidenceId,
    documentDigest: Buffer.from(evidence.documentDigest, 'hex'),
    platform: evidence.platform,
    parties: evidence.parties.map((party) => party.id),
    partySignatureDigests: Object.fromEntries(
      Object.entries(evidence.partySignatureDigests).map(([party, digest]) => [party, Buffer.from(digest, 'hex')]),
    ),
    notarizedAt: evidence.notarizedAt,
    channel: where.channel,
    chaincode: where.chaincode,
    transactionId: evidence.txId,
    blockNumber: blockNumber ?? 0,
  };
}

/** The response fields saying where this node's own notarization stands on chain. */
export function chainFields(
  notarization: ChainNotarization | undefined,
  where: ChainName,
): Pick<NotarizeResponse, 'chainState' | 'chainEvidence' | 'chainRefusal'> {
  switch (notarization?.state) {
    case undefined:
      // Notarized before the node put notarizations on chain.
      return { chainState: 'CHAIN_NOTARIZATION_STATE_UNSPECIFIED' };
    case 'pending':
      return { chainState: 'CHAIN_NOTARIZATION_STATE_PENDING' };
    case 'committed':
      return {
        chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED',
        chainEvidence: [toChainEvidence(notarization.evidence, where, notarization.blockNumber)],
      };
    case 'refused':
      return { chainState: 'CHAIN_NOTARIZATION_STATE_REFUSED', chainRefusal: notarization.reason };
  }
}

/** The leaf lists signature digests by the parties' positions (at most one each); the chaincode wants a map. */
export function signaturesByParty(contract: ContractEvidence__Output): Record<string, string> {
  const byParty: Record<string, string> = {};
  contract.partySignatureDigests.forEach((digest, i) => {
    const party = contract.parties[i];
    if (party !== undefined) byParty[party] = Buffer.from(digest).toString('hex');
  });
  return byParty;
}
