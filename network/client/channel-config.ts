/**
 * A channel config update as an organisation's admins make one with Fabric's tools: read the newest config block
 * (cscc GetConfigBlock, what `peer channel fetch config` gets), compute the update (`configtxlator
 * compute_update`), each admin adds a ConfigSignature (`peer channel signconfigtx`), one of them wraps it in a
 * signed CONFIG_UPDATE envelope and broadcasts it to the orderer (`peer channel update`).
 * Signed bytes: `signature_header ‖ config_update` (protoutil/signeddata.go), ECDSA P-256 low-S DER.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { Metadata, type Client } from '@grpc/grpc-js';
import type { Network } from '@hyperledger/fabric-gateway';
import { common, msp, orderer } from '@hyperledger/fabric-protos';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { signP256 } from '../crypto/index.ts';
import {
  applicationOrgGroup,
  batchConfigValues,
  BlockFormatError,
  computeConfigUpdate,
  lastConfigIndexOf,
  readConfig,
  readConfigBatch,
  type ChannelOrg,
} from '../ledger/block/index.ts';
import type { BatchOptions } from '../ledger/orderer/batch-options.ts';
import type { ClientIdentity } from './connect.ts';

const NONCE_LENGTH = 24;
const BROADCAST_PATH = '/orderer.AtomicBroadcast/Broadcast';

/** The channel's newest config block and its config, as the peer serves them (cscc GetConfigBlock). */
export async function fetchConfigBlock(network: Network): Promise<{ block: common.Block; config: common.Config }> {
  const bytes = await network.getContract('cscc').evaluateTransaction('GetConfigBlock', network.getName());
  const block = common.Block.deserializeBinary(bytes);
  return { block, config: readConfig(block) };
}

/** The number of the newest config block, as the last block's metadata names it (qscc GetChainInfo + block). */
export async function configBlockNumber(network: Network): Promise<number> {
  const qscc = network.getContract('qscc');
  const info = common.BlockchainInfo.deserializeBinary(
    await qscc.evaluateTransaction('GetChainInfo', network.getName()),
  );
  const last = common.Block.deserializeBinary(
    await qscc.evaluateTransaction('GetBlockByNumber', network.getName(), String(info.getHeight() - 1)),
  );
  return lastConfigIndexOf(last);
}

/**
 * The update adding `org` to the channel's Application group (`configtxgen -printOrg` merged in, then
 * compute_update): Application moves to version+1, so `/Channel/Application/Admins` must approve.
 */
export function addOrganizationUpdate(channelId: string, config: common.Config, org: ChannelOrg): common.ConfigUpdate {
  const { original, updated, application } = withApplication(config);
  application.getGroupsMap().set(org.mspId, applicationOrgGroup(org));
  return computeConfigUpdate(channelId, original, updated);
}

/** The update removing `mspId` from the channel's Application group; its identities are refused from then on. */
export function removeOrganizationUpdate(channelId: string, config: common.Config, mspId: string): common.ConfigUpdate {
  const { original, updated, application } = withApplication(config);
  if (!application.getGroupsMap().has(mspId)) throw new Error(`${mspId} is not a member of channel ${channelId}`);
  application.getGroupsMap().del(mspId);
  return computeConfigUpdate(channelId, original, updated);
}

/**
 * The update changing how the orderer cuts blocks (`/Channel/Orderer` BatchSize and BatchTimeout, as an admin edits
 * them with configtxlator); settings not given keep the config's values, and a value none of whose settings
 * changes keeps its bytes and version. `/Channel/Orderer/Admins` must approve; the orderer cuts by them from the
 * envelope after the config transaction.
 * @throws BlockFormatError `BAD_CONFIG` when the config's batch settings cannot be read, or nothing changes.
 */
export function batchSettingsUpdate(
  channelId: string,
  config: common.Config,
  batch: Readonly<Partial<BatchOptions>>,
): common.ConfigUpdate {
  const current = readConfigBatch(config);
  const original = config.getChannelGroup();
  if (!original) throw new BlockFormatError('BAD_CONFIG', 'the channel config has no channel group');
  const updated = original.cloneMessage();
  const values = updated.getGroupsMap().get('Orderer')?.getValuesMap();
  if (!values) throw new BlockFormatError('BAD_CONFIG', 'the channel config has no Orderer group');
  const next = { ...current, ...batch };
  const differs = (...names: (keyof BatchOptions)[]) => names.some((name) => next[name] !== current[name]);
  const bytes = batchConfigValues(next);
  if (differs('maxTransactions', 'absoluteMaxBytes', 'preferredMaxBytes'))
    values.get('BatchSize')?.setValue(bytes.BatchSize);
  if (differs('batchTimeoutMs')) values.get('BatchTimeout')?.setValue(bytes.BatchTimeout);
  return computeConfigUpdate(channelId, original, updated);
}

function withApplication(config: common.Config): {
  original: common.ConfigGroup;
  updated: common.ConfigGroup;
  application: common.ConfigGroup;
} {
  const original = config.getChannelGroup();
  if (!original) throw new Error('the channel config has no channel group');
  const updated = original.cloneMessage();
  const application = updated.getGroupsMap().get('Application');
  if (!application) throw new Error('the channel config has no Application group');
  return { original, updated, application };
}

function keyOf(identity: ClientIdentity): KeyObject {
  return typeof identity.privateKey === 'string' ? createPrivateKey(identity.privateKey) : identity.privateKey;
}

function serializedIdentity(identity: ClientIdentity): Uint8Array {
  const sid = new msp.SerializedIdentity();
  sid.setMspid(identity.mspId);
  sid.setIdBytes(Buffer.from(identity.certificatePem));
  return sid.serializeBinary();
}

function signatureHeader(identity: ClientIdentity): Uint8Array {
  const header = new common.SignatureHeader();
  header.setCreator(serializedIdentity(identity));
  header.setNonce(randomBytes(NONCE_LENGTH));
  return header.serializeBinary();
}

/** One admin's ConfigSignature over the serialized ConfigUpdate (`peer channel signconfigtx`). */
export function signConfigUpdate(configUpdate: Uint8Array, admin: ClientIdentity): common.ConfigSignature {
  const header = signatureHeader(admin);
  const signature = new common.ConfigSignature();
  signature.setSignatureHeader(header);
  signature.setSignature(signP256(keyOf(admin), Buffer.concat([header, configUpdate])));
  return signature;
}

/** The CONFIG_UPDATE envelope carrying the update and its signatures, signed by `submitter` (`peer channel update`). */
export function configUpdateEnvelope(
  configUpdate: common.ConfigUpdate,
  signers: readonly ClientIdentity[],
  submitter: ClientIdentity,
): common.Envelope {
  const updateBytes = configUpdate.serializeBinary();
  const updateEnvelope = new common.ConfigUpdateEnvelope();
  updateEnvelope.setConfigUpdate(updateBytes);
  updateEnvelope.setSignaturesList(signers.map((admin) => signConfigUpdate(updateBytes, admin)));

  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.CONFIG_UPDATE);
  channelHeader.setChannelId(configUpdate.getChannelId());
  channelHeader.setTimestamp(timestampPb.Timestamp.fromDate(new Date()));
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader(submitter));
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(updateEnvelope.serializeBinary());
  const payloadBytes = payload.serializeBinary();
  const envelope = new common.Envelope();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(signP256(keyOf(submitter), payloadBytes));
  return envelope;
}

/**
 * Sends one envelope on the orderer's Broadcast stream and returns its BroadcastResponse (status SUCCESS = 200
 * means ordered; the block follows). An aborted `signal` cancels the call; one aborted already sends nothing.
 */
export function broadcast(
  client: Client,
  envelope: common.Envelope,
  options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {},
): Promise<orderer.BroadcastResponse> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(options.signal.reason as Error);
      return;
    }
    const call = client.makeBidiStreamRequest<Uint8Array, Uint8Array>(
      BROADCAST_PATH,
      (value) => Buffer.from(value),
      (bytes) => bytes,
      new Metadata(),
      { deadline: Date.now() + (options.timeoutMs ?? 30_000) },
    );
    const abort = (): void => {
      call.cancel();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    let answered = false;
    call.on('data', (bytes: Buffer) => {
      if (answered) return;
      answered = true;
      // Answered: the half-closed stream may stay open until the orderer ends it; an abort now cancels nothing.
      options.signal?.removeEventListener('abort', abort);
      try {
        resolve(orderer.BroadcastResponse.deserializeBinary(bytes));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
      call.end();
    });
    call.on('error', (err) => {
      options.signal?.removeEventListener('abort', abort);
      if (!answered) reject(err);
    });
    call.on('end', () => {
      options.signal?.removeEventListener('abort', abort);
      if (!answered) reject(new Error('the orderer closed the Broadcast stream without a response'));
    });
    call.write(envelope.serializeBinary());
  });
}

/** `common.Status` name of a Broadcast response, for messages. */
export function statusName(response: orderer.BroadcastResponse): string {
  const code = response.getStatus();
  return Object.entries(common.Status).find(([, v]) => v === code)?.[0] ?? String(code);
}
