/**
 * The Lianxin consortium contract. Every transaction takes string arguments (JSON for lists) and returns canonical
 * JSON; the modules beside it hold the logic. Transaction names and argument order are the public API that the
 * node's chain facade calls.
 */
import { Context, Contract, Default, Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson } from './canonical-json';
import * as checkpoints from './checkpoints';
import * as consents from './consents';
import * as evidence from './evidence';
import * as receipts from './receipts';
import * as recordIndex from './record-index';
import * as registry from './registry';

const json = async (result: Promise<unknown>): Promise<string> => canonicalJson(await result);

@Info({
  title: 'Lianxin',
  description: 'Consortium registry, checkpoint anchoring, index, notarization, consents and access receipts',
})
@Default()
export class LianxinContract extends Contract {
  constructor() {
    super('lianxin');
  }

  // Registry

  @Transaction()
  @Returns('string')
  async RegisterOrganization(ctx: Context, mspId: string, name: string, city: string, role: string): Promise<string> {
    return json(registry.registerOrganization(ctx, mspId, name, city, role));
  }

  @Transaction()
  @Returns('string')
  async UpdateOrganization(ctx: Context, name: string, city: string): Promise<string> {
    return json(registry.updateOrganization(ctx, name, city));
  }

  @Transaction()
  @Returns('string')
  async SetOrganizationStatus(ctx: Context, mspId: string, status: string): Promise<string> {
    return json(registry.setOrganizationStatus(ctx, mspId, status));
  }

  @Transaction()
  @Returns('string')
  async SetUsccMode(ctx: Context, mode: string): Promise<string> {
    return json(registry.setUsccMode(ctx, mode));
  }

  @Transaction()
  @Returns('string')
  async RegisterNode(
    ctx: Context,
    nodeId: string,
    endpoint: string,
    peerId: string,
    addresses: string,
    shard: string,
  ): Promise<string> {
    return json(registry.registerNode(ctx, nodeId, endpoint, peerId, addresses, shard));
  }

  @Transaction()
  @Returns('string')
  async UpdateNode(ctx: Context, nodeId: string, endpoint: string, peerId: string, addresses: string): Promise<string> {
    return json(registry.updateNode(ctx, nodeId, endpoint, peerId, addresses));
  }

  @Transaction()
  @Returns('string')
  async RegisterKey(
    ctx: Context,
    publicKey: string,
    role: string,
    suite: string,
    validFrom: string,
    validUntil: string,
  ): Promise<string> {
    return json(registry.registerKey(ctx, publicKey, role, suite, validFrom, validUntil));
  }

  @Transaction()
  @Returns('string')
  async RotateKey(ctx: Context, oldKid: string, newPublicKey: string): Promise<string> {
    return json(registry.rotateKey(ctx, oldKid, newPublicKey));
  }

  /** RotateKey with the old key kept valid `overlapSeconds` longer ('' = 300, at most 86400): see registry.rotateKey. */
  @Transaction()
  @Returns('string')
  async RotateKeyWithOverlap(
    ctx: Context,
    oldKid: string,
    newPublicKey: string,
    overlapSeconds: string,
  ): Promise<string> {
    const overlap = registry.requireOverlapSeconds(overlapSeconds);
    return json(registry.rotateKey(ctx, oldKid, newPublicKey, overlap));
  }

  @Transaction()
  @Returns('string')
  async RevokeKey(ctx: Context, kid: string): Promise<string> {
    return json(registry.revokeKey(ctx, kid));
  }

  @Transaction(false)
  @Returns('string')
  async GetOrganization(ctx: Context, mspId: string): Promise<string> {
    return json(registry.getOrganization(ctx, mspId));
  }

  @Transaction(false)
  @Returns('string')
  async ListOrganizations(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    return json(registry.listOrganizations(ctx, pageSize, bookmark));
  }

  @Transaction(false)
  @Returns('string')
  async GetNode(ctx: Context, mspId: string, nodeId: string): Promise<string> {
    return json(registry.getNode(ctx, mspId, nodeId));
  }

  @Transaction(false)
  @Returns('string')
  async ListNodes(ctx: Context, mspId: string, pageSize: string, bookmark: string): Promise<string> {
    return json(registry.listNodes(ctx, mspId, pageSize, bookmark));
  }

  @Transaction(false)
  @Returns('string')
  async GetOrigin(ctx: Context, origin: string): Promise<string> {
    return json(registry.getOrigin(ctx, origin));
  }

  @Transaction(false)
  @Returns('string')
  async GetKey(ctx: Context, mspId: string, kid: string): Promise<string> {
    return json(registry.getKey(ctx, mspId, kid));
  }

  @Transaction(false)
  @Returns('string')
  async ListKeys(ctx: Context, mspId: string, pageSize: string, bookmark: string): Promise<string> {
    return json(registry.listKeys(ctx, mspId, pageSize, bookmark));
  }

  @Transaction(false)
  @Returns('string')
  async GetSettings(ctx: Context): Promise<string> {
    return json(registry.getSettings(ctx));
  }

  // Checkpoints and index

  @Transaction()
  @Returns('string')
  async AnchorCheckpoint(
    ctx: Context,
    checkpoint: string,
    consistencyProof: string,
    indexEntries: string,
  ): Promise<string> {
    return json(checkpoints.anchorCheckpoint(ctx, checkpoint, consistencyProof, indexEntries));
  }

  @Transaction(false)
  @Returns('string')
  async GetCheckpoint(ctx: Context, origin: string): Promise<string> {
    return json(checkpoints.getCheckpoint(ctx, origin));
  }

  @Transaction(false)
  @Returns('string')
  async ListCheckpoints(ctx: Context, origin: string, pageSize: string, bookmark: string): Promise<string> {
    return json(checkpoints.listCheckpoints(ctx, origin, pageSize, bookmark));
  }

  @Transaction(false)
  @Returns('string')
  async GetIndexChunk(ctx: Context, origin: string, checkpointSize: string, chunk: string): Promise<string> {
    return recordIndex.getIndexChunkJson(ctx, origin, checkpointSize, chunk);
  }

  /** Every index entry of one anchor, in the binary encoding (chaincode/src/index-entry-codec.ts), as base64. */
  @Transaction(false)
  @Returns('string')
  async GetIndexEntries(ctx: Context, origin: string, checkpointSize: string): Promise<string> {
    return recordIndex.getIndexEntries(ctx, origin, checkpointSize);
  }

  // Evidence

  @Transaction()
  @Returns('string')
  async NotarizeEvidence(
    ctx: Context,
    documentDigest: string,
    parties: string,
    partySignatureDigests: string,
  ): Promise<string> {
    return json(evidence.notarizeEvidence(ctx, documentDigest, parties, partySignatureDigests));
  }

  @Transaction(false)
  @Returns('string')
  async GetEvidence(ctx: Context, evidenceId: string): Promise<string> {
    return json(evidence.getEvidence(ctx, evidenceId));
  }

  @Transaction(false)
  @Returns('string')
  async ListEvidenceByDigest(
    ctx: Context,
    documentDigest: string,
    pageSize: string,
    bookmark: string,
  ): Promise<string> {
    return json(evidence.listEvidenceByDigest(ctx, documentDigest, pageSize, bookmark));
  }

  // Consents

  @Transaction()
  @Returns('string')
  async GrantConsent(
    ctx: Context,
    subject: string,
    grantee: string,
    purpose: string,
    scope: string,
    validFrom: string,
    validUntil: string,
    authorizationDigest: string,
  ): Promise<string> {
    return json(
      consents.grantConsent(ctx, subject, grantee, purpose, scope, validFrom, validUntil, authorizationDigest),
    );
  }

  @Transaction()
  @Returns('string')
  async RevokeConsent(ctx: Context, consentId: string): Promise<string> {
    return json(consents.revokeConsent(ctx, consentId));
  }

  @Transaction(false)
  @Returns('string')
  async GetConsent(ctx: Context, consentId: string): Promise<string> {
    return json(consents.getConsent(ctx, consentId));
  }

  @Transaction(false)
  @Returns('string')
  async IsConsentValid(
    ctx: Context,
    subject: string,
    grantee: string,
    purpose: string,
    kind: string,
    at: string,
  ): Promise<string> {
    return json(consents.isConsentValid(ctx, subject, grantee, purpose, kind, at));
  }

  @Transaction(false)
  @Returns('string')
  async ListConsentsBySubject(ctx: Context, subject: string, pageSize: string, bookmark: string): Promise<string> {
    return json(consents.listConsentsBySubject(ctx, subject, pageSize, bookmark));
  }

  // Access receipts

  @Transaction()
  @Returns('string')
  async RecordAccessReceipt(
    ctx: Context,
    receiptDigest: string,
    requester: string,
    provider: string,
    subject: string,
    purpose: string,
    consentId: string,
    accessedAt: string,
  ): Promise<string> {
    return json(
      receipts.recordAccessReceipt(ctx, receiptDigest, requester, provider, subject, purpose, consentId, accessedAt),
    );
  }

  /** A JSON array of up to 100 receipts, each with RecordAccessReceipt's arguments by name; all or none. */
  @Transaction()
  @Returns('string')
  async RecordAccessReceipts(ctx: Context, receiptsJson: string): Promise<string> {
    return json(receipts.recordAccessReceipts(ctx, receiptsJson));
  }

  @Transaction(false)
  @Returns('string')
  async GetAccessReceipt(ctx: Context, receiptDigest: string): Promise<string> {
    return json(receipts.getReceipt(ctx, receiptDigest));
  }

  /** `by` is subject | requester | provider | time (`value` is ignored for time). */
  @Transaction(false)
  @Returns('string')
  async ListAccessReceipts(
    ctx: Context,
    by: string,
    value: string,
    from: string,
    to: string,
    pageSize: string,
    bookmark: string,
  ): Promise<string> {
    return json(receipts.listReceipts(ctx, by, value, from, to, pageSize, bookmark));
  }
}
