// Direct Linux boot (like QEMU's -kernel): after POST the firmware loads a bzImage through the
// Linux x86 boot protocol (Documentation/x86/boot.rst, protocol 2.02 or later) instead of
// reading a boot sector. The real-mode setup goes to 0x10000 with the command line at 0x20000
// (so setup, heap and stack stay well below the EBDA), the protected-mode kernel to 0x100000,
// the initrd as high as initrd_addr_max and the RAM below the ACPI tables allow. The CPU then
// enters the setup code at (0x1000 + 0x20):0000 with DS=ES=FS=GS=SS=0x1000 and interrupts off.

export interface LinuxBootFiles {
  kernel: Uint8Array;
  initrd: Uint8Array | null;
  cmdline: string;
}

export class LinuxBootError extends Error {}

export interface BzImageHeader {
  setupSects: number;
  protocol: number;
  loadflags: number;
  initrdAddrMax: number;
  cmdlineSize: number;
  /** Bytes the kernel needs from 0x100000 while it decompresses (0 when the header lacks it). */
  initSize: number;
}

const SETUP_ADDR = 0x10000;
const CMDLINE_ADDR = 0x20000;
const KERNEL_ADDR = 0x100000;
const LOADED_HIGH = 0x01, CAN_USE_HEAP = 0x80;

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void { b[o] = v & 0xff; b[o + 1] = (v >> 8) & 0xff; }
function put32(b: Uint8Array, o: number, v: number): void { put16(b, o, v & 0xffff); put16(b, o + 2, v >>> 16); }

/** Check that `kernel` is a bzImage this loader can start; throws LinuxBootError saying why not. */
export function parseBzImage(kernel: Uint8Array): BzImageHeader {
  if (kernel.length < 0x1000) throw new LinuxBootError(`the kernel file is too small to be a bzImage (${kernel.length} bytes)`);
  if (u16(kernel, 0x1fe) !== 0xaa55 || u32(kernel, 0x202) !== 0x53726448 /* "HdrS" */) {
    throw new LinuxBootError('the kernel file is not a Linux bzImage (no "HdrS" boot protocol header)');
  }
  const protocol = u16(kernel, 0x206);
  if (protocol < 0x0202) throw new LinuxBootError(`the kernel uses boot protocol ${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, '0')}; 2.02 or later is needed`);
  const loadflags = kernel[0x211];
  if (!(loadflags & LOADED_HIGH)) throw new LinuxBootError('the kernel is a zImage (loaded low); only bzImage kernels are supported');
  const setupSects = kernel[0x1f1] || 4;
  if ((setupSects + 1) * 512 >= kernel.length) throw new LinuxBootError('the kernel file is truncated (setup sectors run past its end)');
  return {
    setupSects,
    protocol,
    loadflags,
    initrdAddrMax: protocol >= 0x0203 ? u32(kernel, 0x22c) : 0x37ffffff,
    cmdlineSize: protocol >= 0x0206 ? u32(kernel, 0x238) : 255,
    initSize: protocol >= 0x020a ? u32(kernel, 0x260) : 0,
  };
}

export interface LinuxLoadPlan {
  /** Bytes to write to guest physical memory. */
  writes: { address: number; bytes: Uint8Array }[];
  /** Real-mode segment of the setup code (entry at segment + 0x20, offset 0). */
  segment: number;
  stackPointer: number;
}

/** Lay out kernel, initrd and command line for a machine whose usable RAM ends at `ramTop`. */
export function planLinuxBoot(files: LinuxBootFiles, ramTop: number): LinuxLoadPlan {
  const hdr = parseBzImage(files.kernel);
  const setupBytes = (hdr.setupSects + 1) * 512;
  if (SETUP_ADDR + setupBytes > CMDLINE_ADDR - 0x200) throw new LinuxBootError('the kernel setup code is too large');
  const setup = files.kernel.slice(0, setupBytes);
  const pmKernel = files.kernel.subarray(setupBytes);
  const kernelEnd = KERNEL_ADDR + Math.max(pmKernel.length, hdr.initSize);
  if (kernelEnd > ramTop) throw new LinuxBootError(`not enough memory for the kernel (it needs ${Math.ceil(kernelEnd / 1048576)} MiB)`);

  const cmdline = files.cmdline;
  if (cmdline.length > hdr.cmdlineSize) throw new LinuxBootError(`the kernel command line is longer than the kernel accepts (${hdr.cmdlineSize} bytes)`);
  const cmdBytes = new Uint8Array(cmdline.length + 1);
  for (let i = 0; i < cmdline.length; i++) cmdBytes[i] = cmdline.charCodeAt(i) & 0xff;

  setup[0x210] = 0xff; // type_of_loader: undefined boot loader
  setup[0x211] = hdr.loadflags | CAN_USE_HEAP;
  put16(setup, 0x224, CMDLINE_ADDR - SETUP_ADDR - 0x200); // heap_end_ptr
  put32(setup, 0x228, CMDLINE_ADDR);
  const writes: LinuxLoadPlan['writes'] = [
    { address: SETUP_ADDR, bytes: setup },
    { address: CMDLINE_ADDR, bytes: cmdBytes },
    { address: KERNEL_ADDR, bytes: pmKernel },
  ];
  if (files.initrd && files.initrd.length) {
    const limit = Math.min(hdr.initrdAddrMax + 1, ramTop);
    const address = Math.floor((limit - files.initrd.length) / 4096) * 4096;
    if (address < kernelEnd) throw new LinuxBootError(`not enough memory for the initrd (${files.initrd.length} bytes) above the kernel`);
    put32(setup, 0x218, address);
    put32(setup, 0x21c, files.initrd.length);
    writes.push({ address, bytes: files.initrd });
  } else {
    put32(setup, 0x218, 0);
    put32(setup, 0x21c, 0);
  }
  return { writes, segment: SETUP_ADDR >> 4, stackPointer: CMDLINE_ADDR - SETUP_ADDR - 0x10 };
}
