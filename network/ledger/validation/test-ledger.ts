/**
 * Test helper: a channel with one application org and one orderer org, a LevelDB store in a temp dir holding the
 * genesis block, and `commit()` running the committer's steps: build → validate → TRANSACTIONS_FILTER → store.
 */
import type { common } from '@hyperledger/fabric-protos';
import { channelAccess, type ChannelAccess, type ChannelMsps } from '../msp/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBlock, buildGenesisBlock, readConfig, setTransactionsFilter } from '../block/index.ts';
import { openLedgerStore, type LedgerStore } from '../store/index.ts';
import { createTestOrg, channelMspsOf, type TestOrg, type TestSigner } from './test-identities.ts';
import { peerOrgEndorsement, type EndorsementPolicy } from './endorsement-policy.ts';
import { validateBlock, type BlockValidation, type BlockValidationContext } from './tx-validator.ts';

export const CHANNEL = 'credit';

export interface TestLedger {
  readonly dir: string;
  store: LedgerStore;
  readonly org: TestOrg;
  readonly ordererOrg: TestOrg;
  readonly identities: ChannelMsps;
  readonly client: TestSigner;
  readonly peer: TestSigner;
  readonly orderer: TestSigner;
  /** The genesis config's policies; its endorsement policy, met by `org`'s peers (the ledger's peer is `peer`). */
  readonly access: ChannelAccess;
  readonly endorsementPolicy: EndorsementPolicy;
  /** What validateBlock reads of this ledger as it stands: its channel, MSPs, store and endorsement policy. */
  validationContext(): BlockValidationContext;
  /** The next block of `envelopes`, signed by `signer` (the orderer unless given), not validated or committed. */
  nextBlock(envelopes: readonly Uint8Array[], signer?: TestSigner): common.Block;
  /** Orders, validates and commits one block of `envelopes`. */
  commit(envelopes: readonly Uint8Array[]): Promise<BlockValidation>;
  reopen(): Promise<void>;
  dispose(): Promise<void>;
}

export async function createTestLedger(): Promise<TestLedger> {
  const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
  const org = await createTestOrg('Org1MSP');
  const ordererOrg = await createTestOrg('OrdererMSP');
  const identities = channelMspsOf([org, ordererOrg]);
  const [client, peer, orderer] = await Promise.all([
    org.issue('client'),
    org.issue('peer'),
    ordererOrg.issue('orderer'),
  ]);
  const genesis = buildGenesisBlock({
    channelId: CHANNEL,
    orgs: [{ mspId: org.mspId, rootCerts: [org.caPem], tlsRootCerts: [org.caPem] }],
    ordererOrg: { mspId: ordererOrg.mspId, rootCerts: [ordererOrg.caPem], tlsRootCerts: [ordererOrg.caPem] },
    ordererSigner: orderer,
  });
  const access = channelAccess(readConfig(genesis));
  const endorsementPolicy = peerOrgEndorsement(access, org.mspId);
  const ledger: TestLedger = {
    dir,
    store: await openLedgerStore(dir),
    org,
    ordererOrg,
    identities,
    client,
    peer,
    orderer,
    access,
    endorsementPolicy,
    validationContext: () => ({
      channelId: CHANNEL,
      identities,
      state: ledger.store,
      txIndex: ledger.store,
      endorsementPolicy,
    }),
    nextBlock(envelopes, signer = orderer) {
      const info = ledger.store.blockchainInfo();
      return buildBlock({
        number: info.getHeight(),
        previousHash: info.getCurrentblockhash_asU8(),
        envelopes,
        ordererSigner: signer,
        lastConfigIndex: 0,
      });
    },
    async commit(envelopes) {
      const block = ledger.nextBlock(envelopes);
      const result = await validateBlock(block, ledger.validationContext());
      setTransactionsFilter(block, result.codes);
      // As the committer (channel-ledger.ts): what validation read of the txid index goes to the store.
      await ledger.store.commitBlock(block, result.updates, result);
      return result;
    },
    async reopen() {
      await ledger.store.close();
      ledger.store = await openLedgerStore(dir);
    },
    async dispose() {
      await ledger.store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const result = await validateBlock(genesis, ledger.validationContext());
  setTransactionsFilter(genesis, result.codes);
  await ledger.store.commitBlock(genesis, result.updates);
  return ledger;
}
