import { X509Certificate } from 'node:crypto';
import { common, gateway, ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signP256 } from '../../crypto/index.ts';
import { admitEnvelope } from '../orderer/admission.ts';
import { invocationOf } from '../chaincode/testing.ts';
import { setChaincodeLogLevel, startInProcessChaincode } from '../chaincode/index.ts';
import type { ChaincodeConnection, IdentityVerifier, KvWrite } from '../types.ts';
import { setTransactionsFilter, type DecodedEnvelope } from '../block/index.ts';
import { validateBlock } from '../validation/index.ts';
import { CHANNEL, createTestLedger, type TestLedger } from '../validation/test-ledger.ts';
import { countingDecodes } from '../validation/count-decodes.ts';
import { Endorser, type Endorsement } from './endorser.ts';
import { PreparedTransactions, type PreparedTransaction } from './prepared-transactions.ts';
import { GRPC_FRAME_HEADER_BYTES } from '../gateway/shared-frames.ts';
import { createTestOrg } from '../validation/test-identities.ts';
import { buildEndorserTransaction } from '../validation/test-tx-builder.ts';

const CC = 'basic';
const Code = peer.TxValidationCode;

interface Stub {
  getState(key: string): Promise<Uint8Array>;
  putState(key: string, value: Uint8Array): Promise<void>;
  setEvent(name: string, payload: Buffer): void;
  getArgs(): string[];
}

describe('the prepared transaction', () => {
  let ledger: TestLedger;
  let chaincode: ChaincodeConnection;
  let endorser: Endorser;
  const prepared: PreparedTransaction[] = [];

  beforeAll(async () => {
    setChaincodeLogLevel('WARNING');
    ledger = await createTestLedger();
    // A low-level chaincode through the real fabric-shim: reads, writes, an event when asked, any status < 400.
    chaincode = await startInProcessChaincode({
      name: CC,
      mspId: ledger.org.mspId,
      chaincode: {
        Init: () => Promise.resolve({ status: 200 }),
        Invoke: async (raw) => {
          const stub = raw as Stub;
          const [, key = '', value = '', event = '', status = '200', message = ''] = stub.getArgs();
          await stub.getState(key);
          await stub.putState(key, Buffer.from(value));
          if (event !== '') stub.setEvent(event, Buffer.from(`event of ${key}`));
          return { status: Number(status), message, payload: Buffer.from(`put ${key}`) };
        },
      },
    });
    endorser = endorserOf(chaincode);
  });
  const endorserOf = (connection: ChaincodeConnection) =>
    new Endorser({
      channelId: CHANNEL,
      msps: ledger.identities,
      state: ledger.store,
      findTransaction: (txId) => ledger.store.getTxLocation(txId),
      chaincodes: new Map([[connection.name, connection]]),
      systemChaincodes: new Map(),
      peerSigner: ledger.peer,
      access: () => ledger.access,
      chaincodeVersion: '1.0',
      onPrepared: (transaction) => prepared.push(transaction),
    });
  afterAll(async () => {
    await chaincode.close();
    await ledger.dispose();
  });

  const client = () => ({ ...ledger.client, serialized: ledger.client.serializedIdentity });
  const endorse = (seed: string, args: readonly string[]) =>
    endorser.endorse(invocationOf(client(), CHANNEL, CC, ['put', ...args], seed).signedProposal);
  const signed = (unsigned: Uint8Array, tamper?: (payload: Buffer) => Buffer) => {
    const envelope = common.Envelope.deserializeBinary(unsigned);
    const payload = tamper ? tamper(Buffer.from(envelope.getPayload_asU8())) : envelope.getPayload_asU8();
    envelope.setPayload(payload);
    envelope.setSignature(signP256(ledger.client.privateKey, payload));
    return envelope.serializeBinary();
  };

  it("refuses a proposal whose creator the config's /Channel/Application/Writers does not cover", async () => {
    // Org2MSP's CA is trusted by the MSPs for this test, but the channel config names no Org2MSP group.
    const org2 = await createTestOrg('Org2MSP');
    const creator = await org2.issue('client');
    const members = [ledger.org, ledger.ordererOrg];
    const mspConfig = (org: { mspId: string; caPem: string }) => ({
      mspId: org.mspId,
      rootCerts: [new X509Certificate(org.caPem)],
    });
    ledger.identities.reconfigure([...members, org2].map(mspConfig));
    try {
      const proposal = invocationOf(
        { ...creator, serialized: creator.serializedIdentity },
        CHANNEL,
        CC,
        ['put', 'w'],
        'w',
      );
      await expect(endorser.endorse(proposal.signedProposal)).rejects.toMatchObject({
        code: 'PROPOSAL_REJECTED',
        message: `Failed evaluating policy on signed data during check policy on channel [${CHANNEL}] with policy [/Channel/Application/Writers]: [implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Writers' sub-policies to be satisfied]`,
      });
    } finally {
      ledger.identities.reconfigure(members.map(mspConfig));
    }
  });

  it('simulates on one snapshot of state: a block committed between two reads is not seen', async () => {
    // Fabric's simulator holds the commit lock for the whole simulation (txmgr NewTxSimulator).
    let readFirst!: () => void;
    const firstRead = new Promise<void>((resolve) => (readFirst = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const twoReads = await startInProcessChaincode({
      name: 'two-reads',
      mspId: ledger.org.mspId,
      chaincode: {
        Init: () => Promise.resolve({ status: 200 }),
        Invoke: async (raw) => {
          const stub = raw as Stub;
          const a = Buffer.from(await stub.getState('a')).toString();
          readFirst();
          await released;
          const b = Buffer.from(await stub.getState('b')).toString();
          return { status: 200, payload: Buffer.from(`${a},${b}`) };
        },
      },
    });
    const write = (value: string) =>
      buildEndorserTransaction({
        channelId: CHANNEL,
        chaincodeName: 'two-reads',
        creator: ledger.client,
        endorsers: [ledger.peer],
        rwsets: [{ namespace: 'two-reads', writes: ['a', 'b'].map((key) => ({ key, value })) }],
      }).envelope;
    try {
      expect((await ledger.commit([write('1')])).codes).toEqual([Code.VALID]);
      const proposal = invocationOf(client(), CHANNEL, 'two-reads', ['get'], 'two-reads');
      const evaluated = endorserOf(twoReads).evaluate(proposal.signedProposal);
      await firstRead;
      expect((await ledger.commit([write('2')])).codes).toEqual([Code.VALID]);
      release();
      expect(Buffer.from((await evaluated).payload).toString()).toBe('1,1');
    } finally {
      await twoReads.close();
    }
  });

  it('is the bytes google-protobuf encodes from the same parts', async () => {
    for (const [seed, args] of [
      ['plain', ['a', '1']],
      ['event', ['b', '2', 'Created']],
      ['status-and-message', ['c', '', '', '201', '创建 created']],
    ] as const) {
      const endorsement = await endorse(seed, args);
      expect(Buffer.from(endorsement.preparedTransaction).equals(referenceEncoding(endorsement)), seed).toBe(true);
    }
  });

  it("is answered as the gateway's EndorseResponse written around it, not copied into one", async () => {
    const endorsement = await endorse('endorse-response', ['r', '1', 'Put']);
    const expected = new gateway.EndorseResponse();
    expected.setPreparedTransaction(common.Envelope.deserializeBinary(endorsement.preparedTransaction));
    expect(Buffer.from(endorsement.endorseResponse).equals(Buffer.from(expected.serializeBinary()))).toBe(true);
    // The envelope is the response's tail, in the same memory: the gateway sends the response as it is.
    expect(endorsement.preparedTransaction.buffer).toBe(endorsement.endorseResponse.buffer);
    const { byteOffset, length } = endorsement.endorseResponse;
    expect(endorsement.preparedTransaction.byteOffset + endorsement.preparedTransaction.length).toBe(
      byteOffset + length,
    );
    // Written inside its gRPC frame, which the server sends without copying it again (gateway/shared-frames.ts).
    const frame = Buffer.from(
      endorsement.endorseResponse.buffer,
      byteOffset - GRPC_FRAME_HEADER_BYTES,
      length + GRPC_FRAME_HEADER_BYTES,
    );
    expect([frame.readUInt8(0), frame.readUInt32BE(1)]).toEqual([0, length]);
  });

  it('holds a large write set once, where the envelope has it: what the committer applies is a view of it', async () => {
    prepared.length = 0;
    const endorsement = await endorse('rwset-once', ['w', 'x'.repeat(20_000)]);
    const record = prepared.at(-1);
    // Not handed over as read: the record would keep the simulation's copy of the values until Submit.
    expect(record?.endorsed?.rwsets).toBeUndefined();
    const results = record?.endorsed?.results ?? new Uint8Array();
    expect(results.buffer).toBe(endorsement.endorseResponse.buffer);
    const action = decodeLayers(endorsement.preparedTransaction).chaincodeAction;
    expect(Buffer.from(results).equals(Buffer.from(action.getResults_asU8()))).toBe(true);
    expect(results.length).toBeGreaterThan(20_000);
  });

  it("hands the committer its simulation's reads and writes, validated as decoding them would: a stale read conflicts", async () => {
    const known = new Map<Uint8Array, DecodedEnvelope>();
    const submit = async (seed: string, args: readonly string[]) => {
      prepared.length = 0;
      const envelope = signed((await endorse(seed, args)).preparedTransaction);
      const records = new PreparedTransactions();
      for (const p of prepared) records.keep(p);
      const admission = {
        channelId: CHANNEL,
        msps: ledger.identities,
        channelWriters: ledger.access.channelWriters,
        absoluteMaxBytes: 1 << 20,
      };
      known.set(envelope, admitEnvelope(envelope, { ...admission, prepared: (bytes) => records.take(bytes) }));
      return { envelope, record: prepared[0] };
    };
    const context = ledger.validationContext();
    const commit = async (envelopes: Uint8Array[]) => {
      const block = ledger.nextBlock(envelopes);
      const byItself = await validateBlock(block, context);
      const { result, decodes } = await countingDecodes(ledgerProtos.rwset.TxReadWriteSet, () =>
        validateBlock(block, { ...context, decoded: (e) => known.get(e) }),
      );
      expect(result).toEqual(byItself);
      // Every transaction was endorsed here: no write set decoded.
      expect(decodes).toBe(0);
      setTransactionsFilter(block, result.codes);
      await ledger.store.commitBlock(block, result.updates, result);
      return result.codes;
    };
    expect(await commit([(await submit('stale-0', ['m', '0'])).envelope])).toEqual([Code.VALID]);
    const read = await ledger.store.getState(CC, 'm');
    // Reads m at the version committed now, which the next block changes before this one commits.
    const stale = await submit('stale-a', ['m', 'a']);
    expect(stale.record?.endorsed?.rwsets?.map(({ reads, writes }) => ({ reads, writes: writes.map(text) }))).toEqual([
      { reads: [{ key: 'm', version: read?.version }], writes: [['m', 'a']] },
    ]);
    expect(await commit([(await submit('stale-b', ['m', 'b'])).envelope])).toEqual([Code.VALID]);
    const current = await submit('stale-c', ['m', 'c']);
    expect(await commit([stale.envelope, current.envelope])).toEqual([Code.MVCC_READ_CONFLICT, Code.VALID]);
    expect(Buffer.from((await ledger.store.getState(CC, 'm'))?.value ?? []).toString()).toBe('c');
  });

  it('is admitted and validated from what the endorser recorded, as decoding it would, and only if unchanged', async () => {
    prepared.length = 0;
    const first = await endorse('admit-1', ['k1', 'v1', 'Put']);
    const second = await endorse('admit-2', ['k2', 'v2']);
    const third = await endorse('admit-3', ['k3', 'v3']);
    const fourth = await endorse('admit-4', ['k4', 'v4']);
    const records = new PreparedTransactions();
    for (const p of prepared) records.keep(p);
    expect(records.size).toBe(4);

    const envelopes = [
      signed(first.preparedTransaction),
      // The same transaction with its payload changed after endorsement (a byte of the response payload).
      signed(second.preparedTransaction, (payload) => {
        const at = payload.lastIndexOf(Buffer.from('put k2'));
        payload[at + 4] = 'x'.charCodeAt(0);
        return payload;
      }),
      // Extra bytes after the envelope's fields: not the plain Envelope the record describes.
      Buffer.concat([signed(third.preparedTransaction), Buffer.from([0x1a, 0x00])]),
      // Its channel header's txid changed: validated as any client's, its txid checked (the endorser's check of the
      // txid stands only for the headers it prepared).
      signed(fourth.preparedTransaction, (payload) => {
        const at = Buffer.from(payload)
          .toString('latin1')
          .search(/[0-9a-f]{64}/);
        payload[at] = payload[at] === 0x30 ? 0x31 : 0x30;
        return payload;
      }),
    ];
    const admission = {
      channelId: CHANNEL,
      msps: ledger.identities,
      channelWriters: ledger.access.channelWriters,
      absoluteMaxBytes: 1 << 20,
    };
    const known = new Map(
      envelopes.map((e) => [e, admitEnvelope(e, { ...admission, prepared: (bytes) => records.take(bytes) })]),
    );
    expect([...known.values()].map((d) => d.endorsed !== undefined)).toEqual([true, false, false, false]);
    // Taken once: a second submission of the same envelope is decoded.
    expect(records.take(envelopes[0] ?? new Uint8Array())).toBeUndefined();
    // What admission decodes by itself is what the record says, but for the contents of the transaction.
    const [firstEnvelope] = envelopes;
    const { endorsed, ...outer } = known.get(firstEnvelope ?? new Uint8Array()) ?? {};
    expect(endorsed?.chaincodeName).toBe(CC);
    expect(asBuffers(outer)).toEqual(asBuffers(admitEnvelope(firstEnvelope ?? new Uint8Array(), admission)));

    const block = ledger.nextBlock(envelopes);
    const context = ledger.validationContext();
    const byItself = await validateBlock(block, context);
    const { result: withRecords, decodes } = await countingDecodes(peer.Transaction, () =>
      validateBlock(block, { ...context, decoded: (e) => known.get(e) }),
    );
    expect(withRecords).toEqual(byItself);
    // The changed payload, signed again by its client, no longer carries the endorsement of the original: had the
    // record been used for it, it would be VALID.
    expect(byItself.codes).toEqual([Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE, Code.VALID, Code.BAD_PROPOSAL_TXID]);
    expect(byItself.updates.map((u) => [u.key, Buffer.from(u.value ?? []).toString()])).toEqual([
      ['k1', 'v1'],
      ['k3', 'v3'],
    ]);
    // Only the envelopes not taken from a record are decoded, the one with a changed txid not past its headers.
    expect(decodes).toBe(2);
  });

  it('commits its own endorsement and an admitted creator signature without verifying them again, identities validated again', async () => {
    prepared.length = 0;
    const endorsements = [await endorse('own-1', ['o1', 'v1']), await endorse('own-2', ['o2', 'v2'])];
    const records = new PreparedTransactions();
    for (const p of prepared) records.keep(p);
    const envelopes = endorsements.map((e) => signed(e.preparedTransaction));
    const admission = {
      channelId: CHANNEL,
      msps: ledger.identities,
      channelWriters: ledger.access.channelWriters,
      absoluteMaxBytes: 1 << 20,
    };
    const known = new Map(
      envelopes.map((e) => [e, admitEnvelope(e, { ...admission, prepared: (bytes) => records.take(bytes) })]),
    );
    const block = ledger.nextBlock(envelopes);
    // The real channel MSPs, counting signature checks; `refused` identities fail validation as if expired.
    let signatureChecks = 0;
    const refused = new Set<Uint8Array>();
    const msps = ledger.identities;
    const identities: IdentityVerifier = {
      hasMsp: (mspId) => msps.hasMsp(mspId),
      validate: (identity, at) =>
        [...refused].some((r) => Buffer.from(r).equals(identity))
          ? { ok: false, reason: 'expired' }
          : msps.validate(identity, at),
      verifySignature: (...args) => {
        signatureChecks++;
        return msps.verifySignature(...args);
      },
      verifySignatureAsync: (...args) => {
        signatureChecks++;
        return msps.verifySignatureAsync(...args);
      },
    };
    const context = {
      channelId: CHANNEL,
      identities,
      state: ledger.store,
      txIndex: ledger.store,
      endorsementPolicy: ledger.endorsementPolicy,
    };
    const validated = await validateBlock(block, { ...context, decoded: (e) => known.get(e) });
    expect(validated.codes).toEqual([Code.VALID, Code.VALID]);
    // Admission verified the creator's signature over these bytes; the endorsement is the ledger's own.
    expect(signatureChecks).toBe(0);
    // Decoded from the bytes alone, both signatures of each are verified.
    expect((await validateBlock(block, context)).codes).toEqual([Code.VALID, Code.VALID]);
    expect(signatureChecks).toBe(4);

    // Each identity is still validated at commit: a creator, or the peer, no longer valid fails the transaction.
    refused.add(ledger.client.serializedIdentity);
    expect((await validateBlock(block, { ...context, decoded: (e) => known.get(e) })).codes).toEqual([
      Code.BAD_CREATOR_SIGNATURE,
      Code.BAD_CREATOR_SIGNATURE,
    ]);
    refused.clear();
    refused.add(ledger.peer.serializedIdentity);
    expect((await validateBlock(block, { ...context, decoded: (e) => known.get(e) })).codes).toEqual([
      Code.ENDORSEMENT_POLICY_FAILURE,
      Code.ENDORSEMENT_POLICY_FAILURE,
    ]);
    expect(signatureChecks).toBe(4);
  });
});

const text = ({ key, value }: KvWrite) => [key, value && Buffer.from(value).toString()];
const asBuffers = (fields: object) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v) : v]));

/** The prepared envelope as google-protobuf's message objects encode it (the endorser's encoding before issue 13). */
function referenceEncoding(endorsement: Endorsement): Buffer {
  const { proposal, response } = endorsement;
  const decoded = decodeLayers(endorsement.preparedTransaction);
  const action = new peer.ChaincodeAction();
  action.setResults(decoded.chaincodeAction.getResults_asU8());
  const eventBytes = decoded.chaincodeAction.getEvents_asU8();
  if (eventBytes.length > 0) {
    const original = peer.ChaincodeEvent.deserializeBinary(eventBytes);
    const event = new peer.ChaincodeEvent();
    event.setChaincodeId(proposal.chaincodeName);
    event.setTxId(proposal.txId);
    event.setEventName(original.getEventName());
    event.setPayload(original.getPayload_asU8());
    action.setEvents(event.serializeBinary());
  }
  const peerResponse = new peer.Response();
  peerResponse.setStatus(response.status);
  peerResponse.setMessage(response.message);
  peerResponse.setPayload(response.payload);
  action.setResponse(peerResponse);
  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(proposal.chaincodeName);
  chaincodeId.setVersion('1.0');
  action.setChaincodeId(chaincodeId);

  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(proposal.proposalHash);
  prp.setExtension$(action.serializeBinary());
  const endorsementMessage = new peer.Endorsement();
  endorsementMessage.setEndorser(decoded.endorsement.getEndorser_asU8());
  endorsementMessage.setSignature(decoded.endorsement.getSignature_asU8());
  const endorsed = new peer.ChaincodeEndorsedAction();
  endorsed.setProposalResponsePayload(prp.serializeBinary());
  endorsed.setEndorsementsList([endorsementMessage]);
  const actionPayload = new peer.ChaincodeActionPayload();
  actionPayload.setChaincodeProposalPayload(proposal.strippedPayload);
  actionPayload.setAction(endorsed);
  const txAction = new peer.TransactionAction();
  txAction.setHeader(proposal.signatureHeaderBytes);
  txAction.setPayload(actionPayload.serializeBinary());
  const transaction = new peer.Transaction();
  transaction.setActionsList([txAction]);
  const header = new common.Header();
  header.setChannelHeader(proposal.channelHeaderBytes);
  header.setSignatureHeader(proposal.signatureHeaderBytes);
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(transaction.serializeBinary());
  const envelope = new common.Envelope();
  envelope.setPayload(payload.serializeBinary());
  return Buffer.from(envelope.serializeBinary());
}

function decodeLayers(envelopeBytes: Uint8Array) {
  const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8());
  const [action] = peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList();
  const endorsed = peer.ChaincodeActionPayload.deserializeBinary(
    action?.getPayload_asU8() ?? new Uint8Array(),
  ).getAction();
  const prp = peer.ProposalResponsePayload.deserializeBinary(
    endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
  );
  const [endorsement] = endorsed?.getEndorsementsList() ?? [];
  if (!endorsement) throw new Error('no endorsement');
  return { chaincodeAction: peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()), endorsement };
}
