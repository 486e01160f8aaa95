#!/usr/bin/env python3
"""Distributed data-parallel training with PyTorch over gloo (CPU), one process per node.

The processes meet through the variables Batch AI gives a pyTorchSettings job, passed as arguments the way the
public recipes did (--dist-url $AZ_BATCHAI_PYTORCH_INIT_METHOD --rank $AZ_BATCHAI_TASK_INDEX). Each rank trains on
its own shard of a synthetic regression data set; DistributedDataParallel averages the gradients, so every rank ends
with the same weights, which rank 0 checks with an all_gather before it writes the model. Rank 0 checkpoints each
epoch to $AZ_BATCHAI_OUTPUT_MODEL and every rank resumes from the latest checkpoint, so a requeued job continues.

Needs Debian's python3-torch: run it with /usr/bin/python3 (pythonInterpreterPath in the job).
"""

import argparse
import glob
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--world-size", type=int, required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--dist-url", required=True)
    p.add_argument("--dist-backend", default="gloo")
    p.add_argument("--output", default=os.environ.get("AZ_BATCHAI_OUTPUT_MODEL", "outputs"))
    args = p.parse_args(argv)

    dist.init_process_group(args.dist_backend, init_method=args.dist_url, world_size=args.world_size, rank=args.rank)
    print("rank %d of %d joined at %s (%s)" % (args.rank, args.world_size, args.dist_url, args.dist_backend), flush=True)

    torch.manual_seed(0)
    true_w = torch.tensor([[1.5], [-2.0], [0.5], [3.0]])
    x = torch.randn(1024, 4)
    y = x @ true_w + 0.25
    shard = slice(args.rank, None, args.world_size)
    xs, ys = x[shard], y[shard]

    model = torch.nn.Linear(4, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    first = 1
    os.makedirs(args.output, exist_ok=True)
    checkpoints = sorted(glob.glob(os.path.join(args.output, "checkpoint-epoch-*.pt")))
    if checkpoints:
        state = torch.load(checkpoints[-1])
        model.load_state_dict(state["model"])
        first = state["epoch"] + 1
        print("rank %d resumed from epoch %d" % (args.rank, state["epoch"]), flush=True)

    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    for epoch in range(first, args.epochs + 1):
        for start in range(0, xs.shape[0], 32):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(ddp(xs[start:start + 32]), ys[start:start + 32])
            loss.backward()
            optimizer.step()
        total = torch.tensor([torch.nn.functional.mse_loss(model(xs), ys).item()])
        dist.all_reduce(total)
        if args.rank == 0:
            mean = total.item() / args.world_size
            path = os.path.join(args.output, "checkpoint-epoch-%04d.pt" % epoch)
            torch.save({"epoch": epoch, "model": model.state_dict()}, path + ".tmp")
            os.replace(path + ".tmp", path)
            print("epoch %d/%d loss=%.6f" % (epoch, args.epochs, mean), flush=True)
        dist.barrier()

    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(args.world_size)]
    dist.all_gather(gathered, flat)
    same = all(torch.equal(g, gathered[0]) for g in gathered)
    if args.rank == 0:
        print("weights identical on all %d ranks: %s" % (args.world_size, same), flush=True)
        torch.save(model.state_dict(), os.path.join(args.output, "model.pt"))
    dist.destroy_process_group()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
