import type { Identity } from '../types.ts';

export interface EndorsementRequest {
  readonly channelId: string;
  readonly chaincodeName: string;
  /** Distinct channel-MSP identities whose signature over `prp ‖ endorser` verified. */
  readonly endorsers: readonly Identity[];
}

/** Decides whether a transaction's verified endorsements satisfy its chaincode's policy (VSCC, reference §10 step 7). */
export interface EndorsementPolicy {
  evaluate(request: EndorsementRequest): boolean;
}

/** The default: at least one verified endorsement by a peer of a channel MSP. */
export const ANY_PEER_ENDORSEMENT: EndorsementPolicy = {
  evaluate: ({ endorsers }) => endorsers.some((identity) => identity.nodeOU === 'peer'),
};
