// Valid bodies shared by the domain tests. Ids use the spec examples' subscription and names.

export const SUB = '00000000-0000-0000-0000-000000000000';
export const RG = 'demo_resource_group';
export const WS_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.BatchAI/workspaces/demo_workspace`;
export const CLUSTER_ID = `${WS_ID}/clusters/demo_cluster`;
export const FILE_SERVER_ID = `${WS_ID}/fileServers/demo_nfs`;
export const SUBNET_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/Subnet-1`;
export const KEY_VAULT_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/demo-vault`;
export const APP_INSIGHTS_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Insights/components/demo-ai`;

export const keyVaultRef = (name: string) => ({
  sourceVault: { id: KEY_VAULT_ID },
  secretUrl: `https://demo-vault.vault.azure.net/secrets/${name}`,
});

export function minimalJob(): { properties: Record<string, unknown> } {
  return {
    properties: {
      cluster: { id: CLUSTER_ID },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/logs',
      customToolkitSettings: { commandLine: 'echo hi' },
    },
  };
}

/** A job using every writable property, with distinct secret values that must never come back. */
export function fullJob(secret: (name: string) => string) {
  return {
    properties: {
      schedulingPriority: 'high',
      cluster: { id: CLUSTER_ID },
      mountVolumes: {
        azureFileShares: [
          {
            accountName: 'acct',
            azureFileUrl: 'https://acct.file.core.windows.net/share',
            credentials: { accountKey: secret('fileShareKey') },
            relativeMountPath: 'afs',
          },
        ],
        azureBlobFileSystems: [
          {
            accountName: 'acct',
            containerName: 'data',
            credentials: { accountKey: secret('blobKey') },
            relativeMountPath: 'blob',
            mountOptions: '-o attr_timeout=240',
          },
          {
            accountName: 'acct2',
            containerName: 'more',
            credentials: { accountKeySecretReference: keyVaultRef('blob2') },
            relativeMountPath: 'blob2',
          },
        ],
        fileServers: [{ fileServer: { id: FILE_SERVER_ID }, relativeMountPath: 'nfs', sourceDirectory: 'data' }],
        unmanagedFileSystems: [{ mountCommand: 'mount -t nfs 10.0.0.4:/data', relativeMountPath: 'unmanaged' }],
      },
      nodeCount: 2,
      containerSettings: {
        imageSourceRegistry: {
          serverUrl: 'demo.azurecr.io',
          image: 'demo.azurecr.io/train:1',
          credentials: { username: 'demo', password: secret('registryPassword') },
        },
        shmSize: '2g',
      },
      horovodSettings: { pythonScriptFilePath: 'train.py', commandLineArgs: '--epochs 1' },
      jobPreparation: { commandLine: 'pip install horovod' },
      stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/afs',
      inputDirectories: [{ id: 'DATA', path: '$AZ_BATCHAI_JOB_MOUNT_ROOT/blob' }],
      outputDirectories: [{ id: 'MODEL', pathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/afs', pathSuffix: 'models' }],
      environmentVariables: [{ name: 'MODE', value: 'train' }],
      secrets: [
        { name: 'API_TOKEN', value: secret('envSecret') },
        { name: 'DB_PASSWORD', valueSecretReference: keyVaultRef('db') },
      ],
      constraints: { maxWallClockTime: 'PT2H' },
    },
  };
}

export function fullCluster(secret: (name: string) => string) {
  return {
    properties: {
      vmSize: 'STANDARD_NC6',
      vmPriority: 'lowpriority',
      scaleSettings: { autoScale: { minimumNodeCount: 0, maximumNodeCount: 4, initialNodeCount: 1 } },
      virtualMachineConfiguration: {
        imageReference: { publisher: 'microsoft-ads', offer: 'linux-data-science-vm-ubuntu', sku: 'linuxdsvmubuntu' },
      },
      nodeSetup: {
        setupTask: {
          commandLine: 'apt-get install -y jq',
          environmentVariables: [{ name: 'A', value: '1' }],
          secrets: [{ name: 'SETUP_SECRET', value: secret('setupSecret') }],
          stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/afs',
        },
        mountVolumes: {
          azureFileShares: [
            {
              accountName: 'acct',
              azureFileUrl: 'https://acct.file.core.windows.net/share',
              credentials: { accountKey: secret('clusterShareKey') },
              relativeMountPath: 'afs',
            },
          ],
        },
        performanceCountersSettings: {
          appInsightsReference: {
            component: { id: APP_INSIGHTS_ID },
            instrumentationKey: secret('instrumentationKey'),
          },
        },
      },
      userAccountSettings: {
        adminUserName: 'admin',
        adminUserSshPublicKey: 'ssh-rsa AAAA',
        adminUserPassword: secret('adminPassword'),
      },
      subnet: { id: SUBNET_ID },
    },
  };
}

export function fullFileServer(secret: (name: string) => string) {
  return {
    properties: {
      vmSize: 'STANDARD_D2_V2',
      sshConfiguration: {
        publicIPsToAllow: ['10.0.0.0/8'],
        userAccountSettings: { adminUserName: 'admin', adminUserPassword: secret('fsPassword') },
      },
      dataDisks: { diskSizeInGB: 128, diskCount: 2, storageAccountType: 'Premium_LRS', cachingType: 'readwrite' },
      subnet: { id: SUBNET_ID },
    },
  };
}

export const marker = (name: string) => `SECRET-${name}-9f3c`;
