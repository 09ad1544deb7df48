// Reading QEMU's fw_cfg device (core/devices/fwcfg.ts) through its ports, as SeaBIOS does:
// a 16-bit selector write to 510h, then byte reads from 511h. The file directory (key 19h)
// holds big-endian {u32 size, u16 select, u16 reserved, char name[56]} entries after a
// big-endian u32 count. The board puts the VM's boot-menu settings there.
import type { IoBus } from '../bus/io.js';

const SELECTOR = 0x510, DATA = 0x511;
const FILE_DIR = 0x19;
export const FW_CFG_BOOT_MENU_KEY = 0x0e;

function readItem(io: IoBus, key: number, length: number): Uint8Array {
  io.out16(SELECTOR, key);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = io.in8(DATA);
  return out;
}

/** The named fw_cfg file, or null when the directory has none (or there is no fw_cfg: "QEMU" missing). */
export function readFwCfgFile(io: IoBus, name: string): Uint8Array | null {
  const sig = readItem(io, 0x00, 4);
  if (String.fromCharCode(...sig) !== 'QEMU') return null;
  const countBytes = readItem(io, FILE_DIR, 4);
  const count = ((countBytes[0] << 24) | (countBytes[1] << 16) | (countBytes[2] << 8) | countBytes[3]) >>> 0;
  if (count > 4096) return null;
  const dir = readItem(io, FILE_DIR, 4 + count * 64).subarray(4);
  for (let i = 0; i < count; i++) {
    const e = dir.subarray(i * 64, i * 64 + 64);
    const nameBytes = e.subarray(8, 64);
    const len = nameBytes.indexOf(0);
    if (String.fromCharCode(...nameBytes.subarray(0, len < 0 ? 56 : len)) !== name) continue;
    const size = ((e[0] << 24) | (e[1] << 16) | (e[2] << 8) | e[3]) >>> 0;
    return readItem(io, (e[4] << 8) | e[5], Math.min(size, 1 << 20));
  }
  return null;
}

/** Little-endian integer of a file of 1-4 bytes (SeaBIOS's romfile_loadint), else `fallback`. */
export function readFwCfgInt(io: IoBus, name: string, fallback: number): number {
  const f = readFwCfgFile(io, name);
  if (!f || f.length === 0 || f.length > 4) return fallback;
  let v = 0;
  for (let i = f.length - 1; i >= 0; i--) v = v * 256 + f[i];
  return v;
}

/** The VM's boot-menu prompt in ms: "etc/boot-menu-wait" when "etc/show-boot-menu" is on, else 0. */
export function bootMenuWaitMs(io: IoBus): number {
  if (readFwCfgInt(io, 'etc/show-boot-menu', 0) === 0) return 0;
  return readFwCfgInt(io, 'etc/boot-menu-wait', 0);
}
