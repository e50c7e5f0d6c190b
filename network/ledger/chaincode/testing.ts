/**
 * Test support for the chaincode runtime: committed state over a sorted Map, a real client identity and real
 * signed proposals, and a readable view of the rwset.
 */
import type { KeyObject } from 'node:crypto';
import { common, ledger, peer } from '@hyperledger/fabric-protos';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { sha256, sha256Hex, signP256 } from '../../crypto/index.ts';
import { issueCertificate } from '../../pki/index.ts';
import { serializeIdentity } from '../msp/index.ts';
import type { ChaincodeInvocation, StateEntry, StateReader, Version, VersionedValue } from '../types.ts';
import { compareKeys } from './keys.ts';

/** Committed state kept in UTF-8 byte order, as LevelDB keeps it. */
export class MapState implements StateReader {
  private readonly entries = new Map<string, Map<string, VersionedValue>>();

  set(namespace: string, key: string, value: string, version: Version): this {
    const ns = this.entries.get(namespace) ?? new Map<string, VersionedValue>();
    ns.set(key, { value: Buffer.from(value), version });
    this.entries.set(namespace, ns);
    return this;
  }

  getState(namespace: string, key: string): Promise<VersionedValue | undefined> {
    return Promise.resolve(this.entries.get(namespace)?.get(key));
  }

  async *getStateRange(namespace: string, startKey: string, endKey: string): AsyncIterable<StateEntry> {
    const keys = [...(this.entries.get(namespace)?.keys() ?? [])].sort(compareKeys);
    for (const key of keys) {
      if (compareKeys(key, startKey) < 0 || (endKey !== '' && compareKeys(key, endKey) >= 0)) continue;
      const entry = await this.getState(namespace, key);
      if (entry !== undefined) yield { key, ...entry };
    }
  }
}

export interface ClientIdentity {
  readonly mspId: string;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
  readonly serialized: Uint8Array;
}

/** A client identity issued by a fresh CA of `mspId`, through the project's PKI. */
export async function createClientIdentity(mspId: string, commonName: string): Promise<ClientIdentity> {
  const subject = (cn: string) => ({ commonName: cn, organization: mspId, locality: 'Test' });
  const ca = await issueCertificate({ subject: subject(`ca.${mspId}`), profile: { kind: 'ca' } });
  const leaf = await issueCertificate({
    subject: subject(commonName),
    profile: { kind: 'identity', nodeOU: 'client', attrs: {} },
    issuer: ca,
  });
  return {
    mspId,
    certificatePem: leaf.certificatePem,
    privateKey: leaf.privateKey,
    serialized: serializeIdentity(mspId, leaf.certificatePem),
  };
}

/**
 * A real SignedProposal for `args` (reference §4.1). The nonce derives from `seed`, so the same seed gives the
 * same txid on every transport.
 */
export function invocationOf(
  client: ClientIdentity,
  channelId: string,
  chaincodeName: string,
  args: readonly string[],
  seed: string,
): ChaincodeInvocation {
  const nonce = sha256(Buffer.from(seed)).subarray(0, 24);
  const txId = sha256Hex(Buffer.concat([nonce, client.serialized]));

  const input = new peer.ChaincodeInput();
  input.setArgsList(args.map((arg) => Buffer.from(arg)));
  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(chaincodeName);
  const spec = new peer.ChaincodeSpec();
  spec.setType(peer.ChaincodeSpec.Type.NODE);
  spec.setChaincodeId(chaincodeId);
  spec.setInput(input);
  const invocationSpec = new peer.ChaincodeInvocationSpec();
  invocationSpec.setChaincodeSpec(spec);
  const payload = new peer.ChaincodeProposalPayload();
  payload.setInput(invocationSpec.serializeBinary());

  const extension = new peer.ChaincodeHeaderExtension();
  extension.setChaincodeId(chaincodeId);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
  channelHeader.setChannelId(channelId);
  channelHeader.setTxId(txId);
  const timestamp = new timestampPb.Timestamp();
  timestamp.setSeconds(1_700_000_000);
  channelHeader.setTimestamp(timestamp);
  channelHeader.setExtension$(extension.serializeBinary());
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(client.serialized);
  signatureHeader.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());

  const proposal = new peer.Proposal();
  proposal.setHeader(header.serializeBinary());
  proposal.setPayload(payload.serializeBinary());
  const proposalBytes = proposal.serializeBinary();
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(proposalBytes);
  signed.setSignature(signP256(client.privateKey, proposalBytes));

  return { channelId, txId, chaincodeName, signedProposal: signed.serializeBinary(), input: input.serializeBinary() };
}

export interface ReadableRwset {
  namespaces: {
    namespace: string;
    reads: { key: string; version?: Version }[];
    rangeQueries: { startKey: string; endKey: string; exhausted: boolean; reads: string[] }[];
    writes: { key: string; isDelete: boolean; value: string }[];
  }[];
}

export function readRwset(bytes: Uint8Array): ReadableRwset {
  const txRwSet = ledger.rwset.TxReadWriteSet.deserializeBinary(bytes);
  return {
    namespaces: txRwSet.getNsRwsetList().map((ns) => {
      const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
      return {
        namespace: ns.getNamespace(),
        reads: kv.getReadsList().map((read) => {
          const version = read.getVersion();
          return {
            key: read.getKey(),
            ...(version === undefined
              ? {}
              : { version: { blockNum: version.getBlockNum(), txNum: version.getTxNum() } }),
          };
        }),
        rangeQueries: kv.getRangeQueriesInfoList().map((info) => ({
          startKey: info.getStartKey(),
          endKey: info.getEndKey(),
          exhausted: info.getItrExhausted(),
          reads:
            info
              .getRawReads()
              ?.getKvReadsList()
              .map((read) => read.getKey()) ?? [],
        })),
        writes: kv.getWritesList().map((write) => ({
          key: write.getKey(),
          isDelete: write.getIsDelete(),
          value: Buffer.from(write.getValue_asU8()).toString(),
        })),
      };
    }),
  };
}

export interface TlsMaterial {
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

/** A TLS CA with a server certificate for 127.0.0.1/localhost and a client certificate, for mutual TLS. */
export async function createTlsMaterial(): Promise<TlsMaterial> {
  const subject = (cn: string) => ({ commonName: cn, organization: 'PeerOrg', locality: 'Test' });
  const ca = await issueCertificate({ subject: subject('tlsca'), profile: { kind: 'ca' } });
  const server = await issueCertificate({
    subject: subject('chaincode'),
    profile: { kind: 'tls-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    issuer: ca,
  });
  const client = await issueCertificate({ subject: subject('peer0'), profile: { kind: 'tls-client' }, issuer: ca });
  return {
    caPem: ca.certificate.toString(),
    serverCertPem: server.certificatePem,
    serverKeyPem: server.privateKeyPem,
    clientCertPem: client.certificatePem,
    clientKeyPem: client.privateKeyPem,
  };
}
