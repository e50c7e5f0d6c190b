/**
 * Test support for the chaincode runtime: committed state over a sorted Map, a real client identity and real
 * signed proposals, and a readable view of the rwset.
 */
// @peculiar/x509's dependency injection needs the Reflect metadata polyfill loaded first
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import { common, ledger, msp, peer } from '@hyperledger/fabric-protos';
import * as x509 from '@peculiar/x509';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { sha256, sha256Hex, signP256 } from '../../crypto/index.ts';
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

/** A self-signed P-256 client certificate, as a dev CA would issue it. */
export async function createClientIdentity(mspId: string, commonName: string): Promise<ClientIdentity> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: `CN=${commonName}, OU=client, O=${mspId}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys,
      signingAlgorithm: algorithm,
    },
    webcrypto,
  );
  const certificatePem = certificate.toString('pem');
  const identity = new msp.SerializedIdentity();
  identity.setMspid(mspId);
  identity.setIdBytes(Buffer.from(certificatePem));
  return {
    mspId,
    certificatePem,
    privateKey: KeyObject.from(keys.privateKey),
    serialized: identity.serializeBinary(),
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
            ...(version === undefined ? {} : { version: { blockNum: version.getBlockNum(), txNum: version.getTxNum() } }),
          };
        }),
        rangeQueries: kv.getRangeQueriesInfoList().map((info) => ({
          startKey: info.getStartKey(),
          endKey: info.getEndKey(),
          exhausted: info.getItrExhausted(),
          reads: info.getRawReads()?.getKvReadsList().map((read) => read.getKey()) ?? [],
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

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface TlsMaterial {
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A TLS CA with a server certificate for 127.0.0.1/localhost and a client certificate, for mutual TLS. */
export async function createTlsMaterial(): Promise<TlsMaterial> {
  const caKeys = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    { name: 'CN=tlsca, O=PeerOrg', keys: caKeys, signingAlgorithm: P256, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] },
    webcrypto,
  );
  const issue = async (name: string, extensions: x509.Extension[]) => {
    const keys = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
    const certificate = await x509.X509CertificateGenerator.create(
      { subject: name, issuer: ca.subject, publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: P256, extensions },
      webcrypto,
    );
    return { certPem: certificate.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  };
  const server = await issue('CN=chaincode', [
    new x509.SubjectAlternativeNameExtension([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
    ]),
  ]);
  const client = await issue('CN=peer0, O=PeerOrg', []);
  return {
    caPem: ca.toString('pem'),
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
  };
}
