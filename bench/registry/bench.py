#!/usr/bin/env python3
"""Slipway's embedded registry against Debian's docker-registry (the CNCF distribution registry).

Run by run.sh, which builds slipway first. Both registries serve plain HTTP on loopback from
storage directories on the same disk. For each layer size, CLIENTS concurrent skopeo processes
each push (then pull) a single-layer image of their own, ROUNDS times, the two registries taking
turns round by round; every skopeo run is one latency sample, and throughput is the bytes moved
over the wall time of a round. Then the same with HTTP_CLIENTS clients in one process
(bench/registry/load), which measures the registries rather than skopeo's start-up. Then a store of
10,000 manifests (half of them deleted) is garbage-collected by each: slipway online, distribution
offline as it must be (GC_MANIFESTS=0 skips it).

Prints a Markdown table of the results on stdout.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SLIPWAY = os.environ["SLIPWAY_BIN"]
WORK = os.environ.get("BENCH_DIR", "/var/tmp/slipway-registry-bench")
LOAD = os.environ["LOAD_BIN"]
CLIENTS = int(os.environ.get("CLIENTS", "4"))
HTTP_CLIENTS = int(os.environ.get("HTTP_CLIENTS", "8"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SIZES_MB = [int(size) for size in os.environ.get("SIZES_MB", "1 10 100").split()]
GC_MANIFESTS = int(os.environ.get("GC_MANIFESTS", "10000"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    sys.exit(f"nothing answers on {port}")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(layout, data):
    digest = sha256(data)
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as out:
        out.write(data)
    return digest


def oci_layout(path, layer):
    """An OCI image layout with one image, tagged v1, whose only layer is `layer`."""
    os.makedirs(os.path.join(path, "blobs", "sha256"))
    layer_digest = write_blob(path, layer)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [layer_digest]}}).encode()
    config_digest = write_blob(path, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
    }).encode()
    manifest_digest = write_blob(path, manifest)
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}
    with open(os.path.join(path, "index.json"), "w") as out:
        json.dump(index, out)
    with open(os.path.join(path, "oci-layout"), "w") as out:
        out.write('{"imageLayoutVersion":"1.0.0"}')


def skopeo_copy(source, target):
    started = time.perf_counter()
    subprocess.run(["skopeo", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
                    "--dest-tls-verify=false", source, target], check=True)
    return time.perf_counter() - started


def concurrently(jobs):
    """Runs the callables at once; returns (wall seconds, [each one's result])."""
    results = [None] * len(jobs)

    def run(index, job):
        results[index] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, results


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Registry:
    def __init__(self, name, start):
        self.name = name
        self.port = free_port()
        self.storage = os.path.join(WORK, name)
        self.process = start(self.port, self.storage)
        wait_for(self.port)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def start_slipway(port, storage):
    return subprocess.Popen([SLIPWAY, "--quiet", "--state-dir", os.path.join(WORK, "slipway-state"),
                             "registry", "serve", "--addr", f"127.0.0.1:{port}", "--storage", storage],
                            cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def distribution_config(port, storage):
    path = os.path.join(WORK, f"distribution-{port}.yml")
    with open(path, "w") as out:
        out.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n"
                  f"  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
                  f"http:\n  addr: 127.0.0.1:{port}\n")
    return path


def start_distribution(port, storage):
    return subprocess.Popen(["docker-registry", "serve", distribution_config(port, storage)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def transfer_round(registry, base, round_):
    """One round: every client pushes a single-layer image of its own, all at once, then pulls it
    back; returns {direction: (MB/s over the round's wall time, [each client's seconds])}.

    Every client pushes a layer of its own in every round (the first bytes differ), so no push
    finds its layer already there or mounts it from another repository.
    """
    size_mb = len(base) // (1024 * 1024)
    layouts, remotes = [], []
    for client in range(CLIENTS):
        layout = os.path.join(WORK, f"layout-{registry.name}-{round_}-{client}")
        oci_layout(layout, (round_ * CLIENTS + client).to_bytes(8, "big") + base[8:])
        layouts.append(layout)
        remotes.append(f"docker://127.0.0.1:{registry.port}/bench/c{client}-r{round_}:v1")
    push_wall, push_latencies = concurrently([
        lambda layout=layout, remote=remote: skopeo_copy(f"oci:{layout}:v1", remote)
        for layout, remote in zip(layouts, remotes)])
    targets = [tempfile.mkdtemp(dir=WORK) for _ in remotes]
    pull_wall, pull_latencies = concurrently([
        lambda remote=remote, target=target: skopeo_copy(remote, f"dir:{target}")
        for remote, target in zip(remotes, targets)])
    for path in layouts + targets:
        shutil.rmtree(path)
    return {"push": (CLIENTS * size_mb / push_wall, push_latencies),
            "pull": (CLIENTS * size_mb / pull_wall, pull_latencies)}


def http_round(registry, size_mb, round_):
    """One round of HTTP_CLIENTS clients in one process (bench/registry/load): each pushes an image
    of its own, all at once, then pulls it back; the same shape of result as transfer_round."""
    output = subprocess.run([LOAD, f"http://127.0.0.1:{registry.port}", str(HTTP_CLIENTS), str(size_mb), str(round_)],
                            check=True, capture_output=True, text=True).stdout
    report = json.loads(output)
    return {direction: (HTTP_CLIENTS * size_mb / report[direction]["seconds"], report[direction]["latencies"])
            for direction in ("push", "pull")}


def measure(size_mb, transfer):
    """Rows of (size, direction, registry, MB/s, p50, p99) for `transfer(registry, round)` run
    ROUNDS times against fresh registries taking turns."""
    registries = [(name, Registry(f"{name}-{size_mb}", start))
                  for name, start in (("distribution", start_distribution), ("slipway", start_slipway))]
    rounds = {name: [] for name, _ in registries}
    # One untimed round each first: the first push makes each registry create its storage layout
    # (and Slipway its state store and advisory index), which no later push pays for.
    for _, registry in registries:
        transfer(registry, ROUNDS)
    for round_ in range(ROUNDS):
        # The registries take turns, the first of each round alternating, so that other work on a
        # shared machine, and each one's writes still being flushed, weigh on both alike.
        for name, registry in registries if round_ % 2 == 0 else registries[::-1]:
            rounds[name].append(transfer(registry, round_))
    for name, registry in registries:
        registry.stop()
        shutil.rmtree(registry.storage, ignore_errors=True)
    return [(size_mb, direction, name, *summary(rounds[name], direction))
            for direction in ("push", "pull") for name, _ in registries]


def print_rows(rows):
    print("| layer | direction | registry | throughput (MB/s) | p50 latency (s) | p99 latency (s) |")
    print("|---|---|---|---|---|---|")
    for size_mb, direction, name, rate, p50, p99 in rows:
        print(f"| {size_mb} MB | {direction} | {name} | {rate:.1f} | {p50:.3f} | {p99:.3f} |")


def summary(rounds, direction):
    """(mean MB/s, p50 s, p99 s) of one registry's rounds in one direction."""
    rates = [round_[direction][0] for round_ in rounds]
    samples = [latency for round_ in rounds for latency in round_[direction][1]]
    return sum(rates) / len(rates), percentile(samples, 0.5), percentile(samples, 0.99)


def request(port, method, path, body=b"", content_type="application/octet-stream"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body if method in ("POST", "PUT") else None,
                                 method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.status, answer.headers


def push_blob(port, data):
    """Uploads a blob in two requests, POST then PUT with the digest: the monolithic upload both
    registries take (distribution ignores the body of a POST that carries a digest)."""
    upload = request(port, "POST", "/v2/gc/app/blobs/uploads/")[1].get("Location")
    separator = "&" if "?" in upload else "?"
    path = upload.split(f"127.0.0.1:{port}")[-1]
    request(port, "PUT", f"{path}{separator}digest={sha256(data)}", data)


def populate(port, manifests):
    """Pushes `manifests` images (a config each, layers from a shared pool of 20) and deletes
    every other one, so that a collection has garbage to find."""
    pool = [os.urandom(4096) for _ in range(20)]
    for layer in pool:
        push_blob(port, layer)
    for i in range(manifests):
        config = json.dumps({"image": i}).encode()
        push_blob(port, config)
        layers = [pool[i % 20], pool[(i * 7) % 20]]
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(l), "size": len(l)} for l in layers],
        }).encode()
        request(port, "PUT", f"/v2/gc/app/manifests/t{i}", manifest, "application/vnd.oci.image.manifest.v1+json")
        if i % 2:
            request(port, "DELETE", f"/v2/gc/app/manifests/{sha256(manifest)}")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    skopeo_rows, http_rows = [], []
    for size_mb in SIZES_MB:
        base = os.urandom(size_mb * 1024 * 1024)
        skopeo_rows += measure(size_mb, lambda registry, round_: transfer_round(registry, base, round_))
        http_rows += measure(size_mb, lambda registry, round_: http_round(registry, size_mb, round_))

    print(f"Transfers with skopeo: {CLIENTS} concurrent skopeo processes, {ROUNDS} rounds, "
          "one single-layer image of its own per client and round.\n")
    print_rows(skopeo_rows)
    print(f"\nTransfers over HTTP: {HTTP_CLIENTS} concurrent clients in one process, {ROUNDS} rounds, "
          "one single-layer image of its own per client and round.\n")
    print_rows(http_rows)
    sys.stdout.flush()
    if GC_MANIFESTS == 0:
        return
    print(f"\nGarbage collection of {GC_MANIFESTS} manifests, half of them deleted:\n")
    print("| registry | mode | time (s) | result |")
    print("|---|---|---|---|")
    slipway = Registry("slipway-gc", start_slipway)
    populate(slipway.port, GC_MANIFESTS)
    started = time.perf_counter()
    report = subprocess.run([SLIPWAY, "--state-dir", os.path.join(WORK, "slipway-state"), "registry", "gc",
                             "--grace", "0s", "--json", "--storage", slipway.storage],
                            cwd=WORK, check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - started
    report = json.loads(report)
    slipway.stop()
    print(f"| slipway | online (serving) | {elapsed:.2f} | {report['blobs_removed']} blobs removed, "
          f"{report['manifests']} manifests walked |")
    distribution = Registry("distribution-gc", start_distribution)
    populate(distribution.port, GC_MANIFESTS)
    distribution.stop()
    config = distribution_config(distribution.port, distribution.storage)
    started = time.perf_counter()
    output = subprocess.run(["docker-registry", "garbage-collect", "--delete-untagged", config],
                            check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - started
    deleted = sum(1 for line in output.splitlines() if "blob eligible for deletion" in line)
    print(f"| distribution | offline (stopped) | {elapsed:.2f} | {deleted} blobs removed |")


if __name__ == "__main__":
    try:
        main()
    finally:
        # Layers and two stores of 10,000 manifests: nothing to keep once the figures are printed.
        shutil.rmtree(WORK, ignore_errors=True)
