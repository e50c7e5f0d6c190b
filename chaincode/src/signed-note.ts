/**
 * C2SP signed notes (signed-note v1.0.0) carrying a tlog checkpoint (tlog-checkpoint v1.0.0):
 *   <origin>\n<decimal size>\n<base64 root hash>\n[extension lines]\n\n— <name> <base64(key ID[4] ‖ signature)>\n…
 * The signed message is the note text including its final newline. Split as golang/mod sumdb/note `Open` does:
 * at the last blank line.
 * No `node:` imports and no Buffer: the browser verifier (node/verifier) parses checkpoints with this module.
 */
import { HASH_SIZE } from './merkle';

export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly signature: Uint8Array;
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly rootHash: Uint8Array;
  /** The signed bytes: the note text including its final newline. */
  readonly body: string;
  readonly signatures: readonly NoteSignature[];
}

export type CheckpointParseResult =
  { readonly ok: true; readonly checkpoint: Checkpoint } | { readonly ok: false; readonly reason: string };

/** signed-note §"Signatures": verifiers must accept at least 16 signatures; more is refused to bound work. */
export const MAX_NOTE_SIGNATURES = 16;
const SIGNATURE_PREFIX = '\u2014 ';
const SIZE_PATTERN = /^(0|[1-9][0-9]{0,19})$/;
const MAX_NOTE_LENGTH = 16_384;
/** Go's note.Open refuses every ASCII control character but the newline, in the text and the signature lines. */
// eslint-disable-next-line no-control-regex -- control characters are what this pattern finds
const CONTROL_CHARACTER = /[\x00-\x09\x0b-\x1f]/;
/**
 * A surrogate outside a pair has no UTF-8 encoding: TextEncoder would sign it as U+FFFD, so two different note
 * strings would share one signature; Go refuses the invalid UTF-8. (String.prototype.isWellFormed is Node 20;
 * the chaincode also runs on Fabric's Node 18.)
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Go's unicode.IsSpace beyond ASCII (whose spaces split the line or are control characters): not in a key name. */
const NON_ASCII_SPACE = /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Parses a checkpoint note, refusing what golang/mod sumdb/note `Open` refuses as a malformed note. */
export function parseCheckpoint(note: string): CheckpointParseResult {
  if (note.length > MAX_NOTE_LENGTH) return { ok: false, reason: `note is longer than ${MAX_NOTE_LENGTH} characters` };
  if (CONTROL_CHARACTER.test(note))
    return { ok: false, reason: 'note holds an ASCII control character other than newline' };
  if (LONE_SURROGATE.test(note)) return { ok: false, reason: 'note is not well-formed Unicode (a lone surrogate)' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'note has no blank line before its signatures' };
  const body = note.slice(0, split + 1);
  const signatureBlock = note.slice(split + 2);
  if (!signatureBlock.endsWith('\n')) return { ok: false, reason: 'signature block must end with a newline' };
  const lines = body.slice(0, -1).split('\n');
  const [origin, sizeText, rootText] = lines;
  if (origin === undefined || origin === '' || origin.trim() !== origin)
    return { ok: false, reason: 'origin line is empty or padded' };
  if (sizeText === undefined || !SIZE_PATTERN.test(sizeText))
    return { ok: false, reason: 'size line is not a decimal integer' };
  const size = BigInt(sizeText);
  if (size >= 1n << 64n) return { ok: false, reason: 'size does not fit in 64 bits' };
  const rootHash = rootText === undefined ? undefined : decodeBase64Strict(rootText);
  if (rootHash?.length !== HASH_SIZE) return { ok: false, reason: 'root hash line is not the base64 of 32 bytes' };
  const signatures: NoteSignature[] = [];
  for (const line of signatureBlock.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIGNATURE_PREFIX))
      return { ok: false, reason: 'signature line does not start with an em dash and a space' };
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const blob = space > 0 ? decodeBase64Strict(rest.slice(space + 1)) : undefined;
    if (name === '' || name.includes('+') || NON_ASCII_SPACE.test(name) || blob === undefined || blob.length < 5)
      return { ok: false, reason: 'signature line is malformed' };
    signatures.push({ name, keyId: blob.subarray(0, 4), signature: blob.subarray(4) });
  }
  if (signatures.length > MAX_NOTE_SIGNATURES)
    return { ok: false, reason: `note has more than ${MAX_NOTE_SIGNATURES} signatures` };
  return { ok: true, checkpoint: { origin, size, rootHash, body, signatures } };
}

/** Formats a checkpoint body (no extension lines); the signer appends the blank line and signature lines. */
export function formatCheckpointBody(origin: string, size: bigint, rootHash: Uint8Array): string {
  return `${origin}\n${size}\n${encodeBase64(rootHash)}\n`;
}

export function formatSignatureLine(name: string, keyId: Uint8Array, signature: Uint8Array): string {
  const blob = new Uint8Array(keyId.length + signature.length);
  blob.set(keyId);
  blob.set(signature, keyId.length);
  return `${SIGNATURE_PREFIX}${name} ${encodeBase64(blob)}\n`;
}

/** Standard base64 with padding, rejecting anything Buffer would silently skip. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  // The pattern admits only canonical-alphabet text of whole quanta, which atob decodes exactly.
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Standard base64 with padding (atob/btoa: globals of Node ≥ 16 and of browsers). */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
