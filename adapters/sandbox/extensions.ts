import type { ActionTable } from '../../src/onebot/router.js';
import { anonymousActions } from './anonymous.js';
import { essenceActions } from './essence.js';
import { fileActions } from './files.js';
import { forwardActions } from './forward.js';
import { groupExtraActions } from './group-extras.js';
import type { SandboxWorld } from './world.js';

/**
 * The go-cqhttp extensions the sandbox answers, so bots written for go-cqhttp and NapCat can
 * be tried on it: forward messages, anonymous bans, essence messages, file uploads, history
 * and the account's odds and ends. Each lives in the module of its concept.
 */
export function extensionActions(world: SandboxWorld, selfId: number): ActionTable {
  return {
    ...forwardActions(world, selfId),
    ...anonymousActions(world, selfId),
    ...essenceActions(world, selfId),
    ...fileActions(world, selfId),
    ...groupExtraActions(world, selfId),
  };
}
