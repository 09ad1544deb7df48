// Where SeaBIOS (Debian's seabios package) is looked up: the one resolver every `seabios`
// firmware lookup uses. $PERSEUS_SEABIOS_DIR moves it (tests use an empty directory to prove
// the built-in firmware needs nothing from the package).
import { existsSync } from 'node:fs';

/** Where Debian's seabios package puts its images. */
export const SEABIOS_DIR = '/usr/share/seabios';
/** Environment variable that moves the SeaBIOS directory. */
export const SEABIOS_DIR_ENV = 'PERSEUS_SEABIOS_DIR';

/** The SeaBIOS images: in $PERSEUS_SEABIOS_DIR, else /usr/share/seabios. */
export function seabiosFiles(): { dir: string; bios: string; vgabios: string } {
  const dir = process.env[SEABIOS_DIR_ENV] || SEABIOS_DIR;
  return { dir, bios: `${dir}/bios-256k.bin`, vgabios: `${dir}/vgabios-stdvga.bin` };
}

/** What to tell the user when SeaBIOS is chosen but its BIOS image is missing; null when it is there. */
export function seabiosMissing(): string | null {
  const { bios } = seabiosFiles();
  if (existsSync(bios)) return null;
  return `SeaBIOS not found at ${bios}: install the Debian package "seabios", or use the built-in firmware (--firmware builtin)`;
}
