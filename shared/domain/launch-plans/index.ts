// Launch plans: job + allocated nodes → which command runs on which node, with which environment and files.
export * from './host-execution.js';
export * from './mounts.js';
export * from './mpi.js';
export * from './plan-launch.js';
export * from './python.js';
export * from './run-task-command.js';
export * from './types.js';
export * from './variables.js';
