// The VM sizes Batch AI clusters ran on, as Azure publishes them: vCPUs, memory and GPUs. The compute emulator
// refuses sizes it does not know (as Azure refuses a size a region does not offer); usages count vCPUs.

export interface VmSize {
  /** Azure's spelling, e.g. Standard_NC6. */
  name: string;
  vCpus: number;
  memoryGiB: number;
  gpus: number;
}

// [name, vCPUs, memory GiB, GPUs]
const SIZES: ReadonlyArray<readonly [string, number, number, number]> = [
  ['Standard_A1', 1, 1.75, 0],
  ['Standard_A2', 2, 3.5, 0],
  ['Standard_A3', 4, 7, 0],
  ['Standard_A4', 8, 14, 0],
  ['Standard_D1', 1, 3.5, 0],
  ['Standard_D2', 2, 7, 0],
  ['Standard_D3', 4, 14, 0],
  ['Standard_D4', 8, 28, 0],
  ['Standard_D11', 2, 14, 0],
  ['Standard_D12', 4, 28, 0],
  ['Standard_D13', 8, 56, 0],
  ['Standard_D14', 16, 112, 0],
  ['Standard_D1_v2', 1, 3.5, 0],
  ['Standard_D2_v2', 2, 7, 0],
  ['Standard_D3_v2', 4, 14, 0],
  ['Standard_D4_v2', 8, 28, 0],
  ['Standard_D5_v2', 16, 56, 0],
  ['Standard_D11_v2', 2, 14, 0],
  ['Standard_D12_v2', 4, 28, 0],
  ['Standard_D13_v2', 8, 56, 0],
  ['Standard_D14_v2', 16, 112, 0],
  ['Standard_D15_v2', 20, 140, 0],
  ['Standard_D2_v3', 2, 8, 0],
  ['Standard_D4_v3', 4, 16, 0],
  ['Standard_D8_v3', 8, 32, 0],
  ['Standard_D16_v3', 16, 64, 0],
  ['Standard_D32_v3', 32, 128, 0],
  ['Standard_D64_v3', 64, 256, 0],
  ['Standard_DS1_v2', 1, 3.5, 0],
  ['Standard_DS2_v2', 2, 7, 0],
  ['Standard_DS3_v2', 4, 14, 0],
  ['Standard_DS4_v2', 8, 28, 0],
  ['Standard_DS5_v2', 16, 56, 0],
  ['Standard_F2', 2, 4, 0],
  ['Standard_F4', 4, 8, 0],
  ['Standard_F8', 8, 16, 0],
  ['Standard_F16', 16, 32, 0],
  ['Standard_F2s_v2', 2, 4, 0],
  ['Standard_F4s_v2', 4, 8, 0],
  ['Standard_F8s_v2', 8, 16, 0],
  ['Standard_NC6', 6, 56, 1],
  ['Standard_NC12', 12, 112, 2],
  ['Standard_NC24', 24, 224, 4],
  ['Standard_NC24r', 24, 224, 4],
  ['Standard_NC6s_v2', 6, 112, 1],
  ['Standard_NC12s_v2', 12, 224, 2],
  ['Standard_NC24s_v2', 24, 448, 4],
  ['Standard_NC24rs_v2', 24, 448, 4],
  ['Standard_NC6s_v3', 6, 112, 1],
  ['Standard_NC12s_v3', 12, 224, 2],
  ['Standard_NC24s_v3', 24, 448, 4],
  ['Standard_NC24rs_v3', 24, 448, 4],
  ['Standard_ND6s', 6, 112, 1],
  ['Standard_ND12s', 12, 224, 2],
  ['Standard_ND24s', 24, 448, 4],
  ['Standard_ND24rs', 24, 448, 4],
  ['Standard_NV6', 6, 56, 1],
  ['Standard_NV12', 12, 112, 2],
  ['Standard_NV24', 24, 224, 4],
  ['Standard_H8', 8, 56, 0],
  ['Standard_H16', 16, 112, 0],
  ['Standard_H16r', 16, 112, 0],
  ['Standard_H16mr', 16, 224, 0],
];

const BY_NAME = new Map<string, VmSize>(
  SIZES.map(([name, vCpus, memoryGiB, gpus]) => [name.toLowerCase(), { name, vCpus, memoryGiB, gpus }]),
);

/** Every known size, in Azure's spelling. */
export const KNOWN_VM_SIZES: readonly string[] = SIZES.map(([name]) => name);

/** The size, case-insensitively (Azure accepts any case), or undefined for a size no region offers here. */
export function vmSizeOf(vmSize: string): VmSize | undefined {
  return BY_NAME.get(vmSize.toLowerCase());
}

/** vCPUs of a size; an unknown size counts one vCPU per node so quota use is never reported as zero. */
export function vCpusOf(vmSize: string): number {
  return vmSizeOf(vmSize)?.vCpus ?? 1;
}
