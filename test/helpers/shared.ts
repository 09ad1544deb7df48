// Access to ../shared (third-party guests, CPU vectors, benchmark) for tests.
//
// The material is never copied into the repo. When it is missing a test must not pass
// silently: under CI it fails loudly; on a developer machine the test is skipped with a
// message naming what is missing.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DIR = process.env.PERSEUS_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');

/** Absolute path of a file under ../shared, or null when absent. */
export function sharedPath(...parts: string[]): string | null {
  const p = join(SHARED_DIR, ...parts);
  return existsSync(p) ? p : null;
}

/**
 * Returns true when the thing is available. When it is not: throws under CI (so the suite
 * fails loudly), otherwise prints why and returns false so the caller can skip.
 */
export function requireResource(what: string, available: boolean): boolean {
  if (available) return true;
  const msg = `missing test resource: ${what}`;
  if (process.env.CI) throw new Error(`${msg} (required in CI)`);
  console.warn(`${msg}: skipping`);
  return false;
}

/** Path of a required shared file; under CI its absence is an error. */
export function sharedFile(...parts: string[]): string | null {
  const p = sharedPath(...parts);
  requireResource(`../shared/${parts.join('/')}`, p !== null);
  return p;
}
