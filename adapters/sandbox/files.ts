import { basename } from 'node:path';
import { now } from '../../src/onebot/events.js';
import { ActionError } from '../../src/onebot/params.js';
import type { ActionTable } from '../../src/onebot/router.js';
import { Retcode } from '../../src/onebot/types.js';
import type { SandboxWorld } from './world.js';

/** A file in a group's file space, as go-cqhttp's group_upload notice describes it. */
export interface GroupFile {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly busid: number;
  readonly url: string;
  readonly folder: string;
  readonly uploader: number;
  readonly upload_time: number;
}

/** go-cqhttp's busid for ordinary group files. */
const BUSID = 102;
/** Files remembered per group; the oldest go first. */
const MAX_FILES_PER_GROUP = 1000;

const files = new WeakMap<SandboxWorld, Map<number, GroupFile[]>>();
let nextFile = 1;

/** The files uploaded to a group, oldest first. */
export function groupFiles(world: SandboxWorld, groupId: number): readonly GroupFile[] {
  return files.get(world)?.get(groupId) ?? [];
}

/**
 * Someone puts a file in a group: the other bots of the group get go-cqhttp's `group_upload`
 * notice (`file: {id, name, size, busid, url}`). The sandbox keeps only the description.
 */
export function uploadGroupFile(
  world: SandboxWorld,
  from: number,
  groupId: number,
  name: string,
  size: number,
  folder = '/',
): GroupFile {
  world.member(groupId, from);
  if (!name) throw new ActionError(Retcode.BAD_REQUEST, 'param name: the file needs a name');
  const id = `/sandbox-file-${nextFile++}`;
  const file: GroupFile = {
    id,
    name,
    size,
    busid: BUSID,
    url: `https://sandbox.invalid/group/${groupId}/files${id}/${encodeURIComponent(name)}`,
    folder,
    uploader: from,
    upload_time: now(),
  };
  let byGroup = files.get(world);
  if (!byGroup) {
    byGroup = new Map();
    files.set(world, byGroup);
  }
  const list = byGroup.get(groupId) ?? [];
  list.push(file);
  if (list.length > MAX_FILES_PER_GROUP) list.shift();
  byGroup.set(groupId, list);
  world.announce(
    `[group ${groupId}] ${world.displayName(from, groupId)} uploaded ${name} (${size} bytes)`,
    world.groupAudience(groupId, from),
    () => ({
      notice_type: 'group_upload',
      group_id: groupId,
      user_id: from,
      file: { id: file.id, name: file.name, size: file.size, busid: file.busid, url: file.url },
    }),
  );
  return file;
}

/**
 * Someone sends a file privately: a bot receiving it gets go-cqhttp's `offline_file` notice
 * (`user_id`, `file: {name, size, url}`).
 */
export function uploadPrivateFile(world: SandboxWorld, from: number, to: number, name: string, size: number): void {
  world.user(from);
  world.user(to);
  if (!name) throw new ActionError(Retcode.BAD_REQUEST, 'param name: the file needs a name');
  const url = `https://sandbox.invalid/private/${from}/${nextFile++}/${encodeURIComponent(name)}`;
  world.announce(
    `[private] ${world.displayName(from)} sent ${world.displayName(to)} the file ${name} (${size} bytes)`,
    (selfId) => selfId === to,
    () => ({
      notice_type: 'offline_file',
      user_id: from,
      file: { name, size, url },
    }),
  );
}

/**
 * The size of what a bot uploads. As in go-cqhttp, `file` is a path on this machine (it must
 * exist); `base64://…` is accepted too. URLs are refused: the sandbox downloads nothing.
 */
async function fileSize(file: string): Promise<number> {
  if (file.startsWith('base64://')) return Buffer.from(file.slice('base64://'.length), 'base64').length;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file) && !file.startsWith('file://'))
    throw new ActionError(
      Retcode.FAILED,
      `file ${file}: upload takes a local path or base64://, as go-cqhttp does; the sandbox downloads nothing`,
    );
  const path = file.startsWith('file://') ? new URL(file).pathname : file;
  try {
    // Loaded on the first upload, not at start: fs/promises brings readline's internals with it.
    const { stat } = await import('node:fs/promises');
    const s = await stat(path);
    if (!s.isFile()) throw new ActionError(Retcode.FAILED, `file ${path} is not a regular file`);
    return s.size;
  } catch (err) {
    if (err instanceof ActionError) throw err;
    throw new ActionError(Retcode.FAILED, `file ${path} not found (upload takes a path on this machine)`);
  }
}

/** upload_group_file and upload_private_file, with go-cqhttp's params (`file`, `name`, `folder`). */
export function fileActions(world: SandboxWorld, selfId: number): ActionTable {
  const nameOf = (file: string, given: string) => given || basename(file.startsWith('base64://') ? 'file' : file);
  return {
    upload_group_file: async (p) => {
      const groupId = p.int('group_id');
      const file = p.string('file');
      world.member(groupId, selfId);
      uploadGroupFile(
        world,
        selfId,
        groupId,
        nameOf(file, p.optionalString('name')),
        await fileSize(file),
        p.optionalString('folder') || '/',
      );
      return null;
    },
    upload_private_file: async (p) => {
      const userId = p.int('user_id');
      const file = p.string('file');
      world.user(userId);
      uploadPrivateFile(world, selfId, userId, nameOf(file, p.optionalString('name')), await fileSize(file));
      return null;
    },
  };
}
