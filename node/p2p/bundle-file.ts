/**
 * A receipt bundle as a file (`lianxin report request --out`, `lianxin receipt prove --out`): the verifier core's
 * one reader (node/verifier/access-proof-file.ts, which the browser runs too), its ExchangeMessageError turned into
 * the p2p layer's P2pError `BAD_MESSAGE`, field and message unchanged.
 */
import * as core from '../verifier/access-proof-file.ts';
import type { BundleEnvelopes } from './bundle-verifier.ts';
import { asP2p } from './message-decoding.ts';

/** The bundle of a parsed JSON file. @throws P2pError `BAD_MESSAGE` naming the field. */
export const parseBundleJson = (json: unknown): BundleEnvelopes => asP2p(() => core.parseBundleJson(json));

/**
 * The bundle of a parsed JSON file and, when the file holds one (an AccessProof), the attestation of the access
 * leaf, as bytes. @throws P2pError `BAD_MESSAGE` naming the field.
 */
export const parseAccessProofJson = (json: unknown): core.AccessProofFile =>
  asP2p(() => core.parseAccessProofJson(json));
