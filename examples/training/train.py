#!/usr/bin/env python3
"""A dependency-free training job: fits y = w.x + b by minibatch SGD on synthetic data.

It behaves the way a real training script on Batch AI should:
- logs one line per epoch (stdout, flushed, so the live log shows progress);
- writes a checkpoint to its output directory after every epoch, atomically (write, then rename);
- on start, resumes from the latest readable checkpoint, so a requeued attempt (same output directory on every
  attempt) continues where the previous one stopped instead of starting over.

The result does not depend on where it was interrupted: each epoch shuffles with its own seed, so a resumed run ends
with exactly the same model as an uninterrupted one.

Usage: train.py [--epochs N] [--output DIR] [--seconds-per-epoch S] [--fail-after-epoch K]
The output directory defaults to $AZ_BATCHAI_OUTPUT_MODEL (the job's output directory with id MODEL).
"""

import argparse
import json
import os
import random
import sys
import time

FEATURES = 4
SAMPLES = 512
BATCH = 32
LEARNING_RATE = 0.05
TRUE_W = [1.5, -2.0, 0.5, 3.0]
TRUE_B = 0.25


def dataset(seed=7):
    rng = random.Random(seed)
    rows = []
    for _ in range(SAMPLES):
        x = [rng.uniform(-1, 1) for _ in range(FEATURES)]
        y = sum(w * v for w, v in zip(TRUE_W, x)) + TRUE_B + rng.gauss(0, 0.05)
        rows.append((x, y))
    return rows


def loss_of(model, rows):
    w, b = model["w"], model["b"]
    return sum((sum(wi * xi for wi, xi in zip(w, x)) + b - y) ** 2 for x, y in rows) / len(rows)


def train_epoch(model, rows, epoch):
    order = list(range(len(rows)))
    random.Random(1000 + epoch).shuffle(order)
    w, b = list(model["w"]), model["b"]
    for start in range(0, len(order), BATCH):
        batch = [rows[i] for i in order[start:start + BATCH]]
        gw = [0.0] * FEATURES
        gb = 0.0
        for x, y in batch:
            err = sum(wi * xi for wi, xi in zip(w, x)) + b - y
            for i in range(FEATURES):
                gw[i] += 2 * err * x[i] / len(batch)
            gb += 2 * err / len(batch)
        w = [wi - LEARNING_RATE * g for wi, g in zip(w, gw)]
        b -= LEARNING_RATE * gb
    return {"w": w, "b": b}


def checkpoint_name(epoch):
    return "checkpoint-epoch-%04d.json" % epoch


def latest_checkpoint(directory):
    """The newest checkpoint that can be read back; a torn or corrupt file is skipped, not fatal."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.startswith("checkpoint-epoch-") and n.endswith(".json"))
    except FileNotFoundError:
        return None
    for name in reversed(names):
        try:
            with open(os.path.join(directory, name)) as f:
                state = json.load(f)
            if isinstance(state.get("epoch"), int) and "model" in state:
                return state
        except (OSError, ValueError):
            print("skipping unreadable checkpoint %s" % name, flush=True)
    return None


def write_atomically(path, data):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--output", default=os.environ.get("AZ_BATCHAI_OUTPUT_MODEL", "outputs"))
    parser.add_argument("--seconds-per-epoch", type=float, default=0.0)
    parser.add_argument("--fail-after-epoch", type=int, default=None,
                        help="exit with code 3 right after checkpointing this epoch (to exercise resuming)")
    args = parser.parse_args(argv)

    os.makedirs(args.output, exist_ok=True)
    rows = dataset()
    state = latest_checkpoint(args.output)
    if state is None:
        model, first = {"w": [0.0] * FEATURES, "b": 0.0}, 1
        print("starting from scratch: %d epochs, output in %s" % (args.epochs, args.output), flush=True)
    else:
        model, first = state["model"], state["epoch"] + 1
        print("resumed from epoch %d (%s)" % (state["epoch"], checkpoint_name(state["epoch"])), flush=True)

    for epoch in range(first, args.epochs + 1):
        model = train_epoch(model, rows, epoch)
        if args.seconds_per_epoch > 0:
            time.sleep(args.seconds_per_epoch)
        loss = loss_of(model, rows)
        write_atomically(os.path.join(args.output, checkpoint_name(epoch)), {"epoch": epoch, "loss": loss, "model": model})
        print("epoch %d/%d loss=%.6f" % (epoch, args.epochs, loss), flush=True)
        if args.fail_after_epoch == epoch:
            print("failing on purpose after epoch %d" % epoch, file=sys.stderr, flush=True)
            return 3

    final = {"epochs": args.epochs, "loss": loss_of(model, rows), "model": model}
    write_atomically(os.path.join(args.output, "model.json"), final)
    print("done: loss=%.6f, model in %s" % (final["loss"], os.path.join(args.output, "model.json")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
