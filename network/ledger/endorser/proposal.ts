/**
 * Unpacking and checking a SignedProposal in the order Fabric 2.5 does (core/endorser/msgvalidation.go
 * UnpackProposal/Validate, endorser.go preProcess). Every field here is attacker-controlled.
 */
import { common, msp, peer } from '@hyperledger/fabric-protos';
import { sha256, sha256Hex } from '../../crypto/index.ts';
import {
  boolField,
  bytesElement,
  bytesField,
  encodeMessage,
  readMessage,
  INT32_LIMIT,
  type MessageSchema,
  ReadMessage,
  type WireValue,
} from '../block/protobuf-wire.ts';
import { LedgerError } from '../errors.ts';
import type { Identity, IdentityVerifier } from '../types.ts';

/** What the checks read of a proposal's headers (SignedProposal, Proposal, Header, ChannelHeader, SignatureHeader). */
interface ProposalHeaders {
  /** SignedProposal.proposal_bytes and .signature: what the creator signed, and its signature. */
  readonly proposalBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly channelHeaderBytes: Uint8Array;
  readonly signatureHeaderBytes: Uint8Array;
  /** ChannelHeader.type and .epoch. */
  readonly type: number;
  readonly epoch: number;
  readonly channelId: string;
  readonly txId: string;
  readonly creator: Uint8Array;
  readonly nonce: Uint8Array;
}

export interface UnpackedProposal extends ProposalHeaders {
  readonly signedProposal: Uint8Array;
  readonly chaincodeName: string;
  /** The ChaincodeInput as google-protobuf writes it again (what Fabric's peer sends the chaincode). */
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

/** ChaincodeProposalPayload.input, and the ChaincodeInput of the invocation spec it holds, if any. */
interface ProposalInvocation {
  readonly payloadInput: Uint8Array;
  readonly input: { readonly args: readonly Uint8Array[]; readonly bytes: Uint8Array } | undefined;
}

/**
 * A proposal's parts, each decoded when the checks reach it (as Fabric's UnpackProposal and Validate interleave
 * them), so that a proposal refused for two reasons is refused for the same one whichever decoder reads it.
 */
export interface ProposalParts {
  readonly headers: ProposalHeaders;
  chaincodeName(): string;
  invocation(): ProposalInvocation;
}

export function unpackProposal(signedProposalBytes: Uint8Array): UnpackedProposal {
  const parts = readProposalParts(signedProposalBytes) ?? decodeProposalParts(signedProposalBytes);
  const headers = parts.headers;
  const { type, creator, nonce, txId } = headers;
  if (type !== common.HeaderType.ENDORSER_TRANSACTION) reject(`invalid header type ${type}`);
  if (headers.epoch !== 0) reject('invalid epoch in ChannelHeader. Expected 0');
  if (nonce.length === 0) reject('invalid signature header: nonce is empty');
  if (creator.length === 0) reject('invalid signature header: creator is empty');
  const expected = computeTxId(nonce, creator);
  if (txId !== expected) reject(`incorrectly computed txid: got ${txId}, expected ${expected}`);

  const chaincodeName = parts.chaincodeName();
  if (chaincodeName === '') reject('ChaincodeHeaderExtension.ChaincodeId.Name is empty');

  const { payloadInput, input } = parts.invocation();
  if (!input) reject('chaincode invocation spec did not contain an input');
  const first = input.args[0];
  if (first === undefined) reject('chaincode input has no function name (args[0])');

  // ChaincodeProposalPayload{input}: the TransientMap left out.
  const strippedPayload = encodeMessage(bytesField(1, payloadInput));
  return {
    ...headers,
    signedProposal: signedProposalBytes,
    chaincodeName,
    input: input.bytes,
    strippedPayload,
    proposalHash: sha256(Buffer.concat([headers.channelHeaderBytes, headers.signatureHeaderBytes, strippedPayload])),
    functionName: Buffer.from(first).toString('utf8'),
    args: input.args,
  };
}

/**
 * The proposal through google-protobuf's message objects: every proposal, however it is encoded. Exported for tests.
 */
export function decodeProposalParts(signedProposalBytes: Uint8Array): ProposalParts {
  const signed = parse('SignedProposal', () => peer.SignedProposal.deserializeBinary(signedProposalBytes));
  const proposal = parse('Proposal', () => peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8()));
  const header = parse('Header', () => common.Header.deserializeBinary(proposal.getHeader_asU8()));
  const channelHeaderBytes = header.getChannelHeader_asU8();
  const signatureHeaderBytes = header.getSignatureHeader_asU8();
  const channelHeader = parse('ChannelHeader', () => common.ChannelHeader.deserializeBinary(channelHeaderBytes));
  const signatureHeader = parse('SignatureHeader', () =>
    common.SignatureHeader.deserializeBinary(signatureHeaderBytes),
  );
  return {
    headers: {
      proposalBytes: signed.getProposalBytes_asU8(),
      signature: signed.getSignature_asU8(),
      channelHeaderBytes,
      signatureHeaderBytes,
      type: channelHeader.getType(),
      epoch: channelHeader.getEpoch(),
      channelId: channelHeader.getChannelId(),
      txId: channelHeader.getTxId(),
      creator: signatureHeader.getCreator_asU8(),
      nonce: signatureHeader.getNonce_asU8(),
    },
    chaincodeName: () =>
      parse('ChaincodeHeaderExtension', () =>
        peer.ChaincodeHeaderExtension.deserializeBinary(channelHeader.getExtension_asU8()),
      )
        .getChaincodeId()
        ?.getName() ?? '',
    invocation: () => {
      const payload = parse('ChaincodeProposalPayload', () =>
        peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8()),
      );
      const spec = parse('ChaincodeInvocationSpec', () =>
        peer.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8()),
      );
      const input = spec.getChaincodeSpec()?.getInput();
      return {
        payloadInput: payload.getInput_asU8(),
        input: input && { args: input.getArgsList_asU8(), bytes: input.serializeBinary() },
      };
    },
  };
}

// The messages of a proposal as readMessage checks them: every field google-protobuf decodes, at its wire type.
const CHAINCODE_ID: MessageSchema = { 1: 'string', 2: 'string', 3: 'string' };
/** SignedProposal{proposal_bytes, signature}; the chaincode's peer handler reads it too. */
export const SIGNED_PROPOSAL: MessageSchema = { 1: 'bytes', 2: 'bytes' };
const PROPOSAL: MessageSchema = { 1: 'bytes', 2: 'bytes', 3: 'bytes' };
const HEADER: MessageSchema = { 1: 'bytes', 2: 'bytes' };
const TIMESTAMP: MessageSchema = { 1: 'varint', 2: 'varint' };
const CHANNEL_HEADER: MessageSchema = {
  1: 'varint',
  2: 'varint',
  3: TIMESTAMP,
  4: 'string',
  5: 'string',
  6: 'varint',
  7: 'bytes',
  8: 'bytes',
};
const SIGNATURE_HEADER: MessageSchema = { 1: 'bytes', 2: 'bytes' };
const CHAINCODE_HEADER_EXTENSION: MessageSchema = { 2: CHAINCODE_ID };
const MAP_ENTRY: MessageSchema = { 1: 'string', 2: 'bytes' };
const CHAINCODE_PROPOSAL_PAYLOAD: MessageSchema = { 1: 'bytes', 2: MAP_ENTRY };
/** ChaincodeInput{args, decorations, is_init}; the chaincode's peer handler checks the input it hands on by it. */
export const CHAINCODE_INPUT: MessageSchema = { 1: 'bytes', 2: MAP_ENTRY, 3: 'varint' };
const CHAINCODE_SPEC: MessageSchema = { 1: 'varint', 2: CHAINCODE_ID, 3: CHAINCODE_INPUT, 4: 'varint' };
const CHAINCODE_INVOCATION_SPEC: MessageSchema = { 1: CHAINCODE_SPEC };

/**
 * The proposal read from its wire bytes without google-protobuf's objects (a dozen per proposal, and the input
 * written again through them: 3 % of the ledger's CPU per transaction, bench/RESULTS.md issue 13), giving what
 * {@link decodeProposalParts} gives. Undefined when google-protobuf could read anything differently — a singular
 * field that is read here repeated (it keeps the last or merges), an int32 at or above 2^31, the input's decorations
 * (a map it writes again in its own order), or anything readMessage leaves to it — and then the proposal goes
 * through it. Exported for tests.
 */
export function readProposalParts(signedProposalBytes: Uint8Array): ProposalParts | undefined {
  try {
    const signed = read(signedProposalBytes, SIGNED_PROPOSAL);
    const proposalBytes = one(signed, 1, EMPTY);
    const proposal = read(proposalBytes, PROPOSAL);
    const header = read(one(proposal, 1, EMPTY), HEADER);
    const channelHeaderBytes = one(header, 1, EMPTY);
    const signatureHeaderBytes = one(header, 2, EMPTY);
    const channelHeader = read(channelHeaderBytes, CHANNEL_HEADER);
    const signatureHeader = read(signatureHeaderBytes, SIGNATURE_HEADER);
    const type = one(channelHeader, 1, ZERO);
    if (type >= INT32_LIMIT) return undefined;

    const chaincodeId = one(read(one(channelHeader, 7, EMPTY), CHAINCODE_HEADER_EXTENSION), 2, NO_MESSAGE);
    const chaincodeName = one(chaincodeId, 2, NO_TEXT);
    const payloadInput = one(read(one(proposal, 2, EMPTY), CHAINCODE_PROPOSAL_PAYLOAD), 1, EMPTY);
    const spec = one(read(payloadInput, CHAINCODE_INVOCATION_SPEC), 1, NO_MESSAGE);
    const inputFields = spec.has(3) ? one(spec, 3, NO_MESSAGE) : undefined;
    let input: ProposalInvocation['input'];
    if (inputFields !== undefined) {
      if (inputFields.has(2)) return undefined;
      const args = inputFields.all(1) as Uint8Array[];
      const isInit = one(inputFields, 3, ZERO) !== 0;
      // ChaincodeInput{args, is_init} as google-protobuf writes it (it does not write fields it does not know).
      input = { args, bytes: encodeMessage(...args.map((arg) => bytesElement(1, arg)), boolField(3, isInit)) };
    }
    const headers: ProposalHeaders = {
      proposalBytes,
      signature: one(signed, 2, EMPTY),
      channelHeaderBytes,
      signatureHeaderBytes,
      type,
      epoch: one(channelHeader, 6, ZERO),
      channelId: one(channelHeader, 4, NO_TEXT),
      txId: one(channelHeader, 5, NO_TEXT),
      creator: one(signatureHeader, 1, EMPTY),
      nonce: one(signatureHeader, 2, EMPTY),
    };
    return new ReadParts(headers, chaincodeName, { payloadInput, input });
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

/** Parts read in full already; methods, not closures (under tsx each named closure also costs a `__name` call). */
class ReadParts implements ProposalParts {
  readonly #chaincodeName: string;
  readonly #invocation: ProposalInvocation;

  constructor(
    readonly headers: ProposalHeaders,
    chaincodeName: string,
    invocation: ProposalInvocation,
  ) {
    this.#chaincodeName = chaincodeName;
    this.#invocation = invocation;
  }

  chaincodeName(): string {
    return this.#chaincodeName;
  }

  invocation(): ProposalInvocation {
    return this.#invocation;
  }
}

// What an absent field reads as.
const EMPTY = new Uint8Array(0);
const NO_MESSAGE = new ReadMessage();
const ZERO: number = 0;
const NO_TEXT: string = '';
/** Thrown inside readProposalParts, and caught there, when the proposal is left to google-protobuf. */
const GIVE_UP = new Error('left to google-protobuf');

function read(bytes: Uint8Array, schema: MessageSchema): ReadMessage {
  const message = readMessage(bytes, schema);
  if (message === undefined) throw GIVE_UP;
  return message;
}

/** A singular field's value, of the type of `absent`, what it reads as when absent; it must occur at most once. */
function one<T extends WireValue>(message: ReadMessage, field: number, absent: T): T {
  const count = message.count(field);
  if (count === 0) return absent;
  if (count !== 1) throw GIVE_UP;
  return message.single(field) as T;
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
