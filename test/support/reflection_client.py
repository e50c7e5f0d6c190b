"""A gRPC client in another runtime (Python grpcio) that knows nothing of Lianxin but what server reflection says.

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf) by test/api-other-toolchains.test.ts:

  reflection_client.py --address HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem \
      --reflection-proto-dir DIR --work-dir DIR

It compiles reflection.proto with protoc (the reflection messages are not part of grpcio), lists the services
through grpc.reflection.v1, loads the FileDescriptorProtos the server sends into a fresh descriptor pool (the
step that fails on descriptors reconstructed by @grpc/reflection from proto-loader), then calls every method of
every listed service with an empty request built from the descriptors alone, and asks reflection again without
a client certificate. It prints one JSON object on stdout:

  {"services": [...], "files": [...], "calls": {"/pkg.Service/Method": "STATUS_NAME", ...},
   "answers": {"/pkg.Service/BidiMethod": {first answer, proto3 JSON}, ...},
   "flagged_calls": {...}, "flagged_answers": {...}  (bidi methods called again with every bool field set),
   "without_client_certificate": "STATUS_NAME"}

and exits non-zero with a message on stderr when a step other than a call fails.
"""

import argparse
import json
import os
import subprocess
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

REFLECTION_FILE = "grpc/reflection/v1/reflection.proto"
REFLECTION_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
CALL_TIMEOUT_S = 10
# A server-streaming method may never end (grpc.health.v1.Health/Watch): its first message is its answer.
FIRST_MESSAGE_ONLY = True


def message_class(pool, full_name):
    descriptor = pool.FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def reflection_messages(proto_dir, work_dir):
    """ServerReflectionRequest/Response classes, from reflection.proto compiled by protoc into a private pool."""
    out = os.path.join(work_dir, "reflection.binpb")
    subprocess.run(
        ["protoc", "-I", proto_dir, "--include_imports", "--descriptor_set_out=" + out, REFLECTION_FILE],
        check=True,
    )
    file_set = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        file_set.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in file_set.file:
        pool.Add(file)
    return (
        message_class(pool, "grpc.reflection.v1.ServerReflectionRequest"),
        message_class(pool, "grpc.reflection.v1.ServerReflectionResponse"),
    )


class Reflection:
    def __init__(self, channel, request_class, response_class):
        self._request = request_class
        self._info = channel.stream_stream(
            REFLECTION_METHOD,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class.FromString,
        )

    def ask(self, **fields):
        responses = list(self._info(iter([self._request(**fields)]), timeout=CALL_TIMEOUT_S))
        if len(responses) != 1:
            raise RuntimeError("expected one reflection response, got %d" % len(responses))
        response = responses[0]
        if response.HasField("error_response"):
            raise RuntimeError("reflection error: %s" % response.error_response.error_message)
        return response

    def services(self):
        return [s.name for s in self.ask(list_services="*").list_services_response.service]

    def files(self, **query):
        protos = []
        for raw in self.ask(**query).file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto()
            proto.ParseFromString(raw)
            protos.append(proto)
        return protos


def add_files(pool, added, protos):
    """Adds each file once, after the files it imports (the pool refuses a file whose imports it lacks)."""
    pending = {p.name: p for p in protos if p.name not in added}
    while pending:
        ready = [p for p in pending.values() if all(d in added for d in p.dependency)]
        if not ready:
            raise RuntimeError("imports never served: %s" % sorted(pending))
        for proto in ready:
            pool.Add(proto)  # raises TypeError on descriptors it refuses (e.g. "map_entry should not be set")
            added.append(proto.name)
            del pending[proto.name]


def call(channel, pool, service, method, answers, flags=False):
    """Calls `method` with an empty request, or with `flags` one whose bool fields are all set."""
    path = "/%s/%s" % (service.full_name, method.name)
    request = message_class(pool, method.input_type.full_name)()
    if flags:
        for field in method.input_type.fields:
            if field.type == field.TYPE_BOOL:
                setattr(request, field.name, True)
    response = message_class(pool, method.output_type.full_name)
    kwargs = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": response.FromString,
    }
    try:
        if method.client_streaming and method.server_streaming:
            for answer in channel.stream_stream(path, **kwargs)(iter([request]), timeout=CALL_TIMEOUT_S):
                answers.setdefault(path, json_format.MessageToDict(answer))
        elif method.client_streaming:
            channel.stream_unary(path, **kwargs)(iter([request]), timeout=CALL_TIMEOUT_S)
        elif method.server_streaming:
            stream = channel.unary_stream(path, **kwargs)(request, timeout=CALL_TIMEOUT_S)
            for _ in stream:
                if FIRST_MESSAGE_ONLY:
                    stream.cancel()
                    break
        else:
            channel.unary_unary(path, **kwargs)(request, timeout=CALL_TIMEOUT_S)
        return path, "OK"
    except grpc.RpcError as err:
        return path, err.code().name


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--address", "--ca", "--cert", "--key", "--reflection-proto-dir", "--work-dir"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    request_class, response_class = reflection_messages(args.reflection_proto_dir, args.work_dir)
    member = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    result = {}
    with grpc.secure_channel(args.address, member) as channel:
        reflection = Reflection(channel, request_class, response_class)
        services = reflection.services()
        pool = descriptor_pool.DescriptorPool()
        added = []
        for name in services:
            add_files(pool, added, reflection.files(file_containing_symbol=name))
        # LogLeaf (a map field's LabelsEntry inside) is in no service's files: ask for its file by name.
        add_files(pool, added, reflection.files(file_by_filename="lianxin/v1/evidence.proto"))
        calls = {}
        answers = {}
        # Bidi methods whose request has bool fields are called again with them all set (opt-ins such as
        # AttestRequest.per_request_errors), found in the served descriptors alone.
        flagged_calls = {}
        flagged_answers = {}
        for name in services:
            service = pool.FindServiceByName(name)
            for method in service.methods:
                path, status = call(channel, pool, service, method, answers)
                calls[path] = status
                bools = [f for f in method.input_type.fields if f.type == f.TYPE_BOOL]
                if method.client_streaming and method.server_streaming and bools:
                    path, status = call(channel, pool, service, method, flagged_answers, flags=True)
                    flagged_calls[path] = status
        result.update(
            services=services,
            files=added,
            calls=calls,
            answers=answers,
            flagged_calls=flagged_calls,
            flagged_answers=flagged_answers,
        )

    anonymous = grpc.ssl_channel_credentials(read(args.ca))
    with grpc.secure_channel(args.address, anonymous) as channel:
        try:
            Reflection(channel, request_class, response_class).services()
            result["without_client_certificate"] = "OK"
        except grpc.RpcError as err:
            result["without_client_certificate"] = err.code().name

    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
