/**
 * Unpacking and checking a SignedProposal in the order Fabric 2.5 does (core/endorser/msgvalidation.go
 * UnpackProposal/Validate, endorser.go preProcess). Every field here is attacker-controlled.
 */
import { common, msp, peer } from '@hyperledger/fabric-protos';
import { sha256, sha256Hex } from '../../crypto/index.ts';
import { LedgerError } from '../errors.ts';
import type { Identity, IdentityVerifier } from '../types.ts';

export interface UnpackedProposal {
  readonly signedProposal: Uint8Array;
  /** SignedProposal.proposal_bytes and .signature: what the creator signed, and its signature. */
  readonly proposalBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly channelHeaderBytes: Uint8Array;
  readonly signatureHeaderBytes: Uint8Array;
  readonly channelHeader: common.ChannelHeader;
  readonly creator: Uint8Array;
  readonly nonce: Uint8Array;
  readonly txId: string;
  readonly channelId: string;
  readonly chaincodeName: string;
  readonly input: Uint8Array;
  /** ChaincodeProposalPayload without its TransientMap: what goes into the transaction (msgvalidation.go:107). */
  readonly strippedPayload: Uint8Array;
  /** SHA-256(channel header ‖ signature header ‖ stripped payload), checked again at validation. */
  readonly proposalHash: Uint8Array;
  /** args[0], for error messages and qscc dispatch. */
  readonly functionName: string;
  readonly args: readonly Uint8Array[];
}

function reject(message: string): never {
  throw new LedgerError('PROPOSAL_REJECTED', message);
}

function parse<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    throw new LedgerError('PROPOSAL_REJECTED', `error unmarshalling ${what}`, { cause });
  }
}

export function unpackProposal(signedProposalBytes: Uint8Array): UnpackedProposal {
  const signed = parse('SignedProposal', () => peer.SignedProposal.deserializeBinary(signedProposalBytes));
  const proposal = parse('Proposal', () => peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8()));
  const header = parse('Header', () => common.Header.deserializeBinary(proposal.getHeader_asU8()));
  const channelHeaderBytes = header.getChannelHeader_asU8();
  const signatureHeaderBytes = header.getSignatureHeader_asU8();
  const channelHeader = parse('ChannelHeader', () => common.ChannelHeader.deserializeBinary(channelHeaderBytes));
  const signatureHeader = parse('SignatureHeader', () =>
    common.SignatureHeader.deserializeBinary(signatureHeaderBytes),
  );

  const type = channelHeader.getType();
  if (type !== common.HeaderType.ENDORSER_TRANSACTION) reject(`invalid header type ${type}`);
  if (channelHeader.getEpoch() !== 0) reject('invalid epoch in ChannelHeader. Expected 0');
  const creator = signatureHeader.getCreator_asU8();
  const nonce = signatureHeader.getNonce_asU8();
  if (nonce.length === 0) reject('invalid signature header: nonce is empty');
  if (creator.length === 0) reject('invalid signature header: creator is empty');
  const txId = channelHeader.getTxId();
  const expected = computeTxId(nonce, creator);
  if (txId !== expected) reject(`incorrectly computed txid: got ${txId}, expected ${expected}`);

  const extension = parse('ChaincodeHeaderExtension', () =>
    peer.ChaincodeHeaderExtension.deserializeBinary(channelHeader.getExtension_asU8()),
  );
  const chaincodeName = extension.getChaincodeId()?.getName() ?? '';
  if (chaincodeName === '') reject('ChaincodeHeaderExtension.ChaincodeId.Name is empty');

  const payload = parse('ChaincodeProposalPayload', () =>
    peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8()),
  );
  const spec = parse('ChaincodeInvocationSpec', () =>
    peer.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8()),
  );
  const input = spec.getChaincodeSpec()?.getInput();
  if (!input) reject('chaincode invocation spec did not contain an input');
  const args = input.getArgsList_asU8();
  const first = args[0];
  if (first === undefined) reject('chaincode input has no function name (args[0])');

  const stripped = new peer.ChaincodeProposalPayload();
  stripped.setInput(payload.getInput_asU8());
  const strippedPayload = stripped.serializeBinary();

  return {
    signedProposal: signedProposalBytes,
    proposalBytes: signed.getProposalBytes_asU8(),
    signature: signed.getSignature_asU8(),
    channelHeaderBytes,
    signatureHeaderBytes,
    channelHeader,
    creator,
    nonce,
    txId,
    channelId: channelHeader.getChannelId(),
    chaincodeName,
    input: input.serializeBinary(),
    strippedPayload,
    proposalHash: sha256(Buffer.concat([channelHeaderBytes, signatureHeaderBytes, strippedPayload])),
    functionName: Buffer.from(first).toString('utf8'),
    args,
  };
}

/**
 * Verifies the creator and its signature over proposal_bytes (msgvalidation.go checkSignatureFromCreator). The
 * answer does not say why a creator was refused (Fabric only logs it): a creator that does not decode or names
 * an MSP the channel does not have is "creator org unknown, creator is malformed", anything else (certificate
 * not issued by the MSP, expired, wrong NodeOU, bad signature) only names the MSP it claimed.
 */
export async function checkProposalCreator(
  unpacked: UnpackedProposal,
  msps: IdentityVerifier,
  warn?: (message: string) => void,
): Promise<Identity> {
  const check = await msps.verifySignatureAsync(unpacked.creator, unpacked.proposalBytes, unpacked.signature);
  if (check.ok) return check.identity;
  // The reason goes to the peer's operator only, as Fabric's endorserLogger.Warningf.
  warn?.(`${unpacked.txId} access denied: channel [${unpacked.channelId}]: ${check.reason}`);
  const mspId = claimedMspId(unpacked.creator);
  if (mspId === undefined || !msps.hasMsp(mspId)) {
    reject(`access denied: channel [${unpacked.channelId}] creator org unknown, creator is malformed`);
  }
  reject(`access denied: channel [${unpacked.channelId}] creator org [${mspId}]`);
}

function claimedMspId(creator: Uint8Array): string | undefined {
  try {
    return msp.SerializedIdentity.deserializeBinary(creator).getMspid();
  } catch {
    return undefined;
  }
}

/** Fabric's txid: lowercase hex SHA-256(nonce ‖ creator) (protoutil/proputils.go:357). */
export function computeTxId(nonce: Uint8Array, creator: Uint8Array): string {
  return sha256Hex(Buffer.concat([nonce, creator]));
}
