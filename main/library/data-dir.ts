// Where Perseus keeps user data (library.db, VM folders, logs).
//
// Precedence: an explicit `--data-dir` option, then PERSEUS_DATA_DIR, then the OS user-data
// directory named after the product, the same folder Electron's app.getPath('userData')
// returns, so the desktop app, the CLI and the web console share one library.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, win32, posix } from 'node:path';

export const PRODUCT_NAME = 'Perseus Workstation';

export interface DataDirSources {
  /** The `--data-dir` option, if given (relative paths are taken from `cwd`). */
  option?: string | null;
  /** Environment to read PERSEUS_DATA_DIR, XDG_CONFIG_HOME and APPDATA from. */
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  cwd?: string;
}

/** The data directory to use (not created here). */
export function resolveDataDir(sources: DataDirSources = {}): string {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const option = sources.option?.trim();
  if (option) return resolve(cwd, option);
  const fromEnv = env.PERSEUS_DATA_DIR?.trim();
  if (fromEnv) return resolve(cwd, fromEnv);
  return osUserDataDir(sources.platform ?? process.platform, sources.home ?? homedir(), env);
}

/** The per-user application data folder for the product on each OS. */
export function osUserDataDir(platform: NodeJS.Platform, home: string, env: NodeJS.ProcessEnv): string {
  if (platform === 'win32') {
    const appData = env.APPDATA && win32.isAbsolute(env.APPDATA) ? env.APPDATA : win32.join(home, 'AppData', 'Roaming');
    return win32.join(appData, PRODUCT_NAME);
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', PRODUCT_NAME);
  // Linux and other Unixes follow the XDG base directory spec, as Electron does.
  const xdg = env.XDG_CONFIG_HOME;
  const config = xdg && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(config, PRODUCT_NAME);
}
