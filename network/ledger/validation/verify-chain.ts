/**
 * Offline audit of a ledger: from block 0, every header hash link, data hash and orderer signature, then a replay of
 * validation over fresh state that must reproduce every TRANSACTIONS_FILTER, COMMIT_HASH and the final state.
 */
import { common } from '@hyperledger/fabric-protos';
import {
  blockDataHash,
  blockHeaderHash,
  getTransactionsFilter,
  metadataSlot,
  ordererSignedBytes,
  readConfig,
  tryReadChannelHeader,
} from '../block/index.ts';
import {
  computeCommitHash,
  LedgerStoreError,
  levelFailure,
  openLedgerStore,
  type LedgerStore,
  type NamespacedStateEntry,
} from '../store/index.ts';
import { atIssuance, channelAccess, channelMspConfigs, ChannelMsps, type ChannelAccess } from '../msp/index.ts';
import { checkConfigTransaction, type AuthorizedConfigUpdate } from '../orderer/config-update.ts';
import type { IdentityVerifier } from '../types.ts';
import { peerOrgEndorsement, type EndorsementPolicy } from './endorsement-policy.ts';
import { MemoryLedgerState } from './memory-state.ts';
import { validateBlock } from './tx-validator.ts';
import { isPrivateNamespace } from '../chaincode/private-data.ts';

/** A failed audit names the first bad block; `firstBadBlock` is undefined when the store itself cannot be read. */
export type ChainVerification =
  | { readonly ok: true; readonly height: number }
  | { readonly ok: false; readonly firstBadBlock: number | undefined; readonly reason: string };

export interface VerifyChainOptions {
  /**
   * The MSP of the ledger's peer, whose Endorsement policy every transaction met (validation/endorsement-policy.ts).
   * Default: the one organisation both in /Channel/Application and /Channel/Orderer of the genesis block — the
   * consortium's operator, which runs the ledger's peer and orderer (network/consortium-ledger.ts).
   */
  readonly peerMspId?: string;
}

class BadBlock extends Error {
  constructor(
    readonly blockNum: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Verifies the ledger in `source` (an open store, or a directory opened and closed here). Identities are checked as
 * Fabric's MSP checks them (ValidityTime 'issuance'): their chain, not their validity period, so that the verdict
 * does not depend on when the audit runs, nor on a timestamp a client chose.
 */
export async function verifyChain(
  source: LedgerStore | string,
  identities: IdentityVerifier,
  options: Readonly<VerifyChainOptions> = {},
): Promise<ChainVerification> {
  let store: LedgerStore;
  if (typeof source === 'string') {
    try {
      // Without the start-up tip check: the replay checks every block and names the first that fails.
      store = await openLedgerStore(source, { checkTip: false });
    } catch (err) {
      const damage = storeDamage(err);
      if (damage) return damage;
      throw err;
    }
  } else {
    store = source;
  }
  try {
    const height = await replay(store, identities, options);
    return { ok: true, height };
  } catch (err) {
    if (err instanceof BadBlock) return { ok: false, firstBadBlock: err.blockNum, reason: err.message };
    const damage = storeDamage(err);
    if (damage) return damage;
    throw err;
  } finally {
    if (typeof source === 'string') await store.close();
  }
}

async function replay(
  store: LedgerStore,
  genesisIdentities: IdentityVerifier,
  options: Readonly<VerifyChainOptions>,
): Promise<number> {
  // A config block changes the channel's members: later blocks are checked against the MSPs it names.
  let identities = genesisIdentities;
  let config: common.Config | undefined;
  const state = new MemoryLedgerState();
  let channelId = '';
  let peerMspId = options.peerMspId;
  let access: ChannelAccess | undefined;
  let endorsementPolicy: EndorsementPolicy | undefined;
  let previousHash: Uint8Array = new Uint8Array();
  let commitHash: Uint8Array = new Uint8Array();
  const height = store.height;

  for (let n = 0; n < height; n++) {
    const bad = (reason: string): BadBlock => new BadBlock(n, `block ${String(n)}: ${reason}`);
    const bytes = await readBlockBytes(store, n, bad);
    if (!bytes) throw bad('missing');
    let block: common.Block;
    try {
      block = common.Block.deserializeBinary(bytes);
    } catch {
      throw bad('does not decode as common.Block');
    }
    const header = block.getHeader();
    const envelopes = block.getData()?.getDataList_asU8() ?? [];
    if (!header || header.getNumber() !== n) throw bad('"header.number" is wrong');
    if (!Buffer.from(header.getPreviousHash_asU8()).equals(previousHash))
      throw bad('"header.previous_hash" does not link to the previous block');
    if (!blockDataHash(envelopes).equals(header.getDataHash_asU8()))
      throw bad('"header.data_hash" does not match the data');
    const atBlock = atIssuance(identities);
    const signatureProblem = checkOrdererSignature(block, header, atBlock);
    if (signatureProblem) throw bad(signatureProblem);

    if (n === 0) {
      try {
        config = readConfig(block);
      } catch (err) {
        throw bad(`not a genesis config block: ${(err as Error).message}`);
      }
      channelId = tryReadChannelHeader(envelopes[0] ?? new Uint8Array())?.getChannelId() ?? '';
      peerMspId ??= operatorMspId(config);
      if (peerMspId === undefined) {
        throw bad('no one organisation is both in /Channel/Application and /Channel/Orderer: name the peer MSP');
      }
      // Else every transaction would replay as ENDORSEMENT_POLICY_FAILURE, which reads as tampering further on.
      if (!hasEndorsementPolicy(config, peerMspId)) {
        throw bad(
          `the genesis config has no /Channel/Application/${peerMspId}/Endorsement policy: ${peerMspId} is not ` +
            "the organisation of this ledger's peer (does the consortium file name the operator that ran it?)",
        );
      }
    }
    if (!config || peerMspId === undefined) throw bad('no genesis config block before it');
    const { channelWriters } = (access ??= channelAccess(config));
    endorsementPolicy ??= peerOrgEndorsement(access, peerMspId);
    let reconfigured: AuthorizedConfigUpdate | undefined;
    const { codes, updates } = await validateBlock(block, {
      channelId,
      identities: atBlock,
      state,
      txIndex: state,
      endorsementPolicy,
      configTransaction: (envelope) => {
        if (!config || envelopes.length !== 1) return false;
        reconfigured = checkConfigTransaction(envelope, {
          channelId,
          config,
          msps: atBlock,
          channelWriters,
        });
        return reconfigured !== undefined;
      },
    });
    const filter = getTransactionsFilter(block);
    if (!Buffer.from(filter).equals(Uint8Array.from(codes))) {
      throw bad(`TRANSACTIONS_FILTER is [${filter.join(',')}], replay gives [${codes.join(',')}]`);
    }
    const expectedCommitHash = computeCommitHash(filter, updates, commitHash);
    if (!expectedCommitHash.equals(metadataValue(block, common.BlockMetadataIndex.COMMIT_HASH))) {
      throw bad('COMMIT_HASH does not match the replayed updates');
    }
    state.apply(
      n,
      envelopes.map((e) => tryReadChannelHeader(e)?.getTxId()),
      codes,
      updates,
    );
    previousHash = blockHeaderHash(header);
    commitHash = expectedCommitHash;
    if (reconfigured) {
      config = reconfigured.config;
      identities = new ChannelMsps(channelMspConfigs(reconfigured.msps));
      access = undefined;
      endorsementPolicy = undefined;
    }
  }
  if (height > 0 && !Buffer.from(store.blockchainInfo().getCurrentblockhash_asU8()).equals(previousHash)) {
    throw new BadBlock(height - 1, 'the savepoint does not name the last block');
  }
  const beyond = (reason: string): BadBlock => new BadBlock(height, `block ${String(height)}: ${reason}`);
  if (await readBlockBytes(store, height, beyond)) {
    throw beyond(`present beyond the savepoint, which names ${String(height)} blocks`);
  }
  await compareState(store, state.entries());
  return height;
}

/** The stored bytes of block `n`; a block LevelDB cannot read is a bad block, named with LevelDB's reason. */
async function readBlockBytes(
  store: LedgerStore,
  n: number,
  bad: (reason: string) => BadBlock,
): Promise<Uint8Array | undefined> {
  try {
    return await store.getBlockBytes(n);
  } catch (err) {
    const failure = levelFailure(err instanceof LedgerStoreError ? err.cause : err);
    if (failure) throw bad(`unreadable (LevelDB: ${failure.reason})`);
    throw err;
  }
}

/** A store that cannot be opened or read (not a block of it) as a failed verification naming what failed. */
function storeDamage(err: unknown): ChainVerification | undefined {
  if (!(err instanceof LedgerStoreError) || (err.code !== 'CORRUPT' && err.code !== 'UNREADABLE')) return undefined;
  return { ok: false, firstBadBlock: err.blockNum, reason: err.message };
}

/** SIGNATURES metadata: some signature by an orderer-OU channel identity over `value ‖ signature_header ‖ header`. */
function checkOrdererSignature(
  block: common.Block,
  header: common.BlockHeader,
  identities: IdentityVerifier,
): string | undefined {
  let metadata: common.Metadata;
  try {
    metadata = common.Metadata.deserializeBinary(metadataSlot(block, common.BlockMetadataIndex.SIGNATURES));
  } catch {
    return 'SIGNATURES metadata does not decode';
  }
  for (const signature of metadata.getSignaturesList()) {
    let creator: Uint8Array;
    try {
      creator = common.SignatureHeader.deserializeBinary(signature.getSignatureHeader_asU8()).getCreator_asU8();
    } catch {
      continue;
    }
    const signed = ordererSignedBytes(metadata.getValue_asU8(), signature.getSignatureHeader_asU8(), header);
    const check = identities.verifySignature(creator, signed, signature.getSignature_asU8());
    if (check.ok && check.identity.nodeOU === 'orderer') return undefined;
  }
  return 'no valid orderer signature in SIGNATURES metadata';
}

/** The organisation of both the application and the orderer groups, when exactly one is. */
function operatorMspId(config: common.Config): string | undefined {
  const orgs = (name: string) => [...(config.getChannelGroup()?.getGroupsMap().get(name)?.getGroupsMap().keys() ?? [])];
  const orderer = new Set(orgs('Orderer'));
  const both = orgs('Application').filter((org) => orderer.has(org));
  return both.length === 1 ? both[0] : undefined;
}

function hasEndorsementPolicy(config: common.Config, mspId: string): boolean {
  const org = config.getChannelGroup()?.getGroupsMap().get('Application')?.getGroupsMap().get(mspId);
  return org?.getPoliciesMap().has('Endorsement') === true;
}

function metadataValue(block: common.Block, index: number): Uint8Array {
  try {
    return common.Metadata.deserializeBinary(metadataSlot(block, index)).getValue_asU8();
  } catch {
    return new Uint8Array();
  }
}

/** The stored state must equal the replayed one; a difference is blamed on the block that wrote the key. */
async function compareState(store: LedgerStore, expected: readonly NamespacedStateEntry[]): Promise<void> {
  let i = 0;
  for await (const actual of store.stateEntries()) {
    // Private data is not in the blocks (its hashes are, and are compared): nothing to replay it from.
    if (isPrivateNamespace(actual.namespace)) continue;
    const want = expected[i++];
    const same =
      want?.namespace === actual.namespace &&
      want.key === actual.key &&
      want.version.blockNum === actual.version.blockNum &&
      want.version.txNum === actual.version.txNum &&
      Buffer.from(want.value).equals(actual.value);
    if (!same) {
      const blockNum = Math.min(actual.version.blockNum, want?.version.blockNum ?? Infinity);
      throw new BadBlock(blockNum, `state key ${actual.namespace}/${actual.key} differs from the replay`);
    }
  }
  const missing = expected[i];
  if (missing)
    throw new BadBlock(
      missing.version.blockNum,
      `state key ${missing.namespace}/${missing.key} is missing from the store`,
    );
}
