// Which continuation finishes an operation of each kind: used when an interrupted operation resumes at start.
import type { Compute } from '../compute.js';
import type { Continuation } from '../run-operation.js';
import type { OperationRecord } from '../store.js';
import { finishInstancesDelete } from './delete-instances.js';
import { finishScaleSetDelete } from './delete-scale-set.js';
import { finishInstanceAction } from './instance-action.js';
import { finishScaleSetWrite } from './write-scale-set.js';

export function continuationOf(c: Compute, op: OperationRecord): Continuation {
  switch (op.kind) {
    case 'writeScaleSet':
      return finishScaleSetWrite(c, op);
    case 'deleteScaleSet':
      return finishScaleSetDelete(c, op);
    case 'deleteInstances':
      return finishInstancesDelete(c, op);
    case 'restartInstance':
    case 'reimageInstance':
    case 'startInstance':
    case 'deallocateInstance':
      return finishInstanceAction(c, op);
  }
}
