// Disk images for VMs and the `perseus disk` command: raw, qcow2, vmdk, vdi, vhd.
export { DiskFormatError, MemoryImageFile, NodeImageFile, type ImageFile } from './file.js';
export {
  checkImage,
  convertImage,
  createDiskImage,
  createOverlay,
  createVhdDifferencing,
  detectFormat,
  IMAGE_FORMATS,
  MemoryOverlay,
  normalizeFormat,
  openDiskImage,
  openImageFile,
  openVmDisk,
  openWithMemoryOverlay,
  parseSize,
  WriteBackCache,
  type CreateOptions,
  type ImageFormat,
  type OpenDiskOptions,
  type Progress,
  type VmDiskOptions,
} from './image.js';
export type { CheckResult, DiskFormat, DiskImage, DiskInfo } from './types.js';
export { foldLayer, qcow2Backing, rebaseQcow2File } from './rebase.js';
export { MEMORY_OVERLAY_CHUNK } from './layers.js';
