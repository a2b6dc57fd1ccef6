/** Every operator action, in the order the CLI help and the OpenAPI document list them. */
import { credentialOperations } from './credentials.js';
import { goLiveOperations } from './go-live.js';
import { logOperations } from './logs.js';
import { moduleOperations } from './modules.js';
import { operatorAccountOperations } from './operator-accounts.js';
import { platformOperations } from './platforms.js';
import type { Operation } from './types.js';

export const OPERATIONS: Operation[] = [
  ...platformOperations,
  ...moduleOperations,
  ...credentialOperations,
  ...goLiveOperations,
  ...logOperations,
  ...operatorAccountOperations,
];

export type { Operation } from './types.js';
