// Live VM snapshots: the tree in the library database, machine-state files and disk overlays.
//
// Stable API (used by the CLI, the hypervisor and the service):
// - SnapshotStore(library): list, resolve, currentId, thumbnail, diskChains, openDisks (the VM's
//   current top images as LiveDisks to build its machine with), take, revert, delete, rename,
//   gc. Pass `{ live: { machine, disks } }` when the VM is running in this process: take saves
//   its state and swaps its disks onto new overlays, revert loads the state, delete may fold a
//   layer into the open disk (flushed and reopened). Without `live`, take/revert expect the
//   VM off; delete works in any power state but writes a VM's current top image only when
//   the library says it is off (else that layer waits as a shared base: see store.ts).
// - vmBaseDisks(vm): the drives snapshots cover (persistent IDE hard disks).
// - LiveDisk: the BlockDevice a running machine keeps while snapshots swap images under it.
// - State files: encodeSnapshotState / decodeSnapshotState / readSnapshotState (checked,
//   deflated container), writeFileAtomic, SnapshotError.
// - saveRunState / loadRunState: a machine with its disks' contents in one file
//   (`perseus run --save-state / --load-state`; also a suspend-to-file for any host).
export { LiveDisk } from './live-disk.js';
export { loadRunState, saveRunState } from './run-state.js';
export { MAX_CHAIN, SnapshotStore, vmBaseDisks, type DiskChains, type LiveVm, type SnapshotInfo } from './store.js';
export { decodeSnapshotState, encodeSnapshotState, readSnapshotState, SnapshotError, SNAPSHOT_MAGIC, writeFileAtomic } from './state-file.js';
