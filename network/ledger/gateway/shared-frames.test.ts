import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_FRAME_HEADER_BYTES, sendSharedFrames, sharedFrame } from './shared-frames.ts';

const require = createRequire(import.meta.url);
const { BaseServerInterceptingCall } = require('@grpc/grpc-js/build/src/server-interceptors.js') as {
  BaseServerInterceptingCall: { prototype: { serializeMessage: (this: unknown, value: unknown) => Buffer } };
};

const PATH = '/test.Frames/Stream';
const identity = (bytes: Buffer): Buffer => bytes;
const toBuffer = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

function framed(message: Uint8Array): Buffer {
  const buffer = Buffer.alloc(GRPC_FRAME_HEADER_BYTES + message.length);
  buffer.set(message, GRPC_FRAME_HEADER_BYTES);
  return sharedFrame(buffer);
}

describe('sharedFrame with sendSharedFrames', () => {
  it('is framed as grpc-js frames the same message, and sent as that one frame', () => {
    expect(sendSharedFrames()).toBe(true);
    expect(sendSharedFrames()).toBe(true);
    const call = { handler: { serialize: toBuffer } };
    const serialize = BaseServerInterceptingCall.prototype.serializeMessage;
    for (const length of [0, 1, 300, 70_000]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 31) & 0xff);
      const message = framed(bytes);
      expect(message.equals(bytes)).toBe(true);
      const frame = serialize.call(call, message);
      expect(frame.equals(serialize.call(call, new Uint8Array(bytes))), String(length)).toBe(true);
      expect(frame.buffer).toBe(message.buffer);
      expect(serialize.call(call, message)).toBe(frame);
    }
  });

  describe('on a server', () => {
    let server: grpc.Server;
    let address: string;
    const large = Uint8Array.from({ length: 1_000_000 }, (_, i) => (i * 7) & 0xff);
    const shared = framed(large);
    const own = Uint8Array.of(1, 2, 3);
    /** Messages the server serialized itself: a shared frame is sent without its method's serializer. */
    let serialized = 0;

    beforeAll(async () => {
      sendSharedFrames();
      server = new grpc.Server();
      server.addService(
        {
          Stream: {
            path: PATH,
            requestStream: false,
            responseStream: true,
            requestSerialize: identity,
            requestDeserialize: identity,
            responseSerialize: (value: Uint8Array) => {
              serialized++;
              return toBuffer(value);
            },
            responseDeserialize: identity,
          },
        },
        {
          Stream: (call: grpc.ServerWritableStream<Buffer, Uint8Array>) => {
            call.write(shared);
            call.write(own);
            call.write(shared);
            call.end();
          },
        },
      );
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => {
          if (err) reject(err);
          else resolve(bound);
        });
      });
      address = `127.0.0.1:${String(port)}`;
    });

    afterAll(() => {
      server.forceShutdown();
    });

    it('delivers every stream the same messages, shared or not', async () => {
      const read = async (): Promise<Buffer[]> => {
        const client = new grpc.Client(address, grpc.credentials.createInsecure());
        try {
          const stream = client.makeServerStreamRequest(PATH, identity, identity, Buffer.alloc(0));
          const messages: Buffer[] = [];
          for await (const message of stream) messages.push(message as Buffer);
          return messages;
        } finally {
          client.close();
        }
      };
      const streams = await Promise.all([read(), read(), read()]);
      // Only `own`, once per stream: were the wrapped method off the send path, all nine would be.
      expect(serialized).toBe(3);
      for (const messages of streams) {
        expect(messages.map((m) => m.length)).toEqual([large.length, own.length, large.length]);
        expect(messages[0]?.equals(large)).toBe(true);
        expect(messages[1]?.equals(own)).toBe(true);
        expect(messages[2]?.equals(large)).toBe(true);
      }
    });
  });
});
