#!/usr/bin/env python3
"""A 2-node MPI job without mpi4py: mpirun (Debian's openmpi-bin) starts one rank per slot of the host file Batch AI
wrote to $AZ_BATCHAI_MPI_HOST_FILE; each rank reports who it is and where, and leaves a file in the job's output
directory ($AZ_BATCHAI_OUTPUT_RESULTS), so the outputs list shows that every rank ran.
"""

import os
import socket
import sys

rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMI_RANK", "0")))
size = int(os.environ.get("OMPI_COMM_WORLD_SIZE", os.environ.get("PMI_SIZE", "1")))
out = os.environ.get("AZ_BATCHAI_OUTPUT_RESULTS", "outputs")
os.makedirs(out, exist_ok=True)
line = "rank %d of %d on %s (pid %d)" % (rank, size, socket.gethostname(), os.getpid())
print(line, flush=True)
with open(os.path.join(out, "rank-%d.txt" % rank), "w") as f:
    f.write(line + "\n")
sys.exit(0)
