/**
 * The registry's closed vocabularies (organisation and key roles and statuses, signature suites), in a module
 * without Fabric or `node:` imports so that the browser verifier (node/verifier) validates trust bundles with the
 * chain's own lists. registry.ts and keys.ts re-export them.
 */
export const ORG_ROLES = ['agency', 'bank', 'platform', 'regulator', 'operator'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export type OrgStatus = 'active' | 'suspended';
export const KEY_ROLES = ['log', 'receipt', 'p2p'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];
export type KeyStatus = 'active' | 'rotated' | 'revoked';

export const SUITE_P256 = 'ecdsa-p256-sha256';
export const SUITES = [SUITE_P256] as const;
export type Suite = (typeof SUITES)[number];
