/**
 * The orderer's Broadcast filters (orderer/common/msgprocessor/standardchannel.go): empty-message, size,
 * expiration and signature rules (`/Channel/Writers` of the config in force, over the creator whose signature over
 * the payload verifies). A refusal is ORDERER_REJECTED with Fabric's status text.
 */
import { common } from '@hyperledger/fabric-protos';
import { decodeEnvelope, type DecodedEnvelope } from '../block/index.ts';
import { LedgerError } from '../errors.ts';
import type { IdentityPolicy } from '../msp/index.ts';
import type { IdentityVerifier } from '../types.ts';

export interface AdmissionOptions {
  readonly channelId: string;
  readonly msps: IdentityVerifier;
  /** `/Channel/Writers` of the config in force (ChannelAccess.channelWriters). */
  readonly channelWriters: IdentityPolicy;
  /** Fabric's BatchSize.AbsoluteMaxBytes. */
  readonly absoluteMaxBytes: number;
  /**
   * The decoded form of an envelope whose payload the ledger's endorser prepared itself (PreparedTransactions.take),
   * if it is one: the same layers a decode would give, from the record, not from the bytes again.
   */
  readonly prepared?: (envelope: Uint8Array) => DecodedEnvelope | undefined;
}

const refuse = (status: string, info: string): never => {
  throw new LedgerError('ORDERER_REJECTED', `status=${status}, info=${info}`);
};

/**
 * Broadcast's admission: refuses, by throwing ORDERER_REJECTED, what the filters refuse; returns the envelope's
 * decoded layers for the committer, marked as having passed the signature check. In Fabric's order: the channel
 * header and the channel (broadcast.go BroadcastChannelSupport), then the standard channel's filters — size
 * (payload + signature, sizefilter.go), then `/Channel/Writers` over the creator whose signature over the payload
 * verifies (sigfilter.go: the policy's reason, then 'permission denied').
 */
export function admitEnvelope(envelopeBytes: Uint8Array, options: Readonly<AdmissionOptions>): DecodedEnvelope {
  if (envelopeBytes.length === 0) refuse('BAD_REQUEST', 'message was empty');
  let decoded = options.prepared?.(envelopeBytes);
  if (decoded === undefined) {
    try {
      decoded = decodeEnvelope(envelopeBytes);
    } catch {
      return refuse('BAD_REQUEST', 'bad payload: envelope, payload or header could not be parsed');
    }
  }
  const { channelId, type, creator, payload, signature } = decoded;
  if (channelId !== options.channelId) refuse('NOT_FOUND', `channel ${channelId} not found`);
  if (type !== common.HeaderType.ENDORSER_TRANSACTION) {
    refuse('BAD_REQUEST', `message of type ${type} is not an endorser transaction`);
  }
  const size = payload.length + signature.length;
  if (size > options.absoluteMaxBytes) {
    refuse(
      'BAD_REQUEST',
      `message payload is ${size} bytes and exceeds maximum allowed ${options.absoluteMaxBytes} bytes`,
    );
  }
  requireChannelWriter(options, creator, payload, signature);
  return { ...decoded, creatorSignatureVerified: true };
}

/**
 * Broadcast's `/Channel/Writers` filter (sigfilter.go), for a transaction and a config update alike: the creator's
 * signature over the payload verifies, and the creator meets the policy. Refuses FORBIDDEN otherwise.
 */
export function requireChannelWriter(
  options: Pick<AdmissionOptions, 'msps' | 'channelWriters'>,
  creator: Uint8Array,
  payload: Uint8Array,
  signature: Uint8Array,
): void {
  const check = options.msps.verifySignature(creator, payload, signature);
  if (!check.ok) {
    return refuse(
      'FORBIDDEN',
      `implicit policy evaluation failed - the creator is not a channel writer: ${check.reason}`,
    );
  }
  const writer = options.channelWriters(check.identity);
  if (!writer.ok) refuse('FORBIDDEN', `${writer.reason}: permission denied`);
}
