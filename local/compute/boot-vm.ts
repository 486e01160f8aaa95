// Booting a VM: the boot delay, then cloud-init (customData → the agent configuration on the VM's disk), then the
// agent process with the LOCAL_VM_ENV identity. A VM that cannot boot is Failed with the reason ARM would give.
import { existsSync } from 'node:fs';
import { freePort } from '../stack/ports.js';
import { type ArmError, armErrors } from './arm-errors.js';
import { instanceResourceId } from './arm-ids.js';
import { localVmEnvironment, parseAgentBootstrap, writeAgentConfig } from './cloud-init.js';
import { type Compute, delay } from './compute.js';
import { customDataOf, priorityOf, refOf } from './scale-set-model.js';
import type { ScaleSetRecord } from './store.js';

/** Boots a VM after earlier work on it. Returns its provisioning error, if any. */
export function bootVm(c: Compute, ss: ScaleSetRecord, instanceId: number): Promise<ArmError | undefined> {
  return c.serial(c.vmKey(ss.key, instanceId), () => bootVmNow(c, ss.key, instanceId));
}

/** Boots a VM; the caller holds its serial key. */
export async function bootVmNow(c: Compute, key: string, instanceId: number): Promise<ArmError | undefined> {
  if (c.settings.bootDelayMs > 0) await delay(c.settings.bootDelayMs);
  if (c.isStopping) return undefined;
  const ss = c.store.getScaleSet(key);
  const inst = c.store.getInstance(key, instanceId);
  if (!ss || !inst || inst.provisioningState === 'Deleting') return undefined;
  const vmKey = c.vmKey(key, instanceId);
  if (c.vms.isRunning(vmKey)) return undefined;
  const fail = (error: ArmError): ArmError => {
    inst.provisioningState = 'Failed';
    inst.powerState = 'stopped';
    inst.error = error;
    c.store.putInstance(inst);
    return error;
  };
  const customData = customDataOf(ss);
  if (customData === undefined)
    return fail(
      armErrors.osProvisioningFailed(
        inst.name,
        'the scale set has no osProfile.customData (local VMs run only the node agent)',
      ),
    );
  const parsed = parseAgentBootstrap(customData);
  if (!parsed.ok) return fail(armErrors.osProvisioningFailed(inst.name, parsed.error));
  if (!existsSync(c.settings.agentScript))
    return fail(
      armErrors.vmStartFailed(
        inst.name,
        `the agent program ${c.settings.agentScript} does not exist (run npm run build, or pass --agent-script)`,
      ),
    );
  if (inst.port === 0) {
    inst.port = await unusedPort(c);
    c.store.putInstance(inst);
  }
  const diskDir = c.diskDir(ss, instanceId);
  const configPath = await writeAgentConfig(diskDir, parsed.value);
  const env = {
    ...process.env,
    ...localVmEnvironment({
      resourceId: instanceResourceId(refOf(ss), instanceId),
      vmId: inst.vmId,
      name: inst.name,
      instanceId,
      vmSize: inst.vmSize,
      priority: priorityOf(ss),
      diskDir,
      port: inst.port,
      networkRoot: c.networkRoot,
      storageConnectionString: c.settings.storageConnectionString,
    }),
  } as Record<string, string>;
  try {
    const pid = await c.vms.start({
      key: vmKey,
      script: c.settings.agentScript,
      args: ['--config', configPath],
      env,
      cwd: diskDir,
      logPath: c.logPath(ss, instanceId),
    });
    c.log.info({ vm: inst.name, pid }, 'VM booted');
  } catch (err) {
    return fail(armErrors.vmStartFailed(inst.name, (err as Error).message));
  }
  const crash = c.crashes.get(vmKey);
  if (crash) crash.lastBoot = Date.now();
  inst.provisioningState = 'Succeeded';
  inst.powerState = 'running';
  delete inst.error;
  c.setAvailability(ss, inst, 'Available');
  return undefined;
}

/** A free port no other VM has been given (a VM keeps its port across reboots). */
async function unusedPort(c: Compute): Promise<number> {
  const taken = new Set(c.store.listAllInstances().map((i) => i.port));
  for (;;) {
    const port = await freePort();
    if (!taken.has(port)) return port;
  }
}
