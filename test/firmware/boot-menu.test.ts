// The boot menu: keys put into the machine's keyboard before power-on choose the boot device.
// Each medium's boot sector prints its own marker through INT 10h.
import { describe, expect, it } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { bootMenuWaitMs, readFwCfgFile, readFwCfgInt } from '../../core/firmware/fwcfg-read.js';
import { builtinPc, printMarkerCode, runUntilScreen } from './helpers.js';

function bootImage(size: number, marker: string): MemoryBlockDevice {
  const img = new Uint8Array(size);
  img.set(printMarkerCode(marker));
  img[510] = 0x55;
  img[511] = 0xaa;
  return new MemoryBlockDevice(img);
}

/** A CD with an El Torito no-emulation entry whose boot image prints the marker. */
function bootCd(marker: string): MemoryBlockDevice {
  const cd = new Uint8Array(32 * 2048);
  const vd = 17 * 2048;
  cd[vd] = 0;
  cd.set([...'CD001'].map((c) => c.charCodeAt(0)), vd + 1);
  cd[vd + 6] = 1;
  cd.set([...'EL TORITO SPECIFICATION'].map((c) => c.charCodeAt(0)), vd + 7);
  cd[vd + 0x47] = 18; // boot catalog at sector 18
  const cat = 18 * 2048;
  cd[cat] = 0x01; cd[cat + 0x1e] = 0x55; cd[cat + 0x1f] = 0xaa;
  cd.set([0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 19, 0, 0, 0], cat + 0x20);
  cd.set(printMarkerCode(marker), 19 * 2048);
  return new MemoryBlockDevice(cd);
}

function allMedia(over: Parameters<typeof builtinPc>[0] = {}) {
  return builtinPc({
    bootOrder: 'a',
    floppy: [bootImage(1474560, 'FLOPPY-BOOTED'), null],
    ide: [{ kind: 'disk', device: bootImage(1 << 20, 'DISK-BOOTED') }, null, { kind: 'cdrom', device: bootCd('CD-BOOTED') }, null],
    ...over,
  });
}

function press(m: PcMachine, ...codes: string[]): void {
  for (const code of codes) {
    m.input({ type: 'key', code, down: true });
    m.input({ type: 'key', code, down: false });
  }
}

const MARKERS = ['FLOPPY-BOOTED', 'DISK-BOOTED', 'CD-BOOTED'];
function booted(m: PcMachine): string[] {
  m.updateScreen();
  return MARKERS.filter((k) => m.screen().text.includes(k));
}

/** Keys pressed while the "Press F12" prompt shows. */
function pressAtPrompt(m: PcMachine, fw: { bootMenu: { promptMs: number } }, ...codes: string[]): void {
  fw.bootMenu.promptMs = 1500;
  expect(runUntilScreen(m, 'Press F12 for the boot menu', 2_000_000)).toBeGreaterThan(0);
  press(m, ...codes);
}

describe('boot menu', () => {
  it('without keys the configured order boots at once, with no menu and no prompt', () => {
    const { m } = allMedia();
    expect(runUntilScreen(m, 'FLOPPY-BOOTED', 2_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).not.toContain('Boot menu');
    expect(m.screen().text).not.toContain('F12');
  });

  it('F12 then 2 boots the hard disk from the numbered list', () => {
    const { m, fw } = allMedia();
    pressAtPrompt(m, fw, 'F12', 'Digit2');
    expect(runUntilScreen(m, 'DISK-BOOTED', 20_000_000)).toBeGreaterThan(0);
    const text = m.screen().text;
    expect(text).toContain('1. Floppy A:');
    expect(text).toContain('2. Hard disk');
    expect(text).toContain('3. CD-ROM');
    expect(booted(m)).toEqual(['DISK-BOOTED']);
  });

  it('Esc then 3 boots the CD', () => {
    const { m, fw } = allMedia();
    pressAtPrompt(m, fw, 'Escape', 'Digit3');
    expect(runUntilScreen(m, 'CD-BOOTED', 20_000_000)).toBeGreaterThan(0);
    expect(booted(m)).toEqual(['CD-BOOTED']);
  });

  it('Esc in the menu leaves it with the configured order', () => {
    const { m, fw } = allMedia({ bootOrder: 'c' });
    pressAtPrompt(m, fw, 'F12', 'Escape');
    expect(runUntilScreen(m, 'DISK-BOOTED', 20_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('Boot menu');
    expect(booted(m)).toEqual(['DISK-BOOTED']);
  });

  it('with a prompt configured, F12 pressed while it shows opens the menu', () => {
    const { m, fw } = allMedia({ bootOrder: 'c' });
    fw.bootMenu.promptMs = 1500;
    expect(runUntilScreen(m, 'Press F12 for the boot menu', 2_000_000)).toBeGreaterThan(0);
    m.run(200_000);
    press(m, 'F12', 'Digit1');
    expect(runUntilScreen(m, 'FLOPPY-BOOTED', 50_000_000)).toBeGreaterThan(0);
    expect(booted(m)).toEqual(['FLOPPY-BOOTED']);
  });

  it('with a prompt and no key the configured order boots when it ends', () => {
    const { m, fw } = allMedia({ bootOrder: 'c' });
    fw.bootMenu.promptMs = 300;
    expect(runUntilScreen(m, 'DISK-BOOTED', 50_000_000)).toBeGreaterThan(0);
    expect(m.clock.now()).toBeGreaterThan(300e6);
    expect(m.screen().text).not.toContain('Boot menu');
  });
});

describe('boot menu from the VM settings (MachineConfig.bootMenuWaitMs through fw_cfg)', () => {
  it('fw_cfg carries the prompt time as SeaBIOS reads it, and the firmware reads it back through the ports', () => {
    const on = allMedia({ bootMenuWaitMs: 2500 }).m;
    expect(bootMenuWaitMs(on.io)).toBe(2500);
    expect(readFwCfgInt(on.io, 'etc/show-boot-menu', -1)).toBe(1);
    const off = allMedia().m;
    expect(bootMenuWaitMs(off.io)).toBe(0);
    expect(readFwCfgInt(off.io, 'etc/show-boot-menu', -1)).toBe(0);
    expect(readFwCfgFile(off.io, 'etc/boot-menu-wait')).toBeNull();
  });

  it('the prompt shows for the configured time, then the boot order boots', () => {
    const { m } = allMedia({ bootOrder: 'c', bootMenuWaitMs: 400 });
    expect(runUntilScreen(m, 'Press F12 for the boot menu', 2_000_000)).toBeGreaterThan(0);
    const shown = m.clock.now();
    expect(runUntilScreen(m, 'DISK-BOOTED', 50_000_000)).toBeGreaterThan(0);
    expect(m.clock.now() - shown).toBeGreaterThanOrEqual(390e6);
    expect(m.screen().text).not.toContain('Boot menu');
  });

  it('F12 pressed before power-on (waiting in the 8042 through POST) opens the menu; 3 boots the CD', () => {
    const { m } = allMedia();
    press(m, 'F12');
    expect(runUntilScreen(m, 'Select 1-3', 5_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('Boot menu');
    press(m, 'Digit3');
    expect(runUntilScreen(m, 'CD-BOOTED', 20_000_000)).toBeGreaterThan(0);
    expect(booted(m)).toEqual(['CD-BOOTED']);
  });

  it('Esc pressed early with a prompt configured opens the menu at once; 2 boots the hard disk', () => {
    const { m } = allMedia({ bootMenuWaitMs: 5000 });
    press(m, 'Escape');
    m.run(50_000); // part of POST's slice: the key is still in the controller
    expect(runUntilScreen(m, 'Select 1-3', 5_000_000)).toBeGreaterThan(0);
    expect(m.clock.now()).toBeLessThan(1e9); // no 5 s prompt first
    press(m, 'Digit2');
    expect(runUntilScreen(m, 'DISK-BOOTED', 20_000_000)).toBeGreaterThan(0);
    expect(booted(m)).toEqual(['DISK-BOOTED']);
  });

  it('other keys typed early stay in the BIOS buffer for the boot sector, and nothing waits', () => {
    const { m } = allMedia();
    press(m, 'KeyX');
    expect(runUntilScreen(m, 'FLOPPY-BOOTED', 2_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).not.toContain('Boot menu');
    const head = m.memory.read16(0x41a), tail = m.memory.read16(0x41c);
    expect(tail - head).toBe(2);
    expect(m.memory.read16(0x400 + head)).toBe(0x2d78); // 'x'
  });
});
