/**
 * The node's signing keys as the running node holds them: one object each for the log signer and the receipt key
 * that the checkpointer, attestation builder and report exchange keep for their lifetime, whose key underneath is
 * swapped when the key files change (key rotation without a restart). Each signature reads the key once, so a
 * swap between two signatures is clean: a checkpoint or attestation is signed wholly by the old or the new key.
 */
import type { KeyObject } from 'node:crypto';
import { p256LogSigner, type LogSigner } from '../log/index.ts';
import { receiptKeyOf, type ReceiptKey } from '../receipts/index.ts';
import { readPrivateKey } from './key-files.ts';

export interface LiveKeyFiles {
  /** PKCS#8 PEM, ECDSA P-256 (node.yaml `keys.log`). */
  readonly log: string;
  /** PKCS#8 PEM, ECDSA P-256 (node.yaml `keys.receipt`). */
  readonly receipt: string;
}

/** Which keys the node signs with now. */
export interface LiveKeyIds {
  readonly logKid: string;
  readonly receiptKid: string;
}

export class LiveNodeKeys {
  readonly #files: LiveKeyFiles;
  #log: LogSigner;
  #receipt: ReceiptKey;
  /** A signer that always signs with the current log key. */
  readonly logSigner: LogSigner;
  /** A receipt key that always is the current one. */
  readonly receiptKey: ReceiptKey;

  constructor(files: Readonly<LiveKeyFiles>, logKey: KeyObject, receiptKey: KeyObject) {
    this.#files = files;
    this.#log = p256LogSigner(logKey);
    this.#receipt = receiptKeyOf(receiptKey);
    const keys = () => ({ log: this.#log, receipt: this.#receipt });
    this.logSigner = {
      get kid() {
        return keys().log.kid;
      },
      get keyId() {
        return keys().log.keyId;
      },
      // The same signer answers kid, keyId and sign for one signature: signCheckpoint reads keyId then signs, and
      // a swap in between would name one key and sign with the other. Both happen in one synchronous turn, and a
      // swap (reload) happens between turns, so they agree.
      sign: (message) => keys().log.sign(message),
    };
    this.receiptKey = {
      get kid() {
        return keys().receipt.kid;
      },
      get privateKey() {
        return keys().receipt.privateKey;
      },
    };
  }

  get ids(): LiveKeyIds {
    return { logKid: this.#log.kid, receiptKid: this.#receipt.kid };
  }

  /**
   * Reads the key files again and signs with what they hold from now on. Both are read before either is swapped:
   * an unreadable file changes nothing.
   * @throws KeyRotationError `KEY_INVALID` naming the file.
   */
  async reload(): Promise<LiveKeyIds> {
    const [log, receipt] = await Promise.all([
      readPrivateKey(this.#files.log, 'keys.log'),
      readPrivateKey(this.#files.receipt, 'keys.receipt'),
    ]);
    this.#log = p256LogSigner(log);
    this.#receipt = receiptKeyOf(receipt);
    return this.ids;
  }
}
