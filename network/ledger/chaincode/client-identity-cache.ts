/**
 * fabric-shim's ClientIdentity with its certificate parsed once per creator, not once per invocation.
 *
 * The contract SPI builds `ctx.clientIdentity` for every transaction, and its constructor parses the creator's
 * PEM with @fidm/x509 (ASN.1 in JavaScript): about 8% of the embedded ledger's busy time under
 * `npm run bench -- ledger` (bench/RESULTS.md, issue 13). What it derives depends only on the creator bytes
 * (`mspId`, `id` from the subject and issuer DNs, `attrs` from the Fabric attribute extension), so an identity
 * seen before gets the same fields without parsing; `stub` and `idBytes` stay the invocation's own, and each
 * instance gets its own copy of `attrs`. The endorser has already validated the creator (MSP, chain, validity)
 * before the chaincode runs; ClientIdentity never checks those itself.
 */
import { identityCacheKey } from '../msp/identity-key.ts';

/** What the shim's constructor sets on an instance (fabric-shim lib/chaincode.js, ClientIdentity). */
interface ClientIdentityFields {
  stub: ShimStub;
  mspId: string;
  idBytes: Uint8Array;
  id: string;
  attrs: Record<string, string>;
}

interface ShimStub {
  getCreator(): { readonly mspid: string; readonly idBytes: Uint8Array };
}

export type ClientIdentityClass = new (stub: ShimStub) => object;

/** What a creator's certificate gives, and that creator's bytes (its own copy) to tell it from another. */
interface DerivedFields extends Pick<ClientIdentityFields, 'mspId' | 'id' | 'attrs'> {
  readonly idBytes: Buffer;
}

/** Creators remembered (a consortium has a handful of users per member; more means churn, so start over). */
const MAX_CACHED_CREATORS = 1_000;

/**
 * A constructor standing in for `ClientIdentity`: `new` on it gives an instance of the shim's class (same
 * prototype, same own fields) for a creator it has seen, and the shim's own constructor's result otherwise.
 */
export function cachingClientIdentity(ClientIdentity: ClientIdentityClass): ClientIdentityClass {
  const derived = new Map<string, DerivedFields>();
  function CachedClientIdentity(stub: ShimStub): object {
    const creator = stub.getCreator();
    // Keyed by the certificate's last bytes (the old key, the MSP and a base64 copy of the whole PEM, cost ≈ 3 KB
    // per transaction), so an entry is used only for the same MSP and an equal copy of the bytes.
    const key = identityCacheKey(creator.idBytes);
    const known = derived.get(key);
    if (known === undefined || known.mspId !== creator.mspid || !known.idBytes.equals(creator.idBytes)) {
      const fresh = new ClientIdentity(stub) as ClientIdentityFields;
      if (derived.size >= MAX_CACHED_CREATORS) derived.clear();
      derived.set(key, {
        idBytes: Buffer.from(creator.idBytes),
        mspId: fresh.mspId,
        id: fresh.id,
        attrs: copyAttrs(fresh.attrs),
      });
      return fresh;
    }
    const instance = Object.create(ClientIdentity.prototype as object) as ClientIdentityFields;
    // The constructor's assignment order, so the own keys enumerate as they do on a parsed instance.
    instance.stub = stub;
    instance.mspId = known.mspId;
    instance.idBytes = creator.idBytes;
    instance.id = known.id;
    instance.attrs = copyAttrs(known.attrs);
    return instance;
  }
  CachedClientIdentity.prototype = ClientIdentity.prototype as object;
  return CachedClientIdentity as unknown as ClientIdentityClass;
}

/**
 * A contract's own copy of the attributes. Fabric CA writes string values, which a spread copies completely at
 * about a hundredth of structuredClone's cost (≈0.01 against ≈1 µs); anything else the certificate's JSON held
 * is cloned deeply, so that no contract can change what another invocation reads.
 */
function copyAttrs(attrs: Record<string, unknown>): Record<string, string> {
  return (
    Object.values(attrs).every((value) => typeof value === 'string') ? { ...attrs } : structuredClone(attrs)
  ) as Record<string, string>;
}
