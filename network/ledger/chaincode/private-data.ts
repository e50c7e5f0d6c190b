/**
 * Implicit per-organisation private data collections, as Fabric 2.5 keeps them (reference fabric-operations §4):
 * `_implicit_org_<MSPID>` exists for every organisation without being declared (core/chaincode/implicitcollection,
 * lifecycle/deployedcc_infoprovider.go: member `<MSPID>.member`, no member-only read or write). The peer keeps a
 * collection's plaintext only when its own organisation is the member; every peer keeps the hashes. Both live as
 * state namespaces next to the chaincode's own, named as privacyenabledstate/db.go names them, so that they are
 * committed in the block's one state batch.
 */
import { sha256 } from '../../crypto/index.ts';
import { SimulationError } from './errors.ts';

const IMPLICIT_PREFIX = '_implicit_org_';

/** The member organisation of an implicit collection, or undefined when `collection` is not one. */
export function implicitCollectionMsp(collection: string): string | undefined {
  if (!collection.startsWith(IMPLICIT_PREFIX)) return undefined;
  const mspId = collection.slice(IMPLICIT_PREFIX.length);
  return mspId === '' ? undefined : mspId;
}

/** Only implicit collections exist on this ledger (ledger.CollConfigNotDefinedError for any other). */
export function checkCollection(namespace: string, collection: string): void {
  if (implicitCollectionMsp(collection) === undefined) {
    throw new SimulationError(
      'UNSUPPORTED',
      `collection config not defined for chaincode [${namespace}], pass the collection configuration upon chaincode definition/instantiation`,
    );
  }
}

/** `<cc>$$h<coll>`: key = hex SHA-256 of the key, value = SHA-256 of the value. */
export function hashedNamespace(namespace: string, collection: string): string {
  return `${namespace}$$h${collection}`;
}

/** `<cc>$$p<coll>`: the plaintext, on the member organisation's peer only. */
export function privateNamespace(namespace: string, collection: string): string {
  return `${namespace}$$p${collection}`;
}

/** Private state is not in the blocks: a replay of the chain cannot rebuild it. */
export function isPrivateNamespace(namespace: string): boolean {
  return namespace.includes('$$p');
}

export function keyHashHex(key: string): string {
  return sha256(Buffer.from(key, 'utf8')).toString('hex');
}
