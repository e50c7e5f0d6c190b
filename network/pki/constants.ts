/**
 * OID of the Fabric-CA attribute extension. Its value is raw JSON `{"attrs":{...}}` (not DER-wrapped):
 * fabric-ca `lib/attrmgr/attrmgr.go` (AttrOID) and fabric-shim `lib/chaincode.js` (FABRIC_CERT_ATTR_OID).
 */
export const FABRIC_ATTRS_OID = '1.2.3.4.5.6.7.8.1';

/** The attribute that carries the institution's role (DESIGN §3). */
export const ROLE_ATTRIBUTE = 'lianxin.role';

/** Certificates are issued a little in the past so a peer with a slow clock accepts them (cryptogen does 5 min). */
export const BACKDATE_MS = 5 * 60 * 1000;
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 730;

/** Users every organisation gets when the YAML names none. */
export const DEFAULT_USERS: readonly string[] = ['Admin', 'User1'];

/** Country of every subject: the consortium is Chinese (C=CN). */
export const COUNTRY = 'CN';
