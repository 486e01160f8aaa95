// A stack child must not outlive its supervisor, even when the supervisor is killed with SIGKILL and
// gets no chance to stop it. The supervisor spawns every child with an IPC channel; the channel closes
// when the parent dies, and that is our cue to shut down.
export function exitWhenParentDies(shutdown: () => Promise<void> | void, graceMs = 3000): void {
  if (!process.connected) return;
  // The channel must not keep the child alive on its own.
  process.channel?.unref();
  process.once('disconnect', () => {
    setTimeout(() => process.exit(0), graceMs).unref();
    Promise.resolve()
      .then(shutdown)
      .finally(() => process.exit(0));
  });
}
