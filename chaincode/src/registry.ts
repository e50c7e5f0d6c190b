/**
 * The consortium registry: organisations, their nodes (and the log origins they own), and their public keys.
 * An organisation's admin changes its own entries; the operator's admin onboards and suspends organisations.
 * Keys are never deleted: rotation closes the old key's window so that old signatures still verify.
 */
import type { Context } from 'fabric-contract-api';
import { fail, invalid } from './errors';
import { callerOf, type Caller } from './identity';
import { listPage, type Page } from './pagination';
import { kidOf, parseP256Spki } from './keys';
import {
  KEY_ROLES,
  ORG_ROLES,
  SUITES,
  type KeyRole,
  type KeyStatus,
  type OrgRole,
  type OrgStatus,
  type Suite,
} from './roles';
import { decodeBase64Strict } from './signed-note';
import { emit, getJson, NS, putJson, txTime } from './state';
import type { UsccMode } from './uscc';
import {
  isoTime,
  requireId,
  requireMspId,
  requireNewMspId,
  requireOneOf,
  requireString,
  requireStringArray,
  requireJson,
  requirePattern,
  requireTime,
} from './validation';

export { ORG_ROLES, KEY_ROLES, type OrgRole, type OrgStatus, type KeyRole, type KeyStatus } from './roles';

export interface Organization {
  readonly mspId: string;
  readonly name: string;
  readonly city: string;
  readonly role: OrgRole;
  readonly status: OrgStatus;
  readonly registeredAt: string;
  readonly updatedAt: string;
}

export interface NodeRecord {
  readonly mspId: string;
  readonly nodeId: string;
  readonly endpoint: string;
  readonly peerId: string;
  readonly addresses: readonly string[];
  readonly shard: string;
  readonly origin: string;
  readonly registeredAt: string;
  readonly updatedAt: string;
}

export interface OriginRecord {
  readonly origin: string;
  readonly mspId: string;
  readonly nodeId: string;
}

export interface PublicKeyRecord {
  readonly mspId: string;
  readonly kid: string;
  readonly role: KeyRole;
  readonly suite: Suite;
  /** Base64 SPKI DER. */
  readonly publicKey: string;
  readonly validFrom: string;
  readonly validUntil: string | null;
  readonly status: KeyStatus;
  readonly replacedBy: string | null;
  readonly registeredAt: string;
}

export interface Settings {
  readonly usccMode: UsccMode;
}

const SETTINGS_KEY = ['registry'];
const ENDPOINT = /^[A-Za-z0-9.-]{1,253}:([1-9]\d{0,4})$/;
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{46,100}$/;
const SHARD = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MAX_SPKI_BASE64 = 1024;

export async function readSettings(ctx: Context): Promise<Settings | undefined> {
  return getJson<Settings>(ctx, NS.settings, SETTINGS_KEY);
}

export async function getOrganization(ctx: Context, mspId: string): Promise<Organization> {
  return (
    (await getJson<Organization>(ctx, NS.org, [requireMspId('mspId', mspId)])) ??
    fail('ORG_NOT_FOUND', `organisation ${mspId} is not registered`)
  );
}

/** The caller's organisation, which must be registered and active. */
export async function requireMember(ctx: Context): Promise<{ caller: Caller; org: Organization }> {
  const caller = callerOf(ctx);
  const org = await getJson<Organization>(ctx, NS.org, [caller.mspId]);
  if (org === undefined) return fail('FORBIDDEN', `caller's organisation ${caller.mspId} is not registered`);
  if (org.status !== 'active') return fail('ORG_SUSPENDED', `caller's organisation ${caller.mspId} is suspended`);
  return { caller, org };
}

export async function requireMemberWithRole(
  ctx: Context,
  roles: readonly OrgRole[],
): Promise<{ caller: Caller; org: Organization }> {
  const member = await requireMember(ctx);
  if (!roles.includes(member.org.role))
    return fail('FORBIDDEN', `caller's organisation has role ${member.org.role}; needs ${roles.join(' or ')}`);
  return member;
}

async function requireOwnAdmin(ctx: Context): Promise<Organization> {
  const { caller, org } = await requireMember(ctx);
  if (!caller.isAdmin) return fail('FORBIDDEN', `caller is not an admin of ${caller.mspId}`);
  return org;
}

async function requireOperatorAdmin(ctx: Context): Promise<Caller> {
  const { caller, org } = await requireMember(ctx);
  if (!caller.isAdmin || org.role !== 'operator' || caller.roleAttribute !== 'operator') {
    return fail('FORBIDDEN', 'only an admin of the operator organisation may do this');
  }
  return caller;
}

export async function registerOrganization(
  ctx: Context,
  mspId: string,
  name: string,
  city: string,
  role: string,
): Promise<Organization> {
  requireNewMspId('mspId', mspId);
  requireString('name', name, 200);
  requireString('city', city, 100);
  const orgRole = requireOneOf('role', role, ORG_ROLES);
  if ((await readSettings(ctx)) === undefined) {
    // Bootstrap: the empty registry trusts only an operator admin registering its own organisation.
    const caller = callerOf(ctx);
    if (!caller.isAdmin || caller.roleAttribute !== 'operator' || caller.mspId !== mspId || orgRole !== 'operator') {
      return fail(
        'BOOTSTRAP_REQUIRED',
        'the registry is empty: an operator admin must first register its own organisation with role operator',
      );
    }
    await putJson(ctx, NS.settings, SETTINGS_KEY, { usccMode: 'strict' } satisfies Settings);
  } else {
    await requireOperatorAdmin(ctx);
    if ((await getJson<Organization>(ctx, NS.org, [mspId])) !== undefined)
      return fail('ORG_EXISTS', `organisation ${mspId} is already registered`);
  }
  const now = isoTime(txTime(ctx));
  const org: Organization = { mspId, name, city, role: orgRole, status: 'active', registeredAt: now, updatedAt: now };
  await putJson(ctx, NS.org, [mspId], org);
  emitRegistryChanged(ctx, mspId, 'org');
  return org;
}

export async function updateOrganization(ctx: Context, name: string, city: string): Promise<Organization> {
  requireString('name', name, 200);
  requireString('city', city, 100);
  const org = await requireOwnAdmin(ctx);
  const updated: Organization = { ...org, name, city, updatedAt: isoTime(txTime(ctx)) };
  await putJson(ctx, NS.org, [org.mspId], updated);
  return updated;
}

export async function setOrganizationStatus(ctx: Context, mspId: string, status: string): Promise<Organization> {
  const newStatus = requireOneOf<OrgStatus>('status', status, ['active', 'suspended']);
  const caller = await requireOperatorAdmin(ctx);
  if (mspId === caller.mspId) return fail('FORBIDDEN', 'the operator cannot change the status of its own organisation');
  const org = await getOrganization(ctx, mspId);
  const updated: Organization = { ...org, status: newStatus, updatedAt: isoTime(txTime(ctx)) };
  await putJson(ctx, NS.org, [mspId], updated);
  emitRegistryChanged(ctx, mspId, 'org');
  return updated;
}

export async function setUsccMode(ctx: Context, mode: string): Promise<Settings> {
  const usccMode = requireOneOf<UsccMode>('mode', mode, ['strict', 'lenient']);
  const operator = await requireOperatorAdmin(ctx);
  const settings: Settings = { usccMode };
  await putJson(ctx, NS.settings, SETTINGS_KEY, settings);
  emitRegistryChanged(ctx, operator.mspId, 'settings');
  return settings;
}

function requireNodeFields(endpoint: string, peerId: string, addressesJson: string): string[] {
  const port = ENDPOINT.exec(endpoint)?.[1];
  if (port === undefined || Number(port) > 65535) invalid('endpoint', 'must be host:port with a port from 1 to 65535');
  requirePattern('peerId', peerId, PEER_ID, 'a base58btc libp2p peer ID');
  const addresses = requireStringArray('addresses', requireJson('addresses', addressesJson), 16, 1);
  addresses.forEach((address, i) =>
    requirePattern(`addresses[${i}]`, address, /^\/[\x21-\x7e]{1,255}$/, 'a multiaddr starting with "/"'),
  );
  return addresses;
}

export async function registerNode(
  ctx: Context,
  nodeId: string,
  endpoint: string,
  peerId: string,
  addressesJson: string,
  shard: string,
): Promise<NodeRecord> {
  requireId('nodeId', nodeId);
  const addresses = requireNodeFields(endpoint, peerId, addressesJson);
  requirePattern('shard', shard, SHARD, 'a shard name (lower-case letters, digits and "-", at most 32)');
  const org = await requireOwnAdmin(ctx);
  if ((await getJson<NodeRecord>(ctx, NS.node, [org.mspId, nodeId])) !== undefined)
    return fail('NODE_EXISTS', `node ${nodeId} of ${org.mspId} is already registered`);
  const origin = `lianxin/${org.mspId}/${shard}`;
  if ((await getJson<OriginRecord>(ctx, NS.origin, [origin])) !== undefined)
    return fail('ORIGIN_TAKEN', `log origin ${origin} is already registered`);
  const now = isoTime(txTime(ctx));
  const node: NodeRecord = {
    mspId: org.mspId,
    nodeId,
    endpoint,
    peerId,
    addresses,
    shard,
    origin,
    registeredAt: now,
    updatedAt: now,
  };
  await putJson(ctx, NS.node, [org.mspId, nodeId], node);
  await putJson(ctx, NS.origin, [origin], { origin, mspId: org.mspId, nodeId } satisfies OriginRecord);
  emitRegistryChanged(ctx, org.mspId, 'node');
  return node;
}

export async function updateNode(
  ctx: Context,
  nodeId: string,
  endpoint: string,
  peerId: string,
  addressesJson: string,
): Promise<NodeRecord> {
  requireId('nodeId', nodeId);
  const addresses = requireNodeFields(endpoint, peerId, addressesJson);
  const org = await requireOwnAdmin(ctx);
  const node = await getNode(ctx, org.mspId, nodeId);
  const updated: NodeRecord = { ...node, endpoint, peerId, addresses, updatedAt: isoTime(txTime(ctx)) };
  await putJson(ctx, NS.node, [org.mspId, nodeId], updated);
  emitRegistryChanged(ctx, org.mspId, 'node');
  return updated;
}

export async function getNode(ctx: Context, mspId: string, nodeId: string): Promise<NodeRecord> {
  requireMspId('mspId', mspId);
  requireId('nodeId', nodeId);
  return (
    (await getJson<NodeRecord>(ctx, NS.node, [mspId, nodeId])) ??
    fail('NODE_NOT_FOUND', `node ${nodeId} of ${mspId} is not registered`)
  );
}

function requireSpki(field: string, publicKey: string): Uint8Array {
  const der = publicKey.length <= MAX_SPKI_BASE64 ? decodeBase64Strict(publicKey) : undefined;
  if (der === undefined || parseP256Spki(der) === undefined)
    return invalid(field, 'must be the base64 SPKI DER of an ECDSA P-256 public key');
  return der;
}

export async function registerKey(
  ctx: Context,
  publicKey: string,
  role: string,
  suite: string,
  validFrom: string,
  validUntil: string,
): Promise<PublicKeyRecord> {
  const keyRole = requireOneOf('role', role, KEY_ROLES);
  const keySuite = requireOneOf('suite', suite, SUITES);
  const der = requireSpki('publicKey', publicKey);
  const now = txTime(ctx);
  const from = validFrom === '' ? now : requireTime('validFrom', validFrom);
  const until = validUntil === '' ? null : requireTime('validUntil', validUntil);
  if (until !== null && until <= from) invalid('validUntil', 'must be after validFrom');
  const org = await requireOwnAdmin(ctx);
  const kid = kidOf(der);
  if ((await getJson<PublicKeyRecord>(ctx, NS.key, [org.mspId, kid])) !== undefined)
    return fail('KEY_EXISTS', `key ${kid} is already registered for ${org.mspId}`);
  const record: PublicKeyRecord = {
    mspId: org.mspId,
    kid,
    role: keyRole,
    suite: keySuite,
    publicKey,
    validFrom: isoTime(from),
    validUntil: until === null ? null : isoTime(until),
    status: 'active',
    replacedBy: null,
    registeredAt: isoTime(now),
  };
  await putJson(ctx, NS.key, [org.mspId, kid], record);
  emitRegistryChanged(ctx, org.mspId, 'key');
  return record;
}

/** The longest overlap RotateKeyWithOverlap grants the old key: a day, so that a stolen old key is not kept alive. */
export const MAX_ROTATION_OVERLAP_SECONDS = 86_400;
/** The overlap when RotateKeyWithOverlap is given '': enough for a node to see the commit and switch keys. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 300;

/**
 * Replaces an active key: the new key starts now with the same role and suite; the old one's window ends
 * `overlapSeconds` after now (0: at the same instant). The overlap is what lets a node switch keys only once it has
 * seen this transaction commit: what it signs with the old key while the transaction is ordered and committed, and
 * until it switches, falls inside the old key's window. A rotated key cannot be rotated again, even inside its
 * overlap: it has a successor already.
 */
export async function rotateKey(
  ctx: Context,
  oldKid: string,
  newPublicKey: string,
  overlapSeconds = 0,
): Promise<PublicKeyRecord> {
  const der = requireSpki('newPublicKey', newPublicKey);
  const org = await requireOwnAdmin(ctx);
  const old = await getKey(ctx, org.mspId, oldKid);
  const now = txTime(ctx);
  if (old.status !== 'active' || !isKeyValidAt(old, now))
    return fail(
      'KEY_NOT_ACTIVE',
      `key ${oldKid} is ${old.status === 'active' ? 'outside its validity window' : old.status}`,
    );
  const kid = kidOf(der);
  if ((await getJson<PublicKeyRecord>(ctx, NS.key, [org.mspId, kid])) !== undefined)
    return fail('KEY_EXISTS', `key ${kid} is already registered for ${org.mspId}`);
  const record: PublicKeyRecord = {
    mspId: org.mspId,
    kid,
    role: old.role,
    suite: old.suite,
    publicKey: newPublicKey,
    validFrom: isoTime(now),
    validUntil: null,
    status: 'active',
    replacedBy: null,
    registeredAt: isoTime(now),
  };
  await putJson(ctx, NS.key, [org.mspId, oldKid], {
    ...old,
    status: 'rotated',
    validUntil: closedWindowEnd(old, now + overlapSeconds * 1000),
    replacedBy: kid,
  } satisfies PublicKeyRecord);
  await putJson(ctx, NS.key, [org.mspId, kid], record);
  emitRegistryChanged(ctx, org.mspId, 'key');
  return record;
}

/** RotateKeyWithOverlap's `overlapSeconds`: '' for the default, else a decimal from 0 to a day. */
export function requireOverlapSeconds(value: unknown): number {
  if (value === '') return DEFAULT_ROTATION_OVERLAP_SECONDS;
  const seconds = typeof value === 'string' && /^(0|[1-9]\d{0,5})$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds <= MAX_ROTATION_OVERLAP_SECONDS))
    return invalid(
      'overlapSeconds',
      `must be a whole number of seconds from 0 to ${MAX_ROTATION_OVERLAP_SECONDS}, or '' for ${DEFAULT_ROTATION_OVERLAP_SECONDS}`,
    );
  return seconds;
}

export type RegistryChange = 'org' | 'node' | 'key' | 'settings';

/**
 * `RegistryChanged` {mspId, kind, txId}: nodes re-read the registry when they see it, so that a new peer ID or key
 * is admitted as soon as it commits rather than at the next poll. Fabric keeps one event per transaction; registry
 * transactions emit no other.
 */
function emitRegistryChanged(ctx: Context, mspId: string, kind: RegistryChange): void {
  emit(ctx, 'RegistryChanged', { mspId, kind, txId: ctx.stub.getTxID() });
}

/** Revocation ends the window now; signatures made inside the earlier window still verify. */
export async function revokeKey(ctx: Context, kid: string): Promise<PublicKeyRecord> {
  const org = await requireOwnAdmin(ctx);
  const key = await getKey(ctx, org.mspId, kid);
  if (key.status === 'revoked') return fail('KEY_NOT_ACTIVE', `key ${kid} is already revoked`);
  const revoked: PublicKeyRecord = { ...key, status: 'revoked', validUntil: closedWindowEnd(key, txTime(ctx)) };
  await putJson(ctx, NS.key, [org.mspId, kid], revoked);
  emitRegistryChanged(ctx, org.mspId, 'key');
  return revoked;
}

/**
 * Where rotation or revocation at `endMs` closes a key's window: never later than the end it was registered with
 * (an overlap does not extend it), and never before it starts. A key registered to start in the future and revoked
 * before then gets the empty window validFrom..validFrom, valid at no time, rather than one that ends before it
 * starts, which trust bundle readers refuse.
 */
function closedWindowEnd(key: PublicKeyRecord, endMs: number): string {
  const registeredEnd = key.validUntil === null ? endMs : Math.min(Date.parse(key.validUntil), endMs);
  return isoTime(Math.max(Date.parse(key.validFrom), registeredEnd));
}

export async function getKey(ctx: Context, mspId: string, kid: string): Promise<PublicKeyRecord> {
  requireMspId('mspId', mspId);
  requirePattern('kid', kid, /^[0-9a-f]{64}$/, 'a key ID (SHA-256 of the SPKI DER, lower-case hex)');
  return (
    (await getJson<PublicKeyRecord>(ctx, NS.key, [mspId, kid])) ??
    fail('KEY_NOT_FOUND', `key ${kid} is not registered for ${mspId}`)
  );
}

/**
 * Whether `ms` falls in the key's window (rotation and revocation close it). A transaction's time is its submitter's
 * claim, so a window alone does not keep a closed key out: anchoring also goes by the key's state (checkpoints.ts).
 */
export function isKeyValidAt(key: PublicKeyRecord, ms: number): boolean {
  return Date.parse(key.validFrom) <= ms && (key.validUntil === null || ms < Date.parse(key.validUntil));
}

export async function findOrigin(ctx: Context, origin: string): Promise<OriginRecord | undefined> {
  return getJson<OriginRecord>(ctx, NS.origin, [origin]);
}

/** Which organisation and node own a log origin: how a verifier finds the keys for a checkpoint. */
export async function getOrigin(ctx: Context, origin: string): Promise<OriginRecord> {
  requireString('origin', origin, 200);
  return (await findOrigin(ctx, origin)) ?? fail('ORIGIN_NOT_FOUND', `log origin ${origin} is not registered`);
}

export async function getSettings(ctx: Context): Promise<Settings> {
  return (await readSettings(ctx)) ?? fail('BOOTSTRAP_REQUIRED', 'the registry is empty');
}

export async function listOrganizations(ctx: Context, pageSize: string, bookmark: string): Promise<Page<Organization>> {
  return listPage(ctx, NS.org, [], pageSize, bookmark);
}

export async function listNodes(
  ctx: Context,
  mspId: string,
  pageSize: string,
  bookmark: string,
): Promise<Page<NodeRecord>> {
  return listPage(ctx, NS.node, [requireMspId('mspId', mspId)], pageSize, bookmark);
}

/** Every key an organisation ever registered, rotated and revoked ones included, for trust bundles. */
export async function listKeys(
  ctx: Context,
  mspId: string,
  pageSize: string,
  bookmark: string,
): Promise<Page<PublicKeyRecord>> {
  return listPage(ctx, NS.key, [requireMspId('mspId', mspId)], pageSize, bookmark);
}
