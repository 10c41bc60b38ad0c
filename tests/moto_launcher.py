"""Start moto's server on loopback for snapscan's AWS tests, with the fixes they rely on.

Usage: `python tests/moto_launcher.py` (inside the project's `.venv`). It binds 127.0.0.1 on a
free port, prints `PORT <n>` on stdout, and serves until its stdin closes, so it dies with the
test process that spawned it even when that process is killed.

moto's EBS direct API is partial. In-process patches (below, one function each) teach it:
- that an EC2 snapshot of a volume created from a snapshot holding EBS blocks carries those
  blocks (moto keeps block data only for StartSnapshot/PutSnapshotBlock snapshots);
- `BlockSize` 524288 (moto says 512), ListSnapshotBlocks sorted and paginated
  (MaxResults/NextToken/StartingBlockIndex; `SNAPSCAN_MOTO_MAX_PAGE` caps a page so small
  snapshots paginate too), block tokens that are checked and can expire;
- ResourceNotFoundException (HTTP 404) instead of an HTTP 500 for unknown snapshots/blocks;
- CreateSnapshots that honours ExcludeDataVolumeIds;
- EC2 snapshots that stay `pending` for a moment before `completed`;
- RegisterImage that uses the snapshot of its BlockDeviceMappings;
- an instance tag `snapscan-test:root-device-type` that overrides its root device type
  (moto calls every instance EBS-backed).

A WSGI middleware in front of moto injects faults on request, for the retry tests: latency,
EBS `RequestThrottledException`, EC2 `RequestLimitExceeded`, HTTP 503, truncated block
bodies, corrupted block bytes and expired block tokens. `POST /__snapscan/faults` with JSON
`{"latency_ms": {"GetSnapshotBlock": 30}, "pattern": {"GetSnapshotBlock": ["throttle", null]}}`
sets them (a pattern is applied cyclically to that operation's requests); `GET` returns how
many requests of each operation were seen and how many faults were injected.
"""

import base64
import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import urllib.parse

from moto.core.exceptions import JsonRESTError
from moto.ebs import models as ebs_models
from moto.ebs import responses as ebs_responses
from moto.ebs.models import ebs_backends
from moto.ec2.models import elastic_block_store
from moto.moto_api._internal import mock_random
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

EBS_BLOCK_SIZE = 524288
PENDING_SECONDS = float(os.environ.get("SNAPSCAN_MOTO_PENDING_SECONDS", "0.5"))
# Real EBS may return fewer blocks than MaxResults; a small page makes tests paginate.
MAX_PAGE = int(os.environ.get("SNAPSCAN_MOTO_MAX_PAGE", "10000"))


class ResourceNotFound(JsonRESTError):
    code = 404

    def __init__(self, message):
        super().__init__("ResourceNotFoundException", message)


class ValidationError(JsonRESTError):
    code = 400

    def __init__(self, message, reason):
        super().__init__("ValidationException", message)
        self.description = json.dumps(
            {"__type": "ValidationException", "message": message, "Reason": reason}
        )


def find_ebs_snapshot(backend, snapshot_id):
    snapshot = backend.snapshots.get(snapshot_id)
    if snapshot is None:
        raise ResourceNotFound(f"The snapshot '{snapshot_id}' does not exist.")
    return snapshot


def patch_block_size():
    original = ebs_models.EBSSnapshot.__init__

    def init(self, account_id, snapshot):
        original(self, account_id, snapshot)
        self.block_size = EBS_BLOCK_SIZE

    ebs_models.EBSSnapshot.__init__ = init


def patch_list_snapshot_blocks():
    def list_snapshot_blocks(self):
        snapshot = find_ebs_snapshot(self.ebs_backend, self._get_param("SnapshotId"))
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.uri).query)
        max_results = min(int(query.get("maxResults", ["10000"])[0]), MAX_PAGE)
        start = int(query.get("startingBlockIndex", ["0"])[0])
        token = query.get("pageToken", [None])[0]
        if token is not None:
            start = max(start, int(token))
        indexes = sorted(index for index in snapshot.blocks if index >= start)
        page = indexes[:max_results]
        result = {
            "Blocks": [
                {"BlockIndex": index, "BlockToken": snapshot.blocks[index].block_token}
                for index in page
            ],
            "VolumeSize": snapshot.volume_size,
            "BlockSize": snapshot.block_size,
            "ExpiryTime": time.time() + 600,
        }
        if len(indexes) > max_results:
            result["NextToken"] = str(indexes[max_results])
        return ebs_responses.ActionResult(result)

    ebs_responses.EBSResponse.list_snapshot_blocks = list_snapshot_blocks


def patch_get_snapshot_block():
    def get_snapshot_block(self):
        snapshot_id = self._get_param("SnapshotId")
        snapshot = find_ebs_snapshot(self.ebs_backend, snapshot_id)
        index = int(self._get_param("BlockIndex"))
        block = snapshot.blocks.get(index)
        if block is None:
            raise ResourceNotFound(f"Block {index} of '{snapshot_id}' does not exist.")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.uri).query)
        token = query.get("blockToken", [None])[0]
        if token != block.block_token:
            raise ValidationError("The block token is not valid.", "INVALID_BLOCK_TOKEN")
        result = {
            "DataLength": len(block.block_data),
            "BlockData": block.block_data,
            "Checksum": block.checksum,
            "ChecksumAlgorithm": block.checksum_algorithm,
        }
        return ebs_responses.ActionResult(result)

    ebs_responses.EBSResponse.get_snapshot_block = get_snapshot_block


def patch_other_not_found():
    for name in ("complete_snapshot", "put_snapshot_block"):
        original = getattr(ebs_models.EBSBackend, name)

        def checked(self, snapshot_id, *args, __original=original, **kwargs):
            find_ebs_snapshot(self, snapshot_id)
            return __original(self, snapshot_id, *args, **kwargs)

        setattr(ebs_models.EBSBackend, name, checked)


def patch_snapshot_carries_blocks():
    """An EC2 snapshot of a volume made from a snapshot with blocks gets those blocks."""
    original = elastic_block_store.EBSBackend.create_snapshot

    def create_snapshot(self, volume_id, description, owner_id=None, from_ami=None):
        snapshot = original(self, volume_id, description, owner_id, from_ami)
        snapshot._snapscan_created = time.monotonic()
        source_id = getattr(snapshot.volume, "snapshot_id", None)
        ebs_backend = ebs_backends[self.account_id][self.region_name]
        source = ebs_backend.snapshots.get(source_id) if source_id else None
        if snapshot.id not in ebs_backend.snapshots:
            # A blank volume's snapshot exists with no blocks, as in EBS.
            copy = ebs_models.EBSSnapshot(account_id=self.account_id, snapshot=snapshot)
            copy.status = "completed"
            for index, block in (source.blocks if source else {}).items():
                copy.put_block(
                    index,
                    block.block_data,
                    block.checksum,
                    block.checksum_algorithm,
                    block.data_length,
                )
            ebs_backend.snapshots[snapshot.id] = copy
        return snapshot

    elastic_block_store.EBSBackend.create_snapshot = create_snapshot


def patch_exclude_data_volumes():
    """moto's CreateSnapshots ignores InstanceSpecification.ExcludeDataVolumeIds."""
    original = elastic_block_store.EBSBackend.create_snapshots

    def create_snapshots(self, instance_spec, description, tags):
        excluded = instance_spec.get("ExcludeDataVolumeIds") or []
        if isinstance(excluded, dict):
            excluded = list(excluded.values())
        if not excluded:
            return original(self, instance_spec, description, tags)
        instance = self.get_instance(instance_spec["InstanceId"])
        kept = {}
        for device, mapping in list(instance.block_device_mapping.items()):
            if mapping.volume_id in excluded:
                kept[device] = instance.block_device_mapping.pop(device)
        try:
            return original(self, instance_spec, description, tags)
        finally:
            instance.block_device_mapping.update(kept)

    elastic_block_store.EBSBackend.create_snapshots = create_snapshots


def patch_pending_status():
    def get_status(self):
        created = getattr(self, "_snapscan_created", None)
        if created is not None and time.monotonic() - created < PENDING_SECONDS:
            return "pending"
        return self.__dict__.get("_snapscan_status", "completed")

    def set_status(self, value):
        self.__dict__["_snapscan_status"] = value

    elastic_block_store.Snapshot.status = property(get_status, set_status)


def patch_root_device_type():
    """moto reports every instance as EBS-backed; the tag `snapscan-test:root-device-type`
    on an instance overrides that, so the instance-store eligibility rule can be tested."""
    from moto.ec2.models.instances import Instance

    def get_type(self):
        for tag in self.get_tags():
            if tag.get("key") == "snapscan-test:root-device-type":
                return tag.get("value")
        return self.__dict__.get("_snapscan_root_device_type", "ebs")

    def set_type(self, value):
        self.__dict__["_snapscan_root_device_type"] = value

    Instance.root_device_type = property(get_type, set_type)


def patch_register_image():
    """moto ignores RegisterImage's BlockDeviceMappings and invents an empty snapshot; use
    the mapping's snapshot (and device name) so an AMI made from a seeded snapshot scans."""
    from moto.ec2.responses import amis as ami_responses

    original = ami_responses.AmisResponse.register_image

    def register_image(self):
        result = original(self)
        mappings = self._get_param("BlockDeviceMappings") or []
        image = self.ec2_backend.amis[result.result["ImageId"]]
        for mapping in mappings:
            snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
            if snapshot_id:
                invented = image.ebs_snapshot
                image.ebs_snapshot = self.ec2_backend.get_snapshot(snapshot_id)
                self.ec2_backend.snapshots.pop(invented.id, None)
                image.root_device_name = mapping.get("DeviceName") or image.root_device_name
                break
        return result

    ami_responses.AmisResponse.register_image = register_image


def expire_block_tokens():
    """Give every block of every snapshot a new token, as if the old ones had expired."""
    for regions in ebs_backends.values():
        for backend in regions.values():
            for snapshot in backend.snapshots.values():
                for block in snapshot.blocks.values():
                    block.block_token = str(mock_random.uuid4())


EBS_BLOCK_PATH = re.compile(r"^/snapshots/[^/]+/blocks/\d+$")
EBS_BLOCKS_PATH = re.compile(r"^/snapshots/[^/]+/blocks$")


def operation_of(environ, body):
    path = environ.get("PATH_INFO", "")
    if environ["REQUEST_METHOD"] == "GET" and EBS_BLOCK_PATH.match(path):
        return "GetSnapshotBlock"
    if environ["REQUEST_METHOD"] == "GET" and EBS_BLOCKS_PATH.match(path):
        return "ListSnapshotBlocks"
    if environ["REQUEST_METHOD"] == "POST" and path == "/":
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return "other"


class FaultInjector:
    """WSGI middleware that injects the configured faults in front of moto."""

    def __init__(self, application):
        self.application = application
        self.lock = threading.Lock()
        self.latency_ms = {}
        self.pattern = {}
        self.seen = {}
        self.injected = {}

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if environ.get("PATH_INFO") == "/__snapscan/faults":
            return self.control(environ, body, start_response)
        operation = operation_of(environ, body)
        with self.lock:
            count = self.seen.get(operation, 0)
            self.seen[operation] = count + 1
            pattern = self.pattern.get(operation) or [None]
            fault = pattern[count % len(pattern)]
            latency = self.latency_ms.get(operation, 0)
            if fault:
                key = f"{operation}:{fault}"
                self.injected[key] = self.injected.get(key, 0) + 1
        if latency:
            time.sleep(latency / 1000)
        if fault == "throttle":
            return error_response(
                start_response, "400 Bad Request", "RequestThrottledException"
            )
        if fault == "limit":
            return ec2_error(start_response, "503 Service Unavailable", "RequestLimitExceeded")
        if fault == "503":
            return error_response(
                start_response, "503 Service Unavailable", "ServiceUnavailableException"
            )
        if fault == "expire":
            expire_block_tokens()
        if fault in ("truncate", "corrupt"):
            return self.damaged(environ, start_response, fault)
        return self.application(environ, start_response)

    def damaged(self, environ, start_response, fault):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        body = b"".join(self.application(environ, capture))
        start_response(captured["status"], captured["headers"])
        if not captured["status"].startswith("200") or len(body) < 2:
            return [body]
        if fault == "corrupt":
            return [bytes([body[0] ^ 0xFF]) + body[1:]]

        def truncated():
            yield body[: len(body) // 2]
            # Headers promised the whole body: dropping the connection now is a short read.
            raise ConnectionAbortedError("snapscan fault injection: truncated body")

        return truncated()

    def control(self, environ, body, start_response):
        with self.lock:
            if environ["REQUEST_METHOD"] == "POST":
                settings = json.loads(body or b"{}")
                self.latency_ms = settings.get("latency_ms", {})
                self.pattern = settings.get("pattern", {})
                self.seen = {}
                self.injected = {}
            answer = json.dumps({"seen": self.seen, "injected": self.injected}).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))],
        )
        return [answer]


def error_response(start_response, status, error_type):
    body = json.dumps({"__type": error_type, "message": "injected by snapscan tests"}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", error_type),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


def ec2_error(start_response, status, code):
    body = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>injected by snapscan tests"
        "</Message></Error></Errors><RequestID>snapscan</RequestID></Response>"
    ).encode()
    start_response(
        status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
    )
    return [body]


def main():
    patch_block_size()
    patch_list_snapshot_blocks()
    patch_get_snapshot_block()
    patch_other_not_found()
    patch_snapshot_carries_blocks()
    patch_pending_status()
    patch_exclude_data_volumes()
    patch_root_device_type()
    patch_register_image()
    application = FaultInjector(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        "127.0.0.1", 0, application, threaded=True, request_handler=MotoRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    # Serve until whoever started us goes away (its end of our stdin closes).
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
