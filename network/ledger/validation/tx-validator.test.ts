import { randomBytes } from 'node:crypto';
import { common, peer } from '@hyperledger/fabric-protos';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBlock, buildGenesisBlock, decodeEnvelope, tryReadChannelHeader } from '../block/index.ts';
import { sha256Hex } from '../../crypto/index.ts';
import { validateBlock } from './tx-validator.ts';
import { countingDecodes } from './count-decodes.ts';
import { buildEndorserTransaction, headerOnlyPayload, type EndorserTxOptions } from './test-tx-builder.ts';
import { CHANNEL, createTestLedger, type TestLedger } from './test-ledger.ts';

const Code = peer.TxValidationCode;
const EMPTY = new Uint8Array();
const CC = 'credit-cc';

describe('validateBlock', () => {
  let ledger: TestLedger;
  beforeEach(async () => {
    ledger = await createTestLedger();
  });
  afterEach(async () => {
    await ledger.dispose();
  });

  const tx = (rwset: EndorserTxOptions['rwsets'][number], extra: Partial<EndorserTxOptions> = {}) =>
    buildEndorserTransaction({
      channelId: CHANNEL,
      chaincodeName: CC,
      creator: ledger.client,
      endorsers: [ledger.peer],
      rwsets: [rwset],
      ...extra,
    });
  const write = (key: string, value: string) => tx({ namespace: CC, writes: [{ key, value }] });
  const text = (v: Uint8Array | undefined) => (v ? Buffer.from(v).toString('utf8') : undefined);

  it('marks the genesis config envelope VALID', async () => {
    const genesis = await ledger.store.getBlock(0);
    expect([...(genesis?.getMetadata()?.getMetadataList_asU8()[2] ?? [])]).toEqual([Code.VALID]);
  });

  it('commits a valid write with version (blockNum, txNum)', async () => {
    const { codes } = await ledger.commit([write('a', '1').envelope, write('b', '2').envelope]);
    expect(codes).toEqual([Code.VALID, Code.VALID]);
    expect(await ledger.store.getState(CC, 'b')).toMatchObject({ version: { blockNum: 1, txNum: 1 } });
    expect(text((await ledger.store.getState(CC, 'a'))?.value)).toBe('1');
  });

  it('validates envelopes the orderer decoded as it validates the bytes, without decoding them again', async () => {
    const valid = write('a', '1');
    const envelopes = [
      valid.envelope,
      Uint8Array.of(0xff, 0xff, 0xff),
      tx({ namespace: CC, writes: [{ key: 'b', value: 'x' }] }, { badCreatorSignature: true }).envelope,
      tx({ namespace: CC }, { txId: 'ab'.repeat(32) }).envelope,
      valid.envelope,
      write('c', '3').envelope,
    ];
    const block = ledger.nextBlock(envelopes);
    const context = ledger.validationContext();
    const byItself = await validateBlock(block, context);

    const admitted = new Map(
      envelopes.flatMap((e) => {
        try {
          return [[e, decodeEnvelope(e)] as const];
        } catch {
          return [];
        }
      }),
    );
    const { result: withDecoded, decodes } = await countingDecodes(common.Envelope, () =>
      validateBlock(block, { ...context, decoded: (e) => admitted.get(e) }),
    );
    expect(withDecoded).toEqual(byItself);
    expect(byItself.codes).toEqual([
      Code.VALID,
      Code.BAD_PAYLOAD,
      Code.BAD_CREATOR_SIGNATURE,
      Code.BAD_PROPOSAL_TXID,
      Code.DUPLICATE_TXID,
      Code.VALID,
    ]);
    // The store indexes these: each envelope's channel header txid, as it would read it itself.
    expect(byItself.txIds).toEqual(envelopes.map((e) => tryReadChannelHeader(e)?.getTxId()));
    // Absent from the index: what the duplicate check read and found so, nothing it did not read (the failed ones).
    expect(byItself.unindexed).toEqual(new Set([valid.txId, tryReadChannelHeader(envelopes[5] ?? EMPTY)?.getTxId()]));
    // Only the envelope admission could not decode is decoded here.
    expect(decodes).toBe(1);
  });

  it('rejects an envelope that is not a payload as BAD_PAYLOAD and empty data as NIL_ENVELOPE', async () => {
    const { codes } = await ledger.commit([Uint8Array.of(0xff, 0xff, 0xff), new Uint8Array()]);
    expect(codes).toEqual([Code.BAD_PAYLOAD, Code.NIL_ENVELOPE]);
  });

  it('rejects a creator signature that does not cover the payload', async () => {
    const bad = tx({ namespace: CC, writes: [{ key: 'a', value: 'x' }] }, { badCreatorSignature: true });
    expect((await ledger.commit([bad.envelope])).codes).toEqual([Code.BAD_CREATOR_SIGNATURE]);
    expect(await ledger.store.getState(CC, 'a')).toBeUndefined();
  });

  it('rejects a txid that is not SHA-256(nonce ‖ creator)', async () => {
    const bad = tx({ namespace: CC }, { txId: 'ab'.repeat(32) });
    expect((await ledger.commit([bad.envelope])).codes).toEqual([Code.BAD_PROPOSAL_TXID]);
  });

  it('rejects two actions and a proposal hash mismatch as INVALID_ENDORSER_TRANSACTION', async () => {
    const two = tx({ namespace: CC }, { twoActions: true });
    const hash = tx({ namespace: CC }, { badProposalHash: true });
    expect((await ledger.commit([two.envelope, hash.envelope])).codes).toEqual([
      Code.INVALID_ENDORSER_TRANSACTION,
      Code.INVALID_ENDORSER_TRANSACTION,
    ]);
  });

  it('rejects a transaction for another channel as TARGET_CHAIN_NOT_FOUND', async () => {
    const other = tx({ namespace: CC }, { channelId: 'other' });
    expect((await ledger.commit([other.envelope])).codes).toEqual([Code.TARGET_CHAIN_NOT_FOUND]);
  });

  it('marks a txid repeated in the same block or already in the store DUPLICATE_TXID, indexing the first', async () => {
    const first = write('a', '1');
    expect((await ledger.commit([first.envelope, first.envelope])).codes).toEqual([Code.VALID, Code.DUPLICATE_TXID]);
    const again = await ledger.commit([first.envelope]);
    expect(again.codes).toEqual([Code.DUPLICATE_TXID]);
    // Found in the index: the store's commit reads it again and keeps the first location.
    expect(again.unindexed).toEqual(new Set());
    expect(await ledger.store.getTxLocation(first.txId)).toEqual({ blockNum: 1, txNum: 0, code: Code.VALID });
  });

  it('fails the endorsement policy without a valid peer endorsement', async () => {
    const bySig = tx({ namespace: CC, writes: [{ key: 'a', value: 'x' }] }, { badEndorsementSignature: true });
    const byClient = tx({ namespace: CC, writes: [{ key: 'b', value: 'x' }] }, { endorsers: [ledger.client] });
    const none = tx({ namespace: CC, writes: [{ key: 'c', value: 'x' }] }, { endorsers: [] });
    const { codes, updates } = await ledger.commit([bySig.envelope, byClient.envelope, none.envelope]);
    expect(codes).toEqual([
      Code.ENDORSEMENT_POLICY_FAILURE,
      Code.ENDORSEMENT_POLICY_FAILURE,
      Code.ENDORSEMENT_POLICY_FAILURE,
    ]);
    expect(updates).toEqual([]);
  });

  it('detects an MVCC conflict across blocks: the second of two concurrent updates loses', async () => {
    await ledger.commit([write('k', '0').envelope]);
    const read = { key: 'k', version: { blockNum: 1, txNum: 0 } };
    const a = tx({ namespace: CC, reads: [read], writes: [{ key: 'k', value: 'a' }] });
    const b = tx({ namespace: CC, reads: [read], writes: [{ key: 'k', value: 'b' }] });
    expect((await ledger.commit([a.envelope])).codes).toEqual([Code.VALID]);
    expect((await ledger.commit([b.envelope])).codes).toEqual([Code.MVCC_READ_CONFLICT]);
    expect(text((await ledger.store.getState(CC, 'k'))?.value)).toBe('a');
  });

  it('detects an MVCC conflict within a block and when a read key appeared since', async () => {
    await ledger.commit([write('k', '0').envelope]);
    const read = { key: 'k', version: { blockNum: 1, txNum: 0 } };
    const a = tx({ namespace: CC, reads: [read], writes: [{ key: 'k', value: 'a' }] });
    const b = tx({ namespace: CC, reads: [read], writes: [{ key: 'k', value: 'b' }] });
    const absent = tx({ namespace: CC, reads: [{ key: 'k' }] });
    expect((await ledger.commit([a.envelope, b.envelope, absent.envelope])).codes).toEqual([
      Code.VALID,
      Code.MVCC_READ_CONFLICT,
      Code.MVCC_READ_CONFLICT,
    ]);
  });

  it('detects a phantom read when a key appears inside an exhausted range', async () => {
    await ledger.commit([write('r1', '1').envelope]);
    const range = {
      startKey: 'r',
      endKey: 's',
      itrExhausted: true,
      reads: [{ key: 'r1', version: { blockNum: 1, txNum: 0 } }],
    };
    const reader = tx({ namespace: CC, ranges: [range], writes: [{ key: 'sum', value: '1' }] });
    const inserter = write('r2', '2');
    // Same block, inserter first: the range now sees r2 from an earlier valid tx.
    expect((await ledger.commit([inserter.envelope, reader.envelope])).codes).toEqual([
      Code.VALID,
      Code.PHANTOM_READ_CONFLICT,
    ]);
  });

  it('accepts an unchanged range and ignores keys beyond the last read of a non-exhausted range', async () => {
    await ledger.commit([write('r1', '1').envelope, write('r2', '2').envelope]);
    const v1 = { blockNum: 1, txNum: 0 };
    const exhausted = tx({
      namespace: CC,
      ranges: [
        {
          startKey: 'r',
          endKey: 's',
          itrExhausted: true,
          reads: [
            { key: 'r1', version: v1 },
            { key: 'r2', version: { blockNum: 1, txNum: 1 } },
          ],
        },
      ],
    });
    const partial = tx({
      namespace: CC,
      ranges: [{ startKey: 'r', endKey: 'r1', itrExhausted: false, reads: [{ key: 'r1', version: v1 }] }],
    });
    expect((await ledger.commit([exhausted.envelope, partial.envelope])).codes).toEqual([Code.VALID, Code.VALID]);
    const stale = tx({
      namespace: CC,
      ranges: [{ startKey: 'r', endKey: 's', itrExhausted: true, reads: [{ key: 'r1', version: v1 }] }],
    });
    expect((await ledger.commit([stale.envelope])).codes).toEqual([Code.PHANTOM_READ_CONFLICT]);
  });

  it('changes state only for VALID transactions and applies deletes', async () => {
    await ledger.commit([write('d', 'x').envelope]);
    const del = tx({ namespace: CC, writes: [{ key: 'd', isDelete: true }] });
    const invalid = tx({ namespace: CC, writes: [{ key: 'e', value: 'y' }] }, { badCreatorSignature: true });
    const { updates } = await ledger.commit([del.envelope, invalid.envelope]);
    expect(updates).toEqual([{ namespace: CC, key: 'd', value: null, version: { blockNum: 2, txNum: 0 } }]);
    expect(await ledger.store.getState(CC, 'd')).toBeUndefined();
    expect(await ledger.store.getState(CC, 'e')).toBeUndefined();
  });

  const envelopeOf = (payload: common.Payload, signer = ledger.client) => {
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    envelope.setSignature(signer.sign(payload.serializeBinary()));
    return envelope.serializeBinary();
  };

  it('rejects a payload without header, or with an empty nonce, as BAD_COMMON_HEADER', async () => {
    const noHeader = new common.Payload();
    const noNonce = headerOnlyPayload(CHANNEL, common.HeaderType.ENDORSER_TRANSACTION, ledger.client);
    expect((await ledger.commit([envelopeOf(noHeader), envelopeOf(noNonce)])).codes).toEqual([
      Code.BAD_COMMON_HEADER,
      Code.BAD_COMMON_HEADER,
    ]);
  });

  it('rejects a channel config update after genesis as INVALID_CONFIG_TRANSACTION', async () => {
    const genesis = buildGenesisBlock({
      channelId: CHANNEL,
      orgs: [{ mspId: ledger.org.mspId, rootCerts: [ledger.org.caPem], tlsRootCerts: [] }],
      ordererOrg: { mspId: ledger.ordererOrg.mspId, rootCerts: [ledger.ordererOrg.caPem], tlsRootCerts: [] },
      ordererSigner: ledger.orderer,
    });
    const config = genesis.getData()?.getDataList_asU8()[0] ?? new Uint8Array();
    expect((await ledger.commit([config])).codes).toEqual([Code.INVALID_CONFIG_TRANSACTION]);
  });

  it('rejects a proposal response whose results are not a read-write set as BAD_RWSET', async () => {
    const good = tx({ namespace: CC, writes: [{ key: 'a', value: 'x' }] });
    // Re-sign a copy whose ChaincodeAction.results is garbage, keeping header, txid and proposal hash intact.
    const envelope = common.Envelope.deserializeBinary(good.envelope);
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
    const action = transaction.getActionsList()[0] as peer.TransactionAction;
    const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const endorsed = actionPayload.getAction() as peer.ChaincodeEndorsedAction;
    const prp = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
    const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    ccAction.setResults(Uint8Array.of(0xff, 0xff));
    prp.setExtension$(ccAction.serializeBinary());
    endorsed.setProposalResponsePayload(prp.serializeBinary());
    actionPayload.setAction(endorsed);
    action.setPayload(actionPayload.serializeBinary());
    payload.setData(transaction.serializeBinary());
    expect((await ledger.commit([envelopeOf(payload)])).codes).toEqual([Code.BAD_RWSET]);
  });

  it("meets the ledger peer's organisation's Endorsement policy only with that organisation's peers", async () => {
    // Peer certificates other channel MSPs mint (here the orderer organisation's CA) endorse nothing: on Fabric the
    // chaincode's policy, here /Channel/Application/<peer's MSP>/Endorsement (OR('Org1MSP.peer')).
    const foreignPeer = await ledger.ordererOrg.issue('peer');
    const renewedPeer = await ledger.org.issue('peer');
    const forged = tx({ namespace: CC, writes: [{ key: 'a', value: 'forged' }] }, { endorsers: [foreignPeer] });
    const clientOnly = tx({ namespace: CC, writes: [{ key: 'b', value: 'x' }] }, { endorsers: [ledger.client] });
    const renewed = tx({ namespace: CC, writes: [{ key: 'c', value: 'x' }] }, { endorsers: [renewedPeer] });
    const withForeign = tx(
      { namespace: CC, writes: [{ key: 'd', value: 'x' }] },
      { endorsers: [foreignPeer, ledger.peer] },
    );
    const { codes } = await ledger.commit([
      forged.envelope,
      clientOnly.envelope,
      renewed.envelope,
      withForeign.envelope,
    ]);
    expect(codes).toEqual([Code.ENDORSEMENT_POLICY_FAILURE, Code.ENDORSEMENT_POLICY_FAILURE, Code.VALID, Code.VALID]);
    expect(await ledger.store.getState(CC, 'a')).toBeUndefined();
  });

  it("refuses, as Fabric's dispatcher, what the invoked chaincode did not write", async () => {
    const writes = [{ key: 'k', value: 'x' }];
    const envelopes = [
      // Another chaincode's namespace, and the peer's private-data namespaces.
      tx({ namespace: 'other-cc', writes }).envelope,
      tx({ namespace: `${CC}$$p_implicit_org_Org1MSP`, writes }).envelope,
      tx({ namespace: `${CC}$$h_implicit_org_Org1MSP`, writes }).envelope,
      // A ChaincodeAction of another chaincode than the proposal's, and a name no chaincode has.
      tx({ namespace: CC, writes }, { actionChaincodeName: 'other-cc' }).envelope,
      tx({ namespace: `${CC}$$pX`, writes }, { chaincodeName: `${CC}$$pX` }).envelope,
      // The same namespace twice; an event of another chaincode.
      buildEndorserTransaction({
        channelId: CHANNEL,
        chaincodeName: CC,
        creator: ledger.client,
        endorsers: [ledger.peer],
        rwsets: [{ namespace: CC, writes }, { namespace: CC }],
      }).envelope,
      tx({ namespace: CC, writes }, { eventChaincodeName: 'other-cc' }).envelope,
      // Another chaincode's namespace written by a private data hash only, or a key's metadata only.
      ...[
        { namespace: 'other-cc', collectionWrites: [{ collection: '_implicit_org_Org1MSP', key: 'k', value: 'x' }] },
        { namespace: 'other-cc', metadataWrites: ['k'] },
      ].map(
        (other) =>
          buildEndorserTransaction({
            channelId: CHANNEL,
            chaincodeName: CC,
            creator: ledger.client,
            endorsers: [ledger.peer],
            rwsets: [{ namespace: CC, writes }, other],
          }).envelope,
      ),
      // Reading another namespace writes nothing there; an event of the chaincode itself.
      buildEndorserTransaction({
        channelId: CHANNEL,
        chaincodeName: CC,
        creator: ledger.client,
        endorsers: [ledger.peer],
        rwsets: [
          { namespace: CC, writes: [{ key: 'ok', value: 'x' }] },
          { namespace: 'other-cc', reads: [{ key: 'r' }] },
        ],
        eventChaincodeName: CC,
      }).envelope,
    ];
    const { codes } = await ledger.commit(envelopes);
    expect(codes).toEqual([
      Code.INVALID_CHAINCODE,
      Code.INVALID_CHAINCODE,
      Code.INVALID_CHAINCODE,
      Code.INVALID_CHAINCODE,
      Code.INVALID_CHAINCODE,
      Code.ILLEGAL_WRITESET,
      Code.INVALID_OTHER_REASON,
      Code.INVALID_CHAINCODE,
      Code.INVALID_CHAINCODE,
      Code.VALID,
    ]);
    expect(await ledger.store.getState('other-cc', 'k')).toBeUndefined();
    expect(await ledger.store.getState(`${CC}$$p_implicit_org_Org1MSP`, 'k')).toBeUndefined();
  });

  it("checks certificates at validation by their chain, not their validity period, as Fabric's MSP", async () => {
    // msp/mspimplvalidate.go getValidityOptsForCert: at notBefore + 1 s. Expiry is refused when a request comes in.
    const day = 86_400_000;
    const minute = 60_000;
    // Issued after its CA's notBefore (5 minutes back), expired since: its chain held at its issuance.
    const expired = { notBefore: new Date(Date.now() - 4 * minute), notAfter: new Date(Date.now() - minute) };
    const notYet = { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 3 * day) };
    const expiredClient = await ledger.org.issue('client', undefined, expired);
    const laggingPeer = await ledger.org.issue('peer', undefined, notYet);
    const byExpired = tx({ namespace: CC, writes: [{ key: 'a', value: 'x' }] }, { creator: expiredClient });
    const endorsedEarly = tx({ namespace: CC, writes: [{ key: 'b', value: 'x' }] }, { endorsers: [laggingPeer] });
    const { codes } = await ledger.commit([byExpired.envelope, endorsedEarly.envelope]);
    expect(codes).toEqual([Code.VALID, Code.VALID]);
  });

  it('lets a txid be kept by the first transaction in the block that meets its policy, not by one that fails it', async () => {
    // v20/validator.go markTXIdDuplicates counts only transactions VALID after the policy check.
    const nonce = randomBytes(24);
    const writes = [{ key: 'n3', value: 'x' }];
    const foreign = tx({ namespace: CC, writes }, { nonce, endorsers: [await ledger.ordererOrg.issue('peer')] });
    const endorsed = tx({ namespace: CC, writes }, { nonce });
    const again = tx({ namespace: CC, writes }, { nonce });
    expect(endorsed.txId).toBe(foreign.txId);
    const { codes } = await ledger.commit([foreign.envelope, endorsed.envelope, again.envelope]);
    expect(codes).toEqual([Code.ENDORSEMENT_POLICY_FAILURE, Code.VALID, Code.DUPLICATE_TXID]);
    // The txid index names the first occurrence, the copy that failed its policy, though txNum 1's writes applied:
    // so CommitStatus answers ENDORSEMENT_POLICY_FAILURE, as Fabric's (blkstorage blockindex.go getTxIDVal returns
    // the first entry of the txid's range; markTXIdDuplicates leaves the failed copy's code as it is).
    expect(await ledger.store.getTxLocation(endorsed.txId)).toMatchObject({ txNum: 0 });
  });

  it('applies an injected endorsement policy', async () => {
    const secondPeer = await ledger.org.issue('peer');
    const one = tx({ namespace: CC, writes: [{ key: 'a', value: 'x' }] });
    const two = tx({ namespace: CC, writes: [{ key: 'b', value: 'x' }] }, { endorsers: [ledger.peer, secondPeer] });
    const twice = tx({ namespace: CC, writes: [{ key: 'c', value: 'x' }] }, { endorsers: [ledger.peer, ledger.peer] });
    const block = buildBlock({
      number: 1,
      previousHash: ledger.store.blockchainInfo().getCurrentblockhash_asU8(),
      envelopes: [one.envelope, two.envelope, twice.envelope],
      ordererSigner: ledger.orderer,
      lastConfigIndex: 0,
    });
    const { codes } = await validateBlock(block, {
      channelId: CHANNEL,
      identities: ledger.identities,
      state: ledger.store,
      txIndex: ledger.store,
      endorsementPolicy: { evaluate: (endorsers) => endorsers.length >= 2 },
    });
    // The same endorser twice counts once.
    expect(codes).toEqual([Code.ENDORSEMENT_POLICY_FAILURE, Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE]);
  });

  it('computes txids as hex SHA-256 of nonce ‖ creator', () => {
    const built = tx({ namespace: CC });
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(built.envelope).getPayload_asU8(),
    );
    const signatureHeader = common.SignatureHeader.deserializeBinary(
      payload.getHeader()?.getSignatureHeader_asU8() ?? new Uint8Array(),
    );
    expect(built.txId).toBe(
      sha256Hex(Buffer.concat([signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()])),
    );
  });
});
