import { SimulationError } from './errors.ts';

/** LevelDB key order: the bytes of UTF-8, never JS (UTF-16 code unit) order, which differs above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes a key as it came off the wire. google-protobuf would silently turn invalid UTF-8 into U+FFFD, so the
 * handler reads key fields as bytes; the text is statecouchdb's validateKey (Go's proto3 decoding refuses such
 * strings too).
 */
export function decodeKey(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new SimulationError(
      'INVALID_KEY',
      `invalid key [${Buffer.from(bytes).toString('hex')}], must be a UTF-8 string`,
    );
  }
}

/** fabric-chaincode-go shim/stub.go PutState refuses the empty key; the ledger refuses it for every write. */
export function checkWriteKey(key: string): void {
  if (key === '') throw new SimulationError('INVALID_KEY', 'key must not be an empty string');
}
