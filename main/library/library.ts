// The VM library: every VM's settings and power state in <dataDir>/library.db, and each VM's
// own folder <dataDir>/vms/<id>/ for the files it owns (disk images it created, NVRAM,
// snapshots).
//
// Durability: WAL journal with synchronous=FULL. Every commit is fsynced before it returns,
// so a change the library reported is kept across a process kill and a power cut; library
// writes are rare (a settings edit, a power-state change), so the extra fsync costs nothing
// that matters. The app, the CLI and the web console may open the same library at once;
// WAL lets readers run beside a writer and busy_timeout makes writers wait for each other.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiError, type ValidationIssue, type VmPowerState, type VmRecord, type VmSettings,
} from '../../core/api/contract.js';
import { nameKey } from './migrations/002-unique-names.js';
import { migrate } from './schema.js';
import { applyPatch, isPlainObject, pickSettings, presetOf, settingsForNewVm } from './settings.js';
import { validateSettings } from './validate.js';
import { presetDefaults } from './presets.js';

export const LIBRARY_DB_FILE = 'library.db';
export const VM_POWER_STATES: readonly VmPowerState[] = ['off', 'starting', 'running', 'paused', 'suspended', 'stopping', 'crashed'];
/** States in which a VM's hardware is in use (or saved, for 'suspended') and must not change. */
const HARDWARE_LOCKED_STATES: ReadonlySet<VmPowerState> = new Set(['starting', 'running', 'paused', 'stopping', 'suspended']);
/** States a VM cannot be in after the process that ran it went away. */
const TRANSIENT_STATES: readonly VmPowerState[] = ['starting', 'running', 'paused', 'stopping'];
/** Settings that may change whatever the power state: they do not touch the machine. */
const ALWAYS_EDITABLE = new Set(['name', 'notes', 'osPreset']);
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type LibraryChange =
  | { type: 'created' | 'updated' | 'deleted'; id: string }
  | { type: 'power-state'; id: string; state: VmPowerState };

export interface UpdateOptions {
  /**
   * Allow hardware changes while the VM is powered on (the hypervisor uses this to record a
   * floppy or CD-ROM media change it has applied to the running machine).
   */
  allowWhilePoweredOn?: boolean;
}

interface VmRow {
  id: string;
  name: string;
  settings: string;
  state: string;
  created_at: string;
  modified_at: string;
}

export class VmLibrary {
  private readonly listeners = new Set<(change: LibraryChange) => void>();
  private lastDataVersion: number;
  private closed = false;

  private constructor(readonly dataDir: string, readonly db: Database.Database) {
    this.lastDataVersion = this.dataVersion();
  }

  /** Opens (creating and migrating as needed) the library in `dataDir`. */
  static open(dataDir: string): VmLibrary {
    mkdirSync(join(dataDir, 'vms'), { recursive: true });
    const path = join(dataDir, LIBRARY_DB_FILE);
    let db: Database.Database | undefined;
    try {
      // Under Electron, `npm start` points PERSEUS_SQLITE_BINDING at a build of the native
      // module for Electron's ABI (scripts/start.mjs); Node (CLI, tests) uses the default.
      const nativeBinding = process.env.PERSEUS_SQLITE_BINDING || undefined;
      db = new Database(path, { timeout: 5000, nativeBinding });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    } catch (e) {
      db?.close();
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new Error(`the VM library ${path} is damaged or not a Perseus library (${(e as Error).message}); ` +
          'restore it from a backup or move it away to start a new library');
      }
      throw e;
    }
    return new VmLibrary(dataDir, db);
  }

  get dbPath(): string {
    return join(this.dataDir, LIBRARY_DB_FILE);
  }

  /** The folder holding the files this VM owns. Only files in here are ever deleted. */
  vmDir(id: string): string {
    if (!UUID_PATTERN.test(id)) throw new ApiError('invalid', `not a VM id: ${JSON.stringify(id)}`);
    return join(this.dataDir, 'vms', id);
  }

  list(): VmRecord[] {
    const rows = this.db.prepare('SELECT * FROM vms ORDER BY name_key, id').all() as VmRow[];
    return rows.map((r) => this.toRecord(r));
  }

  /** The VM with this id; ApiError 'not-found' when there is none. */
  get(id: string): VmRecord {
    const vm = this.find(id);
    if (!vm) throw new ApiError('not-found', `no VM with id ${id}`);
    return vm;
  }

  find(id: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE id = ?').get(id) as VmRow | undefined;
    return row && this.toRecord(row);
  }

  /** Exact name match, ignoring case and surrounding spaces. */
  findByName(name: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE name_key = ?').get(nameKey(name)) as VmRow | undefined;
    return row && this.toRecord(row);
  }

  /**
   * Resolves what a user typed: a full id, a name, or an unambiguous id prefix of at least
   * 4 characters. ApiError 'not-found', or 'conflict' for an ambiguous prefix.
   */
  lookup(ref: string): VmRecord {
    const byId = this.find(ref);
    if (byId) return byId;
    const byName = this.findByName(ref);
    if (byName) return byName;
    const prefix = ref.trim().toLowerCase();
    if (prefix.length >= 4 && /^[0-9a-f-]+$/.test(prefix)) {
      const rows = this.db.prepare("SELECT * FROM vms WHERE id LIKE ? ESCAPE '\\' LIMIT 3").all(`${prefix}%`) as VmRow[];
      if (rows.length === 1) return this.toRecord(rows[0]!);
      if (rows.length > 1) throw new ApiError('conflict', `"${ref}" matches several VM ids; type more of the id`);
    }
    throw new ApiError('not-found', `no VM named or with id "${ref}"`);
  }

  /** Problems with these settings, for a new VM (no id) or as a patch over VM `id`. */
  validate(settings: Partial<VmSettings>, id?: string): ValidationIssue[] {
    const full = id === undefined ? settingsForNewVm(settings) : applyPatch(pickSettings(this.get(id)), settings);
    return this.check(full, id);
  }

  /** Creates a VM; missing settings take the preset's defaults. */
  create(partial: Partial<VmSettings> & { name: string }): VmRecord {
    // Validate the merged input as given (unknown IDE slots, wrong types), store the clean form.
    const merged = settingsForNewVm(partial);
    this.ensureValid(merged);
    const settings = pickSettings(merged);
    const id = randomUUID();
    const now = new Date().toISOString();
    mkdirSync(this.vmDir(id), { recursive: true });
    this.writeGuarded(settings, () => {
      this.db.prepare(
        'INSERT INTO vms (id, name, name_key, settings, state, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(id, settings.name, nameKey(settings.name), JSON.stringify(settings), 'off', now, now);
    });
    this.emit({ type: 'created', id });
    return this.get(id);
  }

  /** Applies a partial change (nic, display and ide merge field by field). */
  update(id: string, patch: Partial<VmSettings>, options: UpdateOptions = {}): VmRecord {
    if (!isPlainObject(patch)) throw new ApiError('invalid', 'the change must be an object of settings');
    const current = this.get(id);
    const currentSettings = pickSettings(current);
    const merged = applyPatch(currentSettings, patch);
    const next = pickSettings(merged);
    if (HARDWARE_LOCKED_STATES.has(current.state) && !options.allowWhilePoweredOn) {
      const changed = Object.keys(next).filter((k) => !ALWAYS_EDITABLE.has(k) &&
        JSON.stringify((next as unknown as Record<string, unknown>)[k]) !==
        JSON.stringify((currentSettings as unknown as Record<string, unknown>)[k]));
      if (changed.length > 0) {
        throw new ApiError('bad-state', `"${current.name}" is ${current.state}; power it off to change ${changed.join(', ')}`);
      }
    }
    this.ensureValid(merged, id);
    const now = new Date().toISOString();
    this.writeGuarded(next, () => {
      this.db.prepare('UPDATE vms SET name = ?, name_key = ?, settings = ?, modified_at = ? WHERE id = ?')
        .run(next.name, nameKey(next.name), JSON.stringify(next), now, id);
    });
    this.emit({ type: 'updated', id });
    return this.get(id);
  }

  /**
   * Removes the VM from the library. With keepFiles=false, also deletes everything in the
   * VM's own folder (<dataDir>/vms/<id>/) and returns those paths; images elsewhere that the
   * VM merely referenced are never touched.
   */
  delete(id: string, options: { keepFiles: boolean }): { deletedFiles: string[] } {
    const vm = this.get(id);
    if (vm.state !== 'off' && vm.state !== 'crashed' && vm.state !== 'suspended') {
      throw new ApiError('bad-state', `"${vm.name}" is ${vm.state}; power it off before deleting it`);
    }
    const dir = this.vmDir(id);
    this.db.prepare('DELETE FROM vms WHERE id = ?').run(id);
    const deletedFiles: string[] = [];
    if (!options.keepFiles) {
      try {
        removeTree(dir, deletedFiles);
      } catch (e) {
        this.emit({ type: 'deleted', id });
        throw new ApiError('internal', `"${vm.name}" was deleted, but its folder ${dir} could not be removed completely ` +
          `(${(e as Error).message}); ${deletedFiles.length} file(s) were deleted`);
      }
    }
    this.emit({ type: 'deleted', id });
    return { deletedFiles: deletedFiles.sort() };
  }

  setPowerState(id: string, state: VmPowerState): VmRecord {
    if (!VM_POWER_STATES.includes(state)) throw new ApiError('invalid', `unknown power state ${JSON.stringify(state)}`);
    const r = this.db.prepare('UPDATE vms SET state = ? WHERE id = ?').run(state, id);
    if (r.changes === 0) throw new ApiError('not-found', `no VM with id ${id}`);
    this.emit({ type: 'power-state', id, state });
    return this.get(id);
  }

  /**
   * Marks VMs left 'starting', 'running', 'paused' or 'stopping' by a process that is gone as
   * 'off'. The hypervisor calls this once at startup; returns the ids it changed.
   */
  resetStalePowerStates(): string[] {
    const placeholders = TRANSIENT_STATES.map(() => '?').join(', ');
    const rows = this.db.prepare(`UPDATE vms SET state = 'off' WHERE state IN (${placeholders}) RETURNING id`)
      .all(...TRANSIENT_STATES) as { id: string }[];
    for (const { id } of rows) this.emit({ type: 'power-state', id, state: 'off' });
    return rows.map((r) => r.id);
  }

  /** In-process change notifications; returns an unsubscribe function. */
  onChange(listener: (change: LibraryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * True when another connection (the CLI, another app instance) committed a change since
   * the last call. Cheap enough to poll every second for a 'library-changed' event.
   */
  hasExternalChanges(): boolean {
    const v = this.dataVersion();
    const changed = v !== this.lastDataVersion;
    this.lastDataVersion = v;
    return changed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private check(settings: VmSettings, id?: string): ValidationIssue[] {
    return validateSettings(settings, {
      id,
      nameTaken: (name, exceptId) => {
        const row = this.db.prepare('SELECT id FROM vms WHERE name_key = ?').get(nameKey(name)) as { id: string } | undefined;
        return row !== undefined && row.id !== exceptId;
      },
    });
  }

  private ensureValid(settings: VmSettings, id?: string): void {
    const issues = this.check(settings, id);
    if (issues.length > 0) throw invalid(issues);
  }

  /** Runs a write; a unique-name race lost to another process becomes a validation error. */
  private writeGuarded(settings: VmSettings, write: () => void): void {
    try {
      write();
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw invalid([{ field: 'name', message: `Another VM is already named "${settings.name}"` }]);
      }
      throw e;
    }
  }

  private emit(change: LibraryChange): void {
    this.lastDataVersion = this.dataVersion();
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // A failing listener must not undo or mask a committed change.
      }
    }
  }

  private toRecord(row: VmRow): VmRecord {
    let stored: Partial<VmSettings> = {};
    try {
      const parsed = JSON.parse(row.settings) as unknown;
      if (isPlainObject(parsed)) stored = parsed as Partial<VmSettings>;
    } catch {
      // Unreadable settings: show the VM with defaults so the user can fix or delete it.
    }
    // Settings added after this row was written take the preset's defaults.
    const settings = pickSettings(applyPatch({ name: row.name, ...presetDefaults(presetOf(stored)) }, stored));
    const state = (VM_POWER_STATES as readonly string[]).includes(row.state) ? (row.state as VmPowerState) : 'off';
    return { id: row.id, ...settings, name: row.name, createdAt: row.created_at, modifiedAt: row.modified_at, state };
  }
}

function invalid(issues: ValidationIssue[]): ApiError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new ApiError('invalid', `${issues[0]!.message}${more}`, issues);
}

/** Deletes `path` and everything below it without following symbolic links. */
function removeTree(path: string, deleted: string[]): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    for (const entry of readdirSync(path)) removeTree(join(path, entry), deleted);
    rmdirSync(path);
  } else {
    unlinkSync(path);
    deleted.push(path);
  }
}
