// The one catalogue of ARM errors the emulator answers with: Azure's codes and wording, so clients (and the app's
// error mapping) see what they would see on Azure. Pure.
import type { HttpResponse } from './http-types.js';

export interface ArmError {
  code: string;
  message: string;
  target?: string;
}

export function armErrorResponse(statusCode: number, error: ArmError, headers?: Record<string, string>): HttpResponse {
  return { statusCode, body: { error }, ...(headers ? { headers } : {}) };
}

export const armErrors = {
  missingAuthorization: (): ArmError => ({
    code: 'AuthenticationFailed',
    message: "Authentication failed. The 'Authorization' header is missing.",
  }),
  invalidAuthorization: (): ArmError => ({
    code: 'InvalidAuthenticationToken',
    message: "The access token is invalid: the 'Authorization' header must be 'Bearer <token>'.",
  }),
  missingApiVersion: (): ArmError => ({
    code: 'MissingApiVersionParameter',
    message: 'The api-version query parameter (?api-version=) is required for all requests.',
  }),
  unsupportedApiVersion: (version: string, supported: readonly string[]): ArmError => ({
    code: 'NoRegisteredProviderFound',
    message: `No registered resource provider found for API version '${version}' and type 'virtualMachineScaleSets'. The supported api-versions are '${supported.join(', ')}'.`,
  }),
  scaleSetNotFound: (resourceGroup: string, name: string): ArmError => ({
    code: 'ResourceNotFound',
    message: `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  }),
  instanceNotFound: (): ArmError => ({ code: 'NotFound', message: 'The entity was not found in this Azure location.' }),
  operationNotFound: (id: string): ArmError => ({
    code: 'NotFound',
    message: `The operation '${id}' was not found in this Azure location.`,
  }),
  invalidRequestContent: (why: string): ArmError => ({
    code: 'InvalidRequestContent',
    message: `The request content was invalid and could not be deserialized: '${why}'.`,
  }),
  invalidParameter: (target: string, message: string): ArmError => ({ code: 'InvalidParameter', message, target }),
  locationRequired: (): ArmError => ({
    code: 'LocationRequired',
    message: 'The location property is required for this definition.',
  }),
  unknownVmSize: (vmSize: string, known: readonly string[]): ArmError => ({
    code: 'InvalidParameter',
    message: `The value ${vmSize} provided for the VM size is not valid. The valid sizes in the current region are: ${known.join(',')}.`,
    target: 'vmSize',
  }),
  /** What ARM answers (HTTP 409) when an allocation would exceed the regional vCPU quota. */
  coreQuotaExceeded: (o: { location: string; limit: number; usage: number; required: number }): ArmError => ({
    code: 'OperationNotAllowed',
    message:
      'Operation could not be completed as it results in exceeding approved Total Regional Cores quota. ' +
      `Additional details - Deployment Model: Resource Manager, Location: ${o.location}, Current Limit: ${o.limit}, ` +
      `Current Usage: ${o.usage}, Additional Required: ${o.required}, (Minimum) New Limit Required: ${o.usage + o.required}. ` +
      "Locally the limit is the compute emulator's --core-quota option.",
  }),
  deallocatedVm: (operation: string): ArmError => ({
    code: 'OperationNotAllowed',
    message: `Operation '${operation}' is not allowed since the virtual machine is deallocated.`,
  }),
  notSpot: (): ArmError => ({
    code: 'OperationNotAllowed',
    message: 'Simulate eviction is only supported for Spot virtual machines (priority: Spot).',
  }),
  /** cloud-init could not read the agent configuration out of customData: the VM never becomes ready. */
  osProvisioningFailed: (vmName: string, why: string): ArmError => ({
    code: 'OSProvisioningClientError',
    message: `OS provisioning for VM '${vmName}' failed. Error details: cloud-init could not process customData: ${why}`,
  }),
  vmStartFailed: (vmName: string, why: string): ArmError => ({
    code: 'VMStartFailed',
    message: `The VM '${vmName}' could not be started: ${why}`,
  }),
  noRoute: (method: string, path: string): ArmError => ({
    code: 'NotFound',
    message: `No route for ${method} ${path} in the local compute emulator.`,
  }),
  methodNotAllowed: (method: string, path: string): ArmError => ({
    code: 'MethodNotAllowed',
    message: `The requested resource does not support http method '${method}' (${path}).`,
  }),
  internal: (): ArmError => ({
    code: 'InternalServerError',
    message: 'The compute emulator failed to process the request.',
  }),
} as const;
