// The VMware backdoor port and its absolute pointer (vmmouse): the register protocol on a bare
// register file, a real IN EAX,DX executed by the CPU, and the board routing absolute pointer
// input into it (with the state surviving a save/load).
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { PcMachine } from '../../core/board/pc.js';
import { Cpu } from '../../core/cpu/cpu.js';
import {
  BACKDOOR_MAGIC, BACKDOOR_PORT, CMD_ABSPOINTER_COMMAND, CMD_ABSPOINTER_DATA, CMD_ABSPOINTER_STATUS, CMD_GETVERSION,
  VMMOUSE_CMD_DISABLE, VMMOUSE_CMD_ENABLE, VMMOUSE_CMD_REQUEST_ABSOLUTE, VMMOUSE_CMD_REQUEST_RELATIVE, VMMOUSE_ERROR,
  VMMOUSE_LEFT, VMMOUSE_MIDDLE, VMMOUSE_RIGHT, VMMOUSE_VERSION_ID, VmwareBackdoor,
} from '../../core/devices/vmware-backdoor.js';
import { buildBiosRom } from '../../core/firmware/rom.js';
import { pcConfig, seabiosAvailable } from '../board/board-helpers.js';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3;

/** One backdoor call as a guest makes it: returns the four registers afterwards (unsigned). */
function call(dev: VmwareBackdoor, regs: Int32Array, cmd: number, arg = 0, magic = BACKDOOR_MAGIC): number[] {
  regs[EAX] = magic;
  regs[EBX] = arg;
  regs[ECX] = cmd;
  regs[EDX] = BACKDOOR_PORT;
  regs[EAX] = dev.read32();
  return [regs[EAX]!, regs[EBX]!, regs[ECX]!, regs[EDX]!].map((v) => v >>> 0);
}

function enableAbsolute(dev: VmwareBackdoor, regs: Int32Array): void {
  call(dev, regs, CMD_ABSPOINTER_COMMAND, VMMOUSE_CMD_ENABLE);
  expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(1);
  expect(call(dev, regs, CMD_ABSPOINTER_DATA, 1)[0]).toBe(VMMOUSE_VERSION_ID);
  call(dev, regs, CMD_ABSPOINTER_COMMAND, VMMOUSE_CMD_REQUEST_ABSOLUTE);
  expect(dev.pointerMode).toBe('absolute');
}

describe('VMware backdoor registers', () => {
  it('GETVERSION answers with the magic in EBX; a wrong magic changes nothing', () => {
    const regs = new Int32Array(8);
    const dev = new VmwareBackdoor(regs);
    const [eax, ebx] = call(dev, regs, CMD_GETVERSION);
    expect(eax).toBe(6);
    expect(ebx).toBe(BACKDOOR_MAGIC);
    const r = call(dev, regs, CMD_GETVERSION, 0x1234, 0x11223344);
    expect(r).toEqual([0x11223344, 0x1234, CMD_GETVERSION, BACKDOOR_PORT]);
  });

  it('the vmmouse handshake, absolute packets scaled to 0..0xFFFF with buttons and wheel, and errors', () => {
    const regs = new Int32Array(8);
    const dev = new VmwareBackdoor(regs);
    // Before the driver enables it, the host's events are not taken (the UI falls back to PS/2).
    expect(dev.pointer(0.5, 0.5, 0)).toBe(false);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(0);
    enableAbsolute(dev, regs);

    expect(dev.pointer(0, 1, 0b001)).toBe(true);
    expect(dev.pointer(0.5, 0.25, 0b110, -2)).toBe(true);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(8);
    expect(call(dev, regs, CMD_ABSPOINTER_DATA, 4)).toEqual([VMMOUSE_LEFT, 0, 0xffff, 0]);
    expect(call(dev, regs, CMD_ABSPOINTER_DATA, 4)).toEqual([VMMOUSE_RIGHT | VMMOUSE_MIDDLE, 0x8000, 0x4000, 0xfffffffe]);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(0);

    // Asking for more words than are queued is an error the next status reports once.
    dev.pointer(0.1, 0.1, 0);
    call(dev, regs, CMD_ABSPOINTER_DATA, 4);
    call(dev, regs, CMD_ABSPOINTER_DATA, 4);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(VMMOUSE_ERROR);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(0);
    // Out-of-range positions are clamped.
    dev.pointer(-3, 7, 0);
    expect(call(dev, regs, CMD_ABSPOINTER_DATA, 4).slice(1, 3)).toEqual([0, 0xffff]);

    call(dev, regs, CMD_ABSPOINTER_COMMAND, VMMOUSE_CMD_REQUEST_RELATIVE);
    expect(dev.pointerMode).toBe('relative');
    expect(dev.pointer(0.5, 0.5, 0)).toBe(false);
    call(dev, regs, CMD_ABSPOINTER_COMMAND, VMMOUSE_CMD_REQUEST_ABSOLUTE);
    call(dev, regs, CMD_ABSPOINTER_COMMAND, VMMOUSE_CMD_DISABLE);
    expect(dev.pointerMode).toBe('off');
    expect(dev.pointer(0.5, 0.5, 0)).toBe(false);
    // An unknown pointer command is an error, not a mode change.
    call(dev, regs, CMD_ABSPOINTER_COMMAND, 0x12345678);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(VMMOUSE_ERROR);
    expect(dev.pointerMode).toBe('off');
  });

  it('a queue the guest never reads stays bounded', () => {
    const regs = new Int32Array(8);
    const dev = new VmwareBackdoor(regs);
    enableAbsolute(dev, regs);
    for (let i = 0; i < 5000; i++) dev.pointer(i / 5000, 0, 0);
    expect(call(dev, regs, CMD_ABSPOINTER_STATUS)[0]).toBe(1024);
  });
});

describe('VMware backdoor through the CPU', () => {
  it('IN EAX,DX at port 0x5658 runs GETVERSION: EAX and EBX come back as the protocol says', () => {
    const mem = new PhysicalMemory(1 << 20);
    const io = new IoBus();
    const cpu = new Cpu(mem, io);
    io.register('vmware-backdoor', BACKDOOR_PORT, 4, new VmwareBackdoor(cpu.regs));
    const code = [
      0x66, 0xb8, 0x68, 0x58, 0x4d, 0x56, // mov eax, 564D5868h
      0x66, 0xbb, 0xff, 0xff, 0xff, 0xff, // mov ebx, -1
      0x66, 0xb9, 0x0a, 0x00, 0x00, 0x00, // mov ecx, 10 (GETVERSION)
      0xba, 0x58, 0x56, // mov dx, 5658h
      0x66, 0xed, // in eax, dx
      0xf4, // hlt
    ];
    mem.writeBytes(0x1000, new Uint8Array(code));
    cpu.loadSegmentReal(1, 0);
    cpu.segBase[1] = 0;
    cpu.eip = 0x1000;
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs[EAX]).toBe(6);
    expect(cpu.regs[EBX]! >>> 0).toBe(BACKDOOR_MAGIC);
  });
});

describe('VMware backdoor on the PC board', () => {
  it('absolute pointer input reaches the queue once the guest asked for it, and the state survives save/load', () => {
    if (!seabiosAvailable()) return; // pcConfig reads its ROMs
    const m = new PcMachine(pcConfig({ biosRom: buildBiosRom().image, vgaRom: null, memoryMiB: 4 }));
    expect(m.io.claimant(BACKDOOR_PORT)).toBe('vmware-backdoor');
    m.input({ type: 'mouse-abs', x: 0.5, y: 0.5, buttons: 0 });
    expect(m.vmwareBackdoor.queue).toEqual([]);
    const regs = m.cpu.regs;
    expect(m.status().absolutePointer).toBe(false);
    enableAbsolute(m.vmwareBackdoor, regs);
    // The status bar (and the UI's choice of pointer mode) sees it.
    expect(m.status().absolutePointer).toBe(true);
    m.input({ type: 'mouse-abs', x: 1, y: 0.5, buttons: 1 });
    expect(m.vmwareBackdoor.queue).toEqual([VMMOUSE_LEFT, 0xffff, 0x8000, 0]);
    m.input({ type: 'mouse-abs', x: 0, y: 0, buttons: 0, dz: -1 });
    expect(m.vmwareBackdoor.queue.slice(4)).toEqual([0, 0, 0, -1]);
    m.vmwareBackdoor.queue.splice(4);
    const saved = m.saveState();
    m.reset();
    expect(m.vmwareBackdoor.pointerMode).toBe('off');
    m.loadState(saved);
    expect(m.vmwareBackdoor.pointerMode).toBe('absolute');
    expect(m.vmwareBackdoor.queue).toEqual([VMMOUSE_LEFT, 0xffff, 0x8000, 0]);
  });
});
