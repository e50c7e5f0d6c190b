/** The node's signing keys: held live (swapped on reload without a restart) and rotated (DESIGN §3, §8). */
export { LiveNodeKeys, type LiveKeyFiles, type LiveKeyIds } from './live-keys.ts';
// Every path reads and writes key files through these: start, reload, rotation, bootstrap.
export * from './key-files.ts';
export {
  nextKeyFile,
  rotateNodeKey,
  type RotateOptions,
  type RotatedKind,
  type RotationChain,
  type RotationResult,
} from './key-rotation.ts';
export { KeyRotationError, type KeyRotationErrorCode } from './errors.ts';
