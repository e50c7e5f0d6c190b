/**
 * File-system primitives shared by the node (its store, backups, key files) and the network's tools (crypto
 * material): one definition under both, as network/wire is for varints.
 */
export { syncDirectory } from './sync-directory.ts';
export { isPartialFile, removeAbandoned, writeDurably, type DurableWriteOptions } from './durable-file.ts';
export { replaceFile } from './replace-file.ts';
export { ExposedFileError, readPrivateFile, requirePrivateMode } from './private-file.ts';
