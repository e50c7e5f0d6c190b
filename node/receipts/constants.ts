/** Moved to the verifier core (node/verifier), which runs in browsers too; re-exported for the node's modules. */
export * from '../verifier/constants.ts';
