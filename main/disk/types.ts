// What every image backend in main/disk offers on top of core's BlockDevice.
import type { BlockDevice } from '../../core/disk/block.js';

export type DiskFormat = 'raw' | 'qcow2' | 'vmdk' | 'vdi' | 'vhd' | 'overlay' | 'cache';

export interface DiskInfo {
  format: DiskFormat;
  /** More precise variant, e.g. "qcow2 v3", "vmdk streamOptimized", "vhd dynamic". */
  variant: string;
  virtualSize: number;
  fileSize: number;
  clusterSize?: number;
  backingFile?: string;
  backingFormat?: string;
  /** Any further facts worth showing (dirty flags, compat, ...). */
  details: Record<string, string | number | boolean>;
}

export interface CheckResult {
  /** Inconsistencies that can lose or corrupt data. */
  errors: string[];
  /** Space allocated but not used (harmless). */
  leaks: number;
  notes: string[];
}

export interface DiskImage extends BlockDevice {
  readonly format: DiskFormat;
  readonly path: string;
  info(): DiskInfo;
  check(): CheckResult;
  close(): void;
}

/** Opens another image (a backing/parent file) while an image is being opened. */
export type OpenBacking = (path: string, formatHint: string | undefined, depth: number) => DiskImage;

export interface FormatOpenOptions {
  readOnly: boolean;
  openBacking?: OpenBacking;
  depth: number;
}

export const MAX_BACKING_DEPTH = 16;

/** A check result with nothing found yet. */
export function emptyCheck(): CheckResult {
  return { errors: [], leaks: 0, notes: [] };
}
