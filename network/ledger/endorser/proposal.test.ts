import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../crypto/index.ts';
import {
  boolField,
  bytesElement,
  bytesField,
  encodeMessage,
  int32Field,
  messageField,
  NO_FIELD,
  stringField,
  uint64Field,
  type WireField,
} from '../block/protobuf-wire.ts';
import { LedgerError } from '../errors.ts';
import { decodeProposalParts, readProposalParts, unpackProposal, type ProposalParts } from './proposal.ts';

const creator = randomBytes(120);
const nonce = randomBytes(24);
const txId = sha256Hex(Buffer.concat([nonce, creator]));

interface Variant {
  readonly channelHeader?: readonly WireField[];
  readonly extension?: readonly WireField[];
  readonly input?: readonly WireField[];
  readonly spec?: readonly WireField[];
  readonly payload?: readonly WireField[];
  readonly proposal?: readonly WireField[];
}

const chaincodeId = (name: string): WireField => messageField(2, stringField(2, name));

/** A SignedProposal as a client writes it, each message's fields replaceable by a variant's. */
function signedProposal(variant: Variant = {}): Buffer {
  const input = variant.input ?? [bytesElement(1, Buffer.from('CreateAsset')), bytesElement(1, Buffer.from('a1'))];
  const spec = variant.spec ?? [int32Field(1, 2), chaincodeId('basic'), messageField(3, ...input)];
  const invocationSpec = encodeMessage(messageField(1, ...spec));
  const payload = encodeMessage(...(variant.payload ?? [bytesField(1, invocationSpec)]));
  const extension = encodeMessage(...(variant.extension ?? [chaincodeId('basic')]));
  const channelHeader = encodeMessage(
    ...(variant.channelHeader ?? [
      int32Field(1, 3),
      messageField(3, uint64Field(1, 1_700_000_000), int32Field(2, 5)),
      stringField(4, 'credit'),
      stringField(5, txId),
      bytesField(7, extension),
    ]),
  );
  const header = encodeMessage(
    bytesField(1, channelHeader),
    bytesField(2, encodeMessage(bytesField(1, creator), bytesField(2, nonce))),
  );
  const proposal = encodeMessage(...(variant.proposal ?? [bytesField(1, header), bytesField(2, payload)]));
  return encodeMessage(bytesField(1, proposal), bytesField(2, Buffer.from('signature')));
}

/** Everything a reading gives, bytes as hex, so that views and copies compare by content. */
function plain(parts: ProposalParts): unknown {
  const hex = (value: unknown): unknown =>
    value instanceof Uint8Array
      ? Buffer.from(value).toString('hex')
      : Array.isArray(value)
        ? value.map(hex)
        : typeof value === 'object' && value !== null
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hex(v)]))
          : value;
  const attempt = (read: () => unknown): unknown => {
    try {
      return hex(read());
    } catch (err) {
      return err instanceof Error ? err.message : err;
    }
  };
  return {
    headers: hex(parts.headers),
    chaincodeName: attempt(() => parts.chaincodeName()),
    invocation: attempt(() => parts.invocation()),
  };
}

const read = (variant?: Variant): ProposalParts | undefined => readProposalParts(signedProposal(variant));

describe('readProposalParts', () => {
  const kept: Record<string, Variant> = {
    'a client proposal': {},
    'a transient map and unknown fields': {
      payload: [
        bytesField(
          1,
          encodeMessage(
            messageField(1, int32Field(1, 2), chaincodeId('basic'), messageField(3, bytesElement(1, Buffer.from('f')))),
          ),
        ),
        messageField(2, stringField(1, 'secret'), bytesField(2, Buffer.from('s3cret'))),
        messageField(2, stringField(1, 'other'), bytesField(2, Buffer.from('x'))),
        uint64Field(9, 42),
      ],
    },
    'is_init, empty and non-UTF-8 args': {
      input: [
        bytesElement(1, Buffer.from('Init')),
        bytesElement(1, new Uint8Array(0)),
        bytesElement(1, Buffer.from([0xff, 0xfe])),
        boolField(3, true),
      ],
    },
    'no input': { spec: [int32Field(1, 2), chaincodeId('basic')] },
    'no chaincode spec, no args': { payload: [bytesField(1, new Uint8Array(0))] },
    'no args': { input: [] },
    'a byte order mark and non-ASCII names': { extension: [chaincodeId('\uFEFF资产')] },
    'no extension': {
      channelHeader: [int32Field(1, 3), stringField(4, 'credit'), stringField(5, txId)],
    },
    'a wrong header type and epoch': {
      channelHeader: [int32Field(1, 1), stringField(4, 'credit'), stringField(5, txId), uint64Field(6, 7)],
    },
  };
  for (const [name, variant] of Object.entries(kept)) {
    it(`reads ${name} as google-protobuf does`, () => {
      const bytes = signedProposal(variant);
      const parts = readProposalParts(bytes);
      expect(parts).toBeDefined();
      expect(plain(parts as ProposalParts)).toEqual(plain(decodeProposalParts(bytes)));
    });
  }

  const left: Record<string, Variant> = {
    'a repeated singular field': {
      proposal: [bytesField(1, new Uint8Array([0x0a, 0x00])), bytesElement(1, new Uint8Array(0))],
    },
    'a repeated chaincode id': { extension: [chaincodeId('a'), chaincodeId('b')] },
    'decorations on the input': { input: [bytesElement(1, Buffer.from('f')), messageField(2, stringField(1, 'k'))] },
    'a header type of 2^31 as five bytes': { channelHeader: [uint64Field(1, 2 ** 31), stringField(5, txId)] },
    'a header type of -1': { channelHeader: [int32Field(1, -1), stringField(5, txId)] },
    'invalid UTF-8 in a chaincode name': { extension: [messageField(2, bytesField(2, Buffer.from([0xc3])))] },
    'a malformed timestamp': {
      channelHeader: [int32Field(1, 3), messageField(3, bytesField(1, Buffer.from('x'))), stringField(5, txId)],
    },
    'a length-delimited header type': { channelHeader: [bytesField(1, Buffer.from('x')), stringField(5, txId)] },
  };
  for (const [name, variant] of Object.entries(left)) {
    it(`leaves ${name} to google-protobuf`, () => {
      expect(read(variant)).toBeUndefined();
    });
  }

  it('leaves truncated bytes and groups to google-protobuf', () => {
    const bytes = signedProposal();
    expect(readProposalParts(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(readProposalParts(Buffer.concat([bytes, Buffer.from([0x1b])]))).toBeUndefined();
  });
});

describe('unpackProposal', () => {
  it('gives the input as google-protobuf writes it again and the payload without its transient map', () => {
    const unpacked = unpackProposal(
      signedProposal({
        payload: [
          bytesField(
            1,
            encodeMessage(messageField(1, messageField(3, bytesElement(1, Buffer.from('f')), uint64Field(7, 1)))),
          ),
          messageField(2, stringField(1, 'secret'), bytesField(2, Buffer.from('s3cret'))),
        ],
      }),
    );
    expect(Buffer.from(unpacked.input).toString('hex')).toBe(
      encodeMessage(bytesElement(1, Buffer.from('f'))).toString('hex'),
    );
    expect(Buffer.from(unpacked.strippedPayload).includes(Buffer.from('s3cret'))).toBe(false);
    expect(unpacked).toMatchObject({
      txId,
      channelId: 'credit',
      chaincodeName: 'basic',
      functionName: 'f',
      type: 3,
      epoch: 0,
    });
  });

  it('refuses what google-protobuf cannot decode, and what fails a check, with the same messages', () => {
    const refusal = (bytes: Uint8Array): string => {
      try {
        unpackProposal(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(LedgerError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    const extension = (fields: readonly WireField[]): Variant => ({
      channelHeader: [
        int32Field(1, 3),
        stringField(4, 'credit'),
        stringField(5, txId),
        bytesField(7, encodeMessage(...fields)),
      ],
    });
    expect(refusal(Buffer.from([0x0a, 0x05, 0x01]))).toBe('error unmarshalling SignedProposal');
    expect(refusal(signedProposal({ channelHeader: [int32Field(1, 1), stringField(5, txId)] }))).toBe(
      'invalid header type 1',
    );
    expect(refusal(signedProposal(extension([NO_FIELD])))).toBe('ChaincodeHeaderExtension.ChaincodeId.Name is empty');
    expect(refusal(signedProposal({ input: [] }))).toBe('chaincode input has no function name (args[0])');
    expect(refusal(signedProposal({ spec: [chaincodeId('basic')] }))).toBe(
      'chaincode invocation spec did not contain an input',
    );
    expect(refusal(signedProposal({ channelHeader: [int32Field(1, 3), stringField(5, 'not-it')] }))).toBe(
      `incorrectly computed txid: got not-it, expected ${txId}`,
    );
  });
});
