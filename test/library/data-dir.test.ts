import { describe, expect, it } from 'vitest';
import { resolveDataDir } from '../../main/library/index.js';

describe('resolveDataDir', () => {
  const base = { home: '/home/ann', cwd: '/work', platform: 'linux' as const };

  it('prefers --data-dir, then PERSEUS_DATA_DIR, then the OS folder', () => {
    const env = { PERSEUS_DATA_DIR: '/env/dir' };
    expect(resolveDataDir({ ...base, env, option: '/opt/dir' })).toBe('/opt/dir');
    expect(resolveDataDir({ ...base, env })).toBe('/env/dir');
    expect(resolveDataDir({ ...base, env: {} })).toBe('/home/ann/.config/Perseus Workstation');
  });

  it('takes relative options and env values from the current folder', () => {
    expect(resolveDataDir({ ...base, env: {}, option: 'data' })).toBe('/work/data');
    expect(resolveDataDir({ ...base, env: { PERSEUS_DATA_DIR: '../d' } })).toBe('/d');
  });

  it('ignores empty values', () => {
    expect(resolveDataDir({ ...base, env: { PERSEUS_DATA_DIR: '  ' }, option: '' })).toBe('/home/ann/.config/Perseus Workstation');
  });

  it('follows XDG_CONFIG_HOME on Linux when it is absolute', () => {
    expect(resolveDataDir({ ...base, env: { XDG_CONFIG_HOME: '/xdg' } })).toBe('/xdg/Perseus Workstation');
    expect(resolveDataDir({ ...base, env: { XDG_CONFIG_HOME: 'rel' } })).toBe('/home/ann/.config/Perseus Workstation');
  });

  it('uses %APPDATA% on Windows and Application Support on macOS', () => {
    expect(resolveDataDir({ platform: 'win32', home: 'C:\\Users\\ann', env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' } }))
      .toBe('C:\\Users\\ann\\AppData\\Roaming\\Perseus Workstation');
    expect(resolveDataDir({ platform: 'win32', home: 'C:\\Users\\ann', env: {} })).toBe('C:\\Users\\ann\\AppData\\Roaming\\Perseus Workstation');
    expect(resolveDataDir({ platform: 'darwin', home: '/Users/ann', env: {} })).toBe('/Users/ann/Library/Application Support/Perseus Workstation');
  });
});
