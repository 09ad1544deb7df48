// Live VM snapshots: the tree in the library database, machine-state files and disk overlays.
export { LiveDisk } from './live-disk.js';
export { MAX_CHAIN, SnapshotStore, vmBaseDisks, type DiskChains, type LiveVm, type SnapshotInfo } from './store.js';
export { decodeSnapshotState, encodeSnapshotState, readSnapshotState, SnapshotError, SNAPSHOT_MAGIC, writeFileAtomic } from './state-file.js';
