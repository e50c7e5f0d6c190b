/**
 * The node's own certificates at start: its TLS key pair read by the key file rules, naming the configuration field.
 */
import { loadTlsKeyPair, PkiError, type TlsKeyPair } from '../network/pki/index.ts';
import { NodeStartError } from './node-errors.ts';

/** A TLS certificate and key of node.yaml and the fields that name them (`tls.key`, `operations.tls.cert`, …). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly certField: string;
  readonly keyField: string;
}

/** `tls.cert` and `tls.key`. */
export const nodeTlsFiles = (tls: { readonly cert: string; readonly key: string }): TlsFiles => ({
  ...tls,
  certField: 'tls.cert',
  keyField: 'tls.key',
});

/**
 * The key pair, its key held to the key file rules (its owner's alone, one key) and checked to be the certificate's.
 * @throws NodeStartError `KEY_INVALID` naming the field and the file.
 */
export async function readTlsKeyPair(files: TlsFiles): Promise<TlsKeyPair> {
  try {
    return await loadTlsKeyPair(files.cert, files.key);
  } catch (err) {
    if (!(err instanceof PkiError)) throw err;
    const file = err.field ?? files.key;
    const field = file === files.cert ? files.certField : files.keyField;
    throw new NodeStartError('KEY_INVALID', `${field}: ${err.message}`, file, { cause: err });
  }
}
