// Small guest programs for the firmware tests, as boot sectors. Sources (GNU as syntax) are in
// test/firmware/programs/; the bytes below were assembled from them with
//   as --32 -o x.o x.s && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o x.bin x.o
// (no assembler is needed to run the tests).
import { MemoryBlockDevice } from '../../core/disk/block.js';

/** services-real-mode.s: PCI BIOS (INT 1Ah B1xxh), E820, C2h mouse with a handler, RTC set, INT 14h, 83h. */
export const REAL_MODE_SERVICES =
  'fa31c08ed88ec08ed0bc0070fbb801b16631ffcd1a66a3000666891e040666890e08066689160c0666893e1006b802b1' +
  'b90070ba868031f6cd1a891e14060f92061606b803b166b90000030031f6cd1a891e18060f92061a06b80ab1bb1000bf' +
  '1000cd1a66890e1c06b80bb1bb1000bf3c00b15acd1ab808b1bb1000bf3c0031c9cd1a880e2006b809b1bb1000bf3d00' +
  'cd1a0f9206210688262206c70600070001c70602070008c70604070000b80eb131dbbf0007cd1a891e2406a326066631' +
  'dbbf000966b820e8000066ba50414d5366b914000000cd15720883c7146685db75e2893e2806b807c2bb5b7dcd150f92' +
  '062a06b805c2b703cd150f92062b06891e2c06b800c2b701cd150f92062e0688262f06b403b93412ba0056cd1ab402cd' +
  '1a890e300688363206b85a0131d2cd1488263306b80083b90300ba400dbb5006cd150f92063406f4f60650068074f866' +
  'c7063c060d600d60f4ebfd5589e51e5031c08ed88b460ca340068b460aa342068b4608a344068b4606a34606ff064806' +
  '581f5dcb';

/** pcibios-32bit.s: protected mode, BIOS32 directory (far pointer at 0:05F0) and the 32-bit PCI BIOS. */
export const PCIBIOS_32BIT =
  'fa31c08ed8660f0116107d0f20c00c010f22c066ea1b7c0000080066b810008ed88ec08ed0bc00700000b82450434931' +
  'dbff1df0050000a300060000891d04060000890d0806000089150c06000001d3891df805000066c705fc0500000800b8' +
  '01b10000ff1df8050000a310060000891d14060000890d1806000089151c060000b80ab10000bb0800000031ffff1df8' +
  '050000890d200600000f920524060000a328060000b802b10000b913710000ba8680000031f6ff1df8050000891d2c06' +
  '0000a330060000b802b10000b934120000ba7856000031f6ff1df80500000f920534060000a338060000c7053c060000' +
  '0d600d60f4ebfd900000000000000000ffff0000009acf00ffff00000092cf001700f87c0000';

/** int15-89h.s: INT 15h AH=89h with its GDT, then records CS/DS/SS/ES, CR0 and FLAGS in protected mode. */
export const INT15_SWITCH_TO_PM =
  'fa31c08ed88ec08ed0bc0070b489bb2028be487ccd15722c8c0e00068c1e02068c1604068c0606060f20c066a308069c' +
  '8f060c0626c7060000501f66c7063c060d600d60f4ebfd9000000000000000003f00487c00930000ff07002000930000' +
  'ffff000000930000ffff00800b930000ffff000000930000ffff0000009b00000000000000000000';

/** A 1.44 MB floppy whose boot sector is the program (hex). */
export function bootFloppy(hex: string): MemoryBlockDevice {
  const img = new Uint8Array(1474560);
  for (let i = 0; i < hex.length / 2; i++) img[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  img[510] = 0x55;
  img[511] = 0xaa;
  return new MemoryBlockDevice(img);
}

/** hdemu-mbr.s: the MBR of the El Torito hard-disk-emulation image (prints, reads CHS/LBA, write, 81h, 4B01h). */
export const HDEMU_MBR =
  'fa31c08ed88ec08ed0bc007cfb88160006be0f7de8bf00a00006e8c800be3d7de8b300b408b280cd13890e0206891604' +
  '068a36bf7d8b0ec07db280bb0080b80102cd130f828700be0080e88900be3d7de8830066a1c67d664066a3077dbeff7c' +
  'b442b280cd137266be0082e86800be3d7de86200b80103b9010030f6b280bb0080cd1388260606be1d7de84900a00606' +
  'e85200be3d7de83d00b80102b9010030f6b281bb0084cd137224be0084e82600be3d7de82000b8014bb280be0007cd13' +
  '0f92060106be277de80b00f4ebfdbe327de80200ebf5ac08c07409b40ebb0700cd10ebf2c350c0e804e8030058240f04' +
  '303c3976020407b40ebb0700cd10c3100001000082000000000000000000004844454d552d4d425220444c3d00575249' +
  '54452041483d004844454d552d444f4e45004844454d552d4641494c000d0a00';

/** Bytes of a program's hex. */
export function programBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
