// The main window's size and position, remembered between runs in a JSON file in the data
// directory. Pure Node (no Electron import) so it is tested directly; written atomically
// (temporary file + rename) so a crash mid-write never leaves a broken file.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const WINDOW_STATE_FILE = 'window-state.json';

export interface WindowState {
  /** Absent: let the OS place the window. */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
  fullScreen: boolean;
}

export interface DisplayArea { x: number; y: number; width: number; height: number }

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1280, height: 860, maximized: false, fullScreen: false };
export const MIN_WINDOW_SIZE = { width: 640, height: 480 };

export function windowStatePath(dataDir: string): string {
  return join(dataDir, WINDOW_STATE_FILE);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e6;
}

/**
 * The remembered state, or the default when the file is missing or not ours; a position
 * that no longer lies on any display (a monitor was unplugged) is dropped.
 */
export function loadWindowState(file: string, displays: DisplayArea[]): WindowState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { ...DEFAULT_WINDOW_STATE };
  }
  if (raw === null || typeof raw !== 'object') return { ...DEFAULT_WINDOW_STATE };
  const r = raw as Record<string, unknown>;
  if (!isInt(r.width) || !isInt(r.height)) return { ...DEFAULT_WINDOW_STATE };
  const state: WindowState = {
    width: Math.max(MIN_WINDOW_SIZE.width, r.width),
    height: Math.max(MIN_WINDOW_SIZE.height, r.height),
    maximized: r.maximized === true,
    fullScreen: r.fullScreen === true,
  };
  if (isInt(r.x) && isInt(r.y)) {
    // Keep the position when the window's title bar area (top 48 px, inner 100 px) is visible.
    const visible = displays.some((d) =>
      r.x as number + state.width - 100 > d.x && (r.x as number) + 100 < d.x + d.width &&
      (r.y as number) >= d.y && (r.y as number) + 48 <= d.y + d.height);
    if (visible) { state.x = r.x; state.y = r.y; }
  }
  return state;
}

/** Write the state atomically. */
export function saveWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}
