// Live snapshots of a VM: a tree of nodes in the library database (migration 003), each with
// a machine-state file and the disk images frozen at that instant.
//
// Disk scheme (qcow2 overlay chains from main/disk):
// - A VM's disks are chains top-first: [writable top, ..., base image]. Before the first
//   snapshot the chain is just the base image from the VM's settings.
// - take: flush; the current chain is frozen as the node's chain (its top is never written
//   again) and a new qcow2 overlay backed by that top becomes the VM's writable top.
// - revert to N: a new overlay on N's frozen chain becomes the top; the old top is deleted
//   when no node's chain holds it (the changes since the current node are dropped, as in
//   VMware Workstation).
// - A chain reaching MAX_CHAIN images is flattened when the next snapshot freezes it: that
//   node gets a standalone qcow2 copy, so chains never outgrow main/disk's backing depth.
// - delete N: the node row and its state file go; its children take N's parent. N's top
//   image (its layer: what changed between N's parent and N) is folded into the one image
//   that depends on it (main/disk/rebase.ts: copy the clusters that image lacks, then point
//   its header past the layer) and deleted. With two or more dependents (N had several
//   children, or children and the VM's current top) the layer stays as a shared base without
//   a node: copying it into each would multiply its size; it is folded as soon as one
//   dependent is left (after a sibling's delete, or a revert that drops the current top).
//   Every fold keeps what each image reads identical, so no other node changes by a byte.
//   A base image outside the snapshot folder (the VM's own disk) is never folded or deleted.
// - Only files inside <vmDir>/snapshots/ are ever deleted; the VM's base images never are,
//   but after the first snapshot they are read-only backing files.
//
// Crash safety: state files are written to a temp file, fsynced and renamed; overlays are
// created before the database is updated, which happens last in one transaction. A crash in
// between leaves only unreferenced files behind (removed by the next gc()).
//
// Whoever opens a VM's disks must open `diskChain(vm)` tops (openDisks does it), not the
// settings' paths, once the VM has snapshots.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { ApiError, type VmRecord } from '../../core/api/contract.js';
import type { Machine } from '../../core/board/machine.js';
import { convertImage, createOverlay, foldLayer, openDiskImage, type DiskImage } from '../disk/index.js';
import type { VmLibrary } from '../library/index.js';
import { encodePng } from '../run/png.js';
import { LiveDisk } from './live-disk.js';
import { encodeSnapshotState, readSnapshotState, SnapshotError, writeFileAtomic } from './state-file.js';

export type DiskChains = Record<string, string[]>;

/** Chains this long are flattened on the next take (the user's own images may add levels). */
export const MAX_CHAIN = 8;

export interface SnapshotInfo {
  id: string;
  vmId: string;
  parentId: string | null;
  name: string;
  description: string;
  createdAt: string;
  /** False for a disks-only snapshot (taken while the VM was off). */
  hasState: boolean;
  hasThumbnail: boolean;
  /** The VM's current node (the parent of its next snapshot). */
  current: boolean;
  /** Frozen disk chains, top-first. */
  disks: DiskChains;
}

/** The running VM, when there is one in this process. */
export interface LiveVm {
  machine: Machine;
  /** The machine's snapshot-managed disks by slot (from openDisks). */
  disks: Record<string, LiveDisk>;
}

interface SnapshotRow {
  id: string;
  vm_id: string;
  parent_id: string | null;
  name: string;
  description: string;
  created_at: string;
  has_thumbnail: number;
  state_path: string | null;
  disks: string;
}

/**
 * The disk slots a VM's snapshots cover: its persistent IDE hard disks (not CD-ROMs, floppies
 * or non-persistent disks, which like VMware's independent disks are outside snapshots).
 */
export function vmBaseDisks(vm: VmRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [slot, d] of Object.entries(vm.ide)) {
    if (d && d.kind !== 'cdrom' && d.path && d.mode !== 'nonpersistent') out[slot] = resolve(d.path);
  }
  return out;
}

function parseChains(json: string): DiskChains {
  try {
    const v = JSON.parse(json) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: DiskChains = {};
      for (const [k, chain] of Object.entries(v as Record<string, unknown>)) {
        if (Array.isArray(chain) && chain.every((p) => typeof p === 'string')) out[k] = chain as string[];
      }
      return out;
    }
  } catch {
    // fall through
  }
  throw new SnapshotError('the snapshot record\'s disk list is damaged');
}

export class SnapshotStore {
  constructor(private readonly library: VmLibrary) {}

  private get db() {
    return this.library.db;
  }

  snapshotDir(vmId: string): string {
    return join(this.library.vmDir(vmId), 'snapshots');
  }

  private rows(vmId: string): SnapshotRow[] {
    return this.db.prepare(
      `SELECT id, vm_id, parent_id, name, description, created_at, thumbnail IS NOT NULL AS has_thumbnail, state_path, disks
       FROM snapshots WHERE vm_id = ? ORDER BY created_at, rowid`).all(vmId) as SnapshotRow[];
  }

  private head(vmId: string): { current: string | null; disks: DiskChains | null } {
    const row = this.db.prepare('SELECT current_id, disks FROM snapshot_heads WHERE vm_id = ?').get(vmId) as
      { current_id: string | null; disks: string } | undefined;
    return row ? { current: row.current_id, disks: parseChains(row.disks) } : { current: null, disks: null };
  }

  list(vmId: string): SnapshotInfo[] {
    this.library.get(vmId);
    const current = this.head(vmId).current;
    return this.rows(vmId).map((r) => ({
      id: r.id,
      vmId: r.vm_id,
      parentId: r.parent_id,
      name: r.name,
      description: r.description,
      createdAt: r.created_at,
      hasState: r.state_path !== null,
      hasThumbnail: r.has_thumbnail === 1,
      current: r.id === current,
      disks: parseChains(r.disks),
    }));
  }

  currentId(vmId: string): string | null {
    return this.head(vmId).current;
  }

  thumbnail(snapshotId: string): Uint8Array | null {
    const row = this.db.prepare('SELECT thumbnail FROM snapshots WHERE id = ?').get(snapshotId) as { thumbnail: Buffer | null } | undefined;
    return row?.thumbnail ? new Uint8Array(row.thumbnail) : null;
  }

  /** A snapshot of this VM by id, exact name (if only one has it) or id prefix (4+ chars). */
  resolve(vmId: string, ref: string): SnapshotInfo {
    const all = this.list(vmId);
    const byId = all.find((s) => s.id === ref);
    if (byId) return byId;
    const byName = all.filter((s) => s.name === ref);
    if (byName.length === 1) return byName[0]!;
    if (byName.length > 1) throw new ApiError('conflict', `several snapshots are named "${ref}"; use the id`);
    const prefix = ref.trim().toLowerCase();
    if (prefix.length >= 4) {
      const m = all.filter((s) => s.id.startsWith(prefix));
      if (m.length === 1) return m[0]!;
      if (m.length > 1) throw new ApiError('conflict', `"${ref}" matches several snapshot ids`);
    }
    throw new ApiError('not-found', `no snapshot "${ref}"`);
  }

  /** The VM's current disk chains: its head, else its base disks. */
  diskChains(vmId: string, baseDisks: Record<string, string>): DiskChains {
    const head = this.head(vmId).disks;
    if (head && Object.keys(head).length > 0) return head;
    const out: DiskChains = {};
    for (const [slot, path] of Object.entries(baseDisks)) out[slot] = [resolve(path)];
    return out;
  }

  /** Opens the VM's current top images writable, for building its machine. */
  openDisks(vmId: string, baseDisks: Record<string, string>): Record<string, LiveDisk> {
    const out: Record<string, LiveDisk> = {};
    try {
      for (const [slot, chain] of Object.entries(this.diskChains(vmId, baseDisks))) out[slot] = new LiveDisk(openDiskImage(chain[0]!));
    } catch (e) {
      for (const d of Object.values(out)) d.close();
      throw e;
    }
    return out;
  }

  /**
   * Takes a snapshot as a child of the current node. With `live`, the machine's state and
   * screen are saved and its disks switch to new overlays; without, only the disks
   * (`baseDisks` names them for a VM that has no snapshot yet).
   */
  take(vmId: string, name: string, opts: { description?: string; live?: LiveVm | null; baseDisks?: Record<string, string> } = {}): SnapshotInfo {
    this.library.get(vmId);
    const cleanName = name.trim();
    if (!cleanName) throw new ApiError('invalid', 'a snapshot needs a name');
    const id = randomUUID();
    const dir = this.snapshotDir(vmId);
    mkdirSync(dir, { recursive: true });
    const live = opts.live ?? null;
    // Before the first snapshot the chains are the base images: those named, else the ones
    // the running machine has open.
    let baseDisks = opts.baseDisks;
    if (!baseDisks && live) {
      baseDisks = {};
      for (const [slot, d] of Object.entries(live.disks)) baseDisks[slot] = d.path;
    }
    const chains = this.diskChains(vmId, baseDisks ?? {});
    if (live) {
      for (const slot of Object.keys(chains)) {
        const disk = live.disks[slot];
        if (!disk) throw new SnapshotError(`the running machine has no snapshot-managed disk ${slot}`);
        if (resolve(disk.path) !== resolve(chains[slot]![0]!)) {
          throw new SnapshotError(`the running machine's disk ${slot} (${disk.path}) is not the VM's current image ${chains[slot]![0]}; open disks with openDisks()`);
        }
      }
    }

    let statePath: string | null = null;
    let thumbnail: Uint8Array | null = null;
    const created: string[] = [];
    const newChains: DiskChains = {};
    const frozenChains: DiskChains = {};
    const swaps: [LiveDisk, DiskImage][] = [];
    try {
      if (live) {
        for (const d of Object.values(live.disks)) d.flush();
        const state = live.machine.saveState({ snapshot: id });
        statePath = join(dir, `${id}.state`);
        writeFileAtomic(statePath, encodeSnapshotState(state));
        created.push(statePath);
        thumbnail = screenThumbnail(live.machine);
      }
      for (const [slot, chain] of Object.entries(chains)) {
        let frozen = chain;
        if (chain.length >= MAX_CHAIN) {
          // Keep backing chains short (main/disk opens at most MAX_BACKING_DEPTH levels): this
          // snapshot freezes a standalone copy of the disk instead of the long chain.
          const flat = join(dir, `${slot}-${randomUUID().slice(0, 8)}-flat.qcow2`);
          const source = openDiskImage(chain[0]!, { readOnly: true });
          try {
            created.push(flat);
            convertImage(source, flat, 'qcow2').close();
          } finally {
            source.close();
          }
          frozen = [flat];
        }
        frozenChains[slot] = frozen;
        const top = join(dir, `${slot}-${randomUUID().slice(0, 8)}.qcow2`);
        const image = createOverlay(frozen[0]!, top);
        created.push(top);
        newChains[slot] = [top, ...frozen];
        const liveDisk = live?.disks[slot];
        if (liveDisk) swaps.push([liveDisk, image]);
        else image.close();
      }
    } catch (e) {
      for (const [, image] of swaps) image.close();
      for (const f of created) removeQuietly(f);
      throw e;
    }
    const previous: [LiveDisk, string][] = swaps.map(([disk]) => [disk, disk.path]);
    for (const [disk, image] of swaps) disk.swap(image).close();

    const parent = this.head(vmId).current;
    const createdAt = new Date().toISOString();
    try {
      this.db.transaction(() => {
        this.db.prepare(`INSERT INTO snapshots (id, vm_id, parent_id, name, description, created_at, thumbnail, state_path, disks)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(id, vmId, parent, cleanName, opts.description ?? '', createdAt,
          thumbnail ? Buffer.from(thumbnail) : null, statePath, JSON.stringify(frozenChains));
        this.setHead(vmId, id, newChains);
      })();
    } catch (e) {
      // The machine has not run since the swap: put it back on its old images, unchanged.
      for (const [disk, path] of previous) disk.swap(openDiskImage(path)).close();
      for (const f of created) removeQuietly(f);
      throw e;
    }
    this.gc(vmId);
    return this.resolve(vmId, id);
  }

  /**
   * Makes `ref` the current node: the disks continue from its frozen chains and, with
   * `live`, the machine takes its saved state. A damaged state file is refused before
   * anything changes. Without `live`, returns the node's machine state (or null for a
   * disks-only snapshot) for whoever powers the VM on.
   */
  revert(vmId: string, ref: string, opts: { live?: LiveVm | null } = {}): { snapshot: SnapshotInfo; state: Uint8Array | null } {
    const snap = this.resolve(vmId, ref);
    const live = opts.live ?? null;
    const row = this.db.prepare('SELECT state_path FROM snapshots WHERE id = ?').get(snap.id) as { state_path: string | null };
    if (live && !row.state_path) {
      throw new SnapshotError(`snapshot "${snap.name}" holds no machine state (taken while the VM was off); power the VM off to revert to it`);
    }
    const state = row.state_path ? readSnapshotState(row.state_path) : null;
    if (live) {
      for (const slot of Object.keys(snap.disks)) {
        if (!live.disks[slot]) throw new SnapshotError(`the running machine has no snapshot-managed disk ${slot}`);
      }
    }
    const dir = this.snapshotDir(vmId);
    mkdirSync(dir, { recursive: true });
    const newChains: DiskChains = {};
    const opened: [string, DiskImage][] = [];
    const created: string[] = [];
    try {
      for (const [slot, chain] of Object.entries(snap.disks)) {
        const top = join(dir, `${slot}-${randomUUID().slice(0, 8)}.qcow2`);
        const image = createOverlay(chain[0]!, top);
        created.push(top);
        opened.push([slot, image]);
        newChains[slot] = [top, ...chain];
      }
      // Throws StateError and changes nothing when the state does not fit this machine.
      if (live && state) live.machine.loadState(state);
    } catch (e) {
      for (const [, image] of opened) image.close();
      for (const f of created) removeQuietly(f);
      throw e;
    }
    for (const [slot, image] of opened) {
      const disk = live?.disks[slot];
      if (disk) disk.swap(image).close();
      else image.close();
    }
    this.db.transaction(() => this.setHead(vmId, snap.id, newChains))();
    this.gc(vmId);
    this.compact(vmId, live);
    return { snapshot: this.resolve(vmId, snap.id), state };
  }

  /**
   * Deletes a node; its children move to its parent and no other node's disks or state
   * change by a byte. The node's disk layer is folded into the one image that depends on it
   * (its only child's top, or the VM's current top) and removed; with two or more dependents
   * it stays as a shared base without a node, and is folded once one dependent is left.
   *
   * The VM's current top image is written only when the VM is off (its disks not open) or
   * its open disks are passed as `live` (they are flushed and reopened); otherwise a layer
   * below a running VM's top waits as a shared base until a later delete, revert or gc.
   */
  delete(vmId: string, ref: string, opts: { live?: LiveVm | null } = {}): void {
    const snap = this.resolve(vmId, ref);
    const row = this.db.prepare('SELECT state_path FROM snapshots WHERE id = ?').get(snap.id) as { state_path: string | null };
    const folded = this.foldOrphanLayers(vmId, snap.id, opts.live ?? null);
    this.db.transaction(() => {
      this.db.prepare('UPDATE snapshots SET parent_id = ? WHERE parent_id = ?').run(snap.parentId, snap.id);
      this.db.prepare('UPDATE snapshot_heads SET current_id = ? WHERE vm_id = ? AND current_id = ?').run(snap.parentId, vmId, snap.id);
      this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(snap.id);
      this.dropLayersFromChains(vmId, folded);
    })();
    if (row.state_path) removeQuietly(row.state_path);
    this.gc(vmId);
  }

  /**
   * Folds every layer in the snapshot folder that is no node's top (after `without` is gone)
   * and not the VM's current top into its single dependent image. Returns the folded layers;
   * the database still lists them until the caller drops them (crash safety: the files are
   * consistent at every step, the database changes last).
   */
  private foldOrphanLayers(vmId: string, without: string | null, live: LiveVm | null): Set<string> {
    const dir = resolve(this.snapshotDir(vmId)) + sep;
    const head = this.head(vmId).disks ?? {};
    const nodeChains = this.rows(vmId).filter((r) => r.id !== without).map((r) => parseChains(r.disks));
    const headTops = new Map<string, string>();
    for (const [slot, chain] of Object.entries(head)) if (chain[0]) headTops.set(resolve(chain[0]), slot);
    // The current top may be written only when nothing else has it open.
    const vmOff = this.library.get(vmId).state === 'off';
    const folded = new Set<string>();
    const reopen = new Set<string>();
    for (;;) {
      const chains = [...nodeChains, head].flatMap((c) => Object.values(c)).map((c) => c.map((p) => resolve(p)).filter((p) => !folded.has(p)));
      const tops = new Set(chains.map((c) => c[0]!));
      const dependents = new Map<string, Set<string>>();
      for (const c of chains) {
        for (let i = 1; i < c.length; i++) {
          if (!dependents.has(c[i]!)) dependents.set(c[i]!, new Set());
          dependents.get(c[i]!)!.add(c[i - 1]!);
        }
      }
      let next: [string, string] | null = null;
      for (const [layer, deps] of dependents) {
        if (!layer.startsWith(dir) || tops.has(layer) || deps.size !== 1) continue;
        const dependent = [...deps][0]!;
        const slot = headTops.get(dependent);
        if (slot !== undefined && !vmOff && !live?.disks[slot]) continue;
        next = [layer, dependent];
        break;
      }
      if (!next) break;
      const [layer, dependent] = next;
      const slot = headTops.get(dependent);
      const liveDisk = slot !== undefined ? live?.disks[slot] : undefined;
      liveDisk?.flush();
      foldLayer(layer, dependent);
      folded.add(layer);
      if (live) for (const [s, d] of Object.entries(live.disks)) if (chains.some((c) => c[0] === resolve(d.path) && c.includes(layer))) reopen.add(s);
      if (liveDisk && slot !== undefined) reopen.add(slot);
    }
    // The running machine's open chains cached the old tables: reopen them from the files.
    for (const slot of reopen) {
      const disk = live!.disks[slot]!;
      disk.swap(openDiskImage(disk.path)).close();
    }
    return folded;
  }

  /**
   * Folds shared layers that have a single dependent left (after a revert dropped the old
   * top) and deletes them. The revert has already succeeded: a failure here leaves the
   * layers as they were, still correct, for the next delete or revert to fold.
   */
  private compact(vmId: string, live: LiveVm | null): void {
    try {
      const folded = this.foldOrphanLayers(vmId, null, live);
      if (folded.size === 0) return;
      this.db.transaction(() => this.dropLayersFromChains(vmId, folded))();
      this.gc(vmId);
    } catch {
      // see above
    }
  }

  /** Removes folded layers from every chain in the database (inside the caller's transaction). */
  private dropLayersFromChains(vmId: string, folded: Set<string>): void {
    if (folded.size === 0) return;
    const strip = (chains: DiskChains): DiskChains => {
      const out: DiskChains = {};
      for (const [slot, chain] of Object.entries(chains)) out[slot] = chain.filter((p) => !folded.has(resolve(p)));
      return out;
    };
    for (const r of this.rows(vmId)) {
      this.db.prepare('UPDATE snapshots SET disks = ? WHERE id = ?').run(JSON.stringify(strip(parseChains(r.disks))), r.id);
    }
    const head = this.head(vmId);
    if (head.disks) this.setHead(vmId, head.current, strip(head.disks));
  }

  rename(vmId: string, ref: string, name: string, description?: string): SnapshotInfo {
    const snap = this.resolve(vmId, ref);
    const clean = name.trim();
    if (!clean) throw new ApiError('invalid', 'a snapshot needs a name');
    if (description === undefined) this.db.prepare('UPDATE snapshots SET name = ? WHERE id = ?').run(clean, snap.id);
    else this.db.prepare('UPDATE snapshots SET name = ?, description = ? WHERE id = ?').run(clean, description, snap.id);
    return this.resolve(vmId, snap.id);
  }

  /** Deletes files in the VM's snapshot folder that no node and not the VM's chain use. */
  gc(vmId: string): string[] {
    const dir = this.snapshotDir(vmId);
    if (!existsSync(dir)) return [];
    const used = new Set<string>();
    for (const r of this.db.prepare('SELECT state_path, disks FROM snapshots WHERE vm_id = ?').all(vmId) as { state_path: string | null; disks: string }[]) {
      if (r.state_path) used.add(resolve(r.state_path));
      for (const chain of Object.values(parseChains(r.disks))) for (const p of chain) used.add(resolve(p));
    }
    const head = this.head(vmId).disks;
    if (head) for (const chain of Object.values(head)) for (const p of chain) used.add(resolve(p));
    const removed: string[] = [];
    for (const name of readdirSync(dir)) {
      const p = resolve(dir, name);
      if (!p.startsWith(resolve(dir) + sep) || used.has(p)) continue;
      if (!/\.(state|qcow2)$/.test(name) && !name.includes('.tmp-')) continue;
      removeQuietly(p);
      removed.push(p);
    }
    return removed;
  }

  private setHead(vmId: string, current: string | null, disks: DiskChains): void {
    this.db.prepare(`INSERT INTO snapshot_heads (vm_id, current_id, disks) VALUES (?, ?, ?)
      ON CONFLICT(vm_id) DO UPDATE SET current_id = excluded.current_id, disks = excluded.disks`)
      .run(vmId, current, JSON.stringify(disks));
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** A PNG of the screen at most 160 pixels wide (nearest-neighbour), for the snapshot list. */
function screenThumbnail(machine: Machine): Uint8Array | null {
  machine.updateScreen();
  const s = machine.screen();
  if (s.width <= 0 || s.height <= 0 || s.rgba.length < s.width * s.height * 4) return null;
  const scale = Math.max(1, Math.ceil(s.width / 160));
  const w = Math.max(1, Math.floor(s.width / scale));
  const h = Math.max(1, Math.floor(s.height / scale));
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = ((y * scale) * s.width + x * scale) * 4;
      const dst = (y * w + x) * 4;
      out[dst] = s.rgba[src]!;
      out[dst + 1] = s.rgba[src + 1]!;
      out[dst + 2] = s.rgba[src + 2]!;
      out[dst + 3] = 255;
    }
  }
  return encodePng(w, h, out);
}
