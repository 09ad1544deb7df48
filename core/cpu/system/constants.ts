// Architectural constants shared by the system-side helpers (descriptor formats, EFLAGS bits,
// exception vectors). Values come from the Intel SDM volume 3.

export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;

// EFLAGS
export const FLAG_CF = 1 << 0;
export const FLAG_PF = 1 << 2;
export const FLAG_AF = 1 << 4;
export const FLAG_ZF = 1 << 6;
export const FLAG_SF = 1 << 7;
export const FLAG_TF = 1 << 8;
export const FLAG_IF = 1 << 9;
export const FLAG_DF = 1 << 10;
export const FLAG_OF = 1 << 11;
export const FLAG_IOPL = 3 << 12;
export const FLAG_NT = 1 << 14;
export const FLAG_RF = 1 << 16;
export const FLAG_VM = 1 << 17;
export const FLAG_AC = 1 << 18;
export const FLAG_VIF = 1 << 19;
export const FLAG_VIP = 1 << 20;
export const FLAG_ID = 1 << 21;
/** Bits a 32-bit POPF/IRET may ever change on a P6 (everything else reads as fixed). */
export const FLAGS_DEFINED = 0x3f7fd5;

// CR0
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;

// CR4
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;

// Exception vectors
export const EXC_DE = 0;
export const EXC_DB = 1;
export const EXC_NMI = 2;
export const EXC_BP = 3;
export const EXC_OF = 4;
export const EXC_BR = 5;
export const EXC_UD = 6;
export const EXC_NM = 7;
export const EXC_DF = 8;
export const EXC_TS = 10;
export const EXC_NP = 11;
export const EXC_SS = 12;
export const EXC_GP = 13;
export const EXC_PF = 14;
export const EXC_MF = 16;
export const EXC_AC = 17;
export const EXC_MC = 18;

// Segment cache flags (segFlags): access byte in bits 0-7, G/D-B/L/AVL in bits 12-15.
export const SF_ACCESSED = 0x01;
/** Data: writable. Code: readable. */
export const SF_RW = 0x02;
/** Data: expand-down. Code: conforming. */
export const SF_DC = 0x04;
export const SF_CODE = 0x08;
/** S bit: 1 = code/data, 0 = system descriptor. */
export const SF_S = 0x10;
export const SF_DPL_SHIFT = 5;
export const SF_P = 0x80;
export const SF_AVL = 0x1000;
export const SF_DB = 0x4000;
export const SF_G = 0x8000;

/** A flat 4 GiB, present, accessed segment of the given type/DPL (SYSENTER, tests). */
export const FLAT_CODE32_DPL0 = SF_G | SF_DB | SF_P | SF_S | SF_CODE | SF_RW | SF_ACCESSED; // 0xc09b
export const FLAT_DATA32_DPL0 = SF_G | SF_DB | SF_P | SF_S | SF_RW | SF_ACCESSED; // 0xc093
/** What the segment caches hold in virtual-8086 mode: 16-bit, present, DPL 3, writable data. */
export const V86_SEG_FLAGS = SF_P | (3 << SF_DPL_SHIFT) | SF_S | SF_RW | SF_ACCESSED; // 0xf3

// System descriptor types (access byte bits 0-3 with S = 0)
export const SYS_TSS16_AVAIL = 1;
export const SYS_LDT = 2;
export const SYS_TSS16_BUSY = 3;
export const SYS_CALL_GATE16 = 4;
export const SYS_TASK_GATE = 5;
export const SYS_INT_GATE16 = 6;
export const SYS_TRAP_GATE16 = 7;
export const SYS_TSS32_AVAIL = 9;
export const SYS_TSS32_BUSY = 11;
export const SYS_CALL_GATE32 = 12;
export const SYS_INT_GATE32 = 14;
export const SYS_TRAP_GATE32 = 15;
