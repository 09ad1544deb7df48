// Removable media of a running VM (inside its worker): floppy A:, floppy B: and the first IDE
// CD-ROM drive. The new image is opened before anything changes, so a bad path leaves the
// drive as it was; the machine then signals the change to the guest (FDC disk-change line,
// ATAPI unit attention) and the medium taken out is flushed and closed.

import type { MediaDrive, VmSettings } from '../../core/api/contract.js';
import type { Machine } from '../../core/board/machine.js';
import type { BlockDevice } from '../../core/disk/block.js';
import { openVmDisk } from '../disk/index.js';

const IDE_SLOTS = ['primaryMaster', 'primarySlave', 'secondaryMaster', 'secondarySlave'] as const;

/** A medium as main/disk opens it (closable). */
type Medium = BlockDevice & { close?: () => void };

/** What each removable drive holds now; cdromIndex is the IDE index of the CD-ROM drive (-1: none). */
export interface MediaSlots {
  fda: Medium | null;
  fdb: Medium | null;
  cdrom: Medium | null;
  cdromIndex: number;
}

/** IDE index (0..3) of the VM's first CD-ROM drive, or -1. */
export function cdromIndex(settings: VmSettings): number {
  return IDE_SLOTS.findIndex((slot) => settings.ide?.[slot]?.kind === 'cdrom');
}

/** The media the machine was built with. */
export function currentMedia(machine: Machine, settings: VmSettings): MediaSlots {
  const cfg = (machine as Machine & { config?: { floppy?: (BlockDevice | null)[]; ide?: ({ device: BlockDevice | null } | null)[] } }).config;
  const index = cdromIndex(settings);
  return {
    fda: cfg?.floppy?.[0] ?? null,
    fdb: cfg?.floppy?.[1] ?? null,
    cdrom: index >= 0 ? cfg?.ide?.[index]?.device ?? null : null,
    cdromIndex: index,
  };
}

/** Insert `path` into `drive` (null: eject). Throws with a clear message and changes nothing on failure. */
export function changeMedia(
  machine: Machine, settings: VmSettings, media: MediaSlots, drive: MediaDrive, path: string | null, log: (m: string) => void,
): void {
  if (drive === 'cdrom' && media.cdromIndex < 0) throw new Error('this VM has no CD-ROM drive');
  let next: Medium | null = null;
  if (path !== null) {
    try {
      next = drive === 'cdrom'
        ? openVmDisk(path, { writable: false, guestWritable: false })
        // Floppies are writable media; a file we may not write keeps the guest's writes in memory.
        : openVmDisk(path, { writable: true, onReadOnlyFallback: log });
    } catch (err) {
      throw new Error(`cannot open ${path}: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  const slot = drive === 'fda' ? { floppy: 0 as const } : drive === 'fdb' ? { floppy: 1 as const } : { ide: media.cdromIndex as 0 | 1 | 2 | 3 };
  try {
    machine.changeMedia(slot, next);
  } catch (err) {
    next?.close?.();
    throw err;
  }
  const old = media[drive];
  media[drive] = next;
  if (old && old !== next) {
    try {
      old.flush?.();
      old.close?.();
    } catch (err) {
      log(`closing the ejected medium: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  // The worker's settings follow, so that a later rebuild (none today) would see the same media.
  if (drive === 'fda') settings.floppyA = path;
  else if (drive === 'fdb') settings.floppyB = path;
  else {
    const d = settings.ide[IDE_SLOTS[media.cdromIndex]!];
    if (d) d.path = path;
  }
}

/** Close every medium (power off). */
export function closeMedia(media: MediaSlots): void {
  for (const d of [media.fda, media.fdb, media.cdrom]) {
    try { d?.close?.(); } catch { /* already closed */ }
  }
}
