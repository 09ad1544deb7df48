// CPUID: what the emulated processor says it is. The answers depend on the CPU model preset
// and on two platform facts (is there a local APIC, is MMX enabled: `cpu.hasMmx`, which the
// board sets from `modelHasMmx`), never on the host.
//
// Feature bits (leaf 1 EDX), SDM vol. 2A "CPUID":
//   0 FPU, 1 VME, 2 DE, 3 PSE, 4 TSC, 5 MSR, 6 PAE, 8 CX8, 9 APIC, 11 SEP, 12 MTRR, 13 PGE,
//   15 CMOV, 23 MMX.
// Leaf 2 cache/TLB descriptor bytes are the ones the real parts report (Pentium II "Klamath/
// Deschutes": 01 02 03 04 ITLB/DTLB, 08/0C 16 KiB L1 I/D, 43 512 KiB L2).

export type CpuModelName = 'pentium2' | 'pentium-pro' | 'pentium' | '486';

export const FEAT_FPU = 1 << 0;
export const FEAT_VME = 1 << 1;
export const FEAT_DE = 1 << 2;
export const FEAT_PSE = 1 << 3;
export const FEAT_TSC = 1 << 4;
export const FEAT_MSR = 1 << 5;
export const FEAT_PAE = 1 << 6;
export const FEAT_CX8 = 1 << 8;
export const FEAT_APIC = 1 << 9;
export const FEAT_SEP = 1 << 11;
export const FEAT_MTRR = 1 << 12;
export const FEAT_PGE = 1 << 13;
export const FEAT_CMOV = 1 << 15;
export const FEAT_MMX = 1 << 23;

export interface CpuModelInfo {
  /** Leaf 1 EAX: stepping | model << 4 | family << 8. */
  signature: number;
  /** Leaf 1 EDX without the platform-dependent APIC and MMX bits. */
  features: number;
  /** Leaf 2 EAX..EDX, or null when the highest basic leaf is 1. */
  cacheDescriptors: readonly [number, number, number, number] | null;
  /** Brand string for leaves 0x80000002-4, or null when extended leaves are absent. */
  brand: string | null;
  /** The model has MMX (core/cpu/mmx.ts): the board sets `cpu.hasMmx` from this. */
  mmx: boolean;
}

const P6_FEATURES =
  FEAT_FPU | FEAT_VME | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_PAE | FEAT_CX8 | FEAT_MTRR | FEAT_PGE | FEAT_CMOV;

export const CPU_MODELS: Readonly<Record<CpuModelName, CpuModelInfo>> = {
  // Family 6 model 5 stepping 2 (Pentium II, 0.25 µm).
  pentium2: {
    signature: 0x652,
    features: P6_FEATURES | FEAT_SEP,
    cacheDescriptors: [0x03020101, 0, 0, 0x0c040843],
    brand: 'Perseus Virtual Pentium II',
    mmx: true,
  },
  // Family 6 model 1 stepping 9. The real part sets SEP without implementing it (SDM: ignore
  // SEP when family 6, model < 3, stepping < 3); we simply do not report it.
  'pentium-pro': {
    signature: 0x619,
    features: P6_FEATURES,
    cacheDescriptors: [0x03020101, 0, 0, 0x06040a42],
    brand: 'Perseus Virtual Pentium Pro',
    mmx: false,
  },
  // Family 5 model 2 stepping 12 (P54C).
  pentium: {
    signature: 0x52c,
    features: FEAT_FPU | FEAT_VME | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8,
    cacheDescriptors: null,
    brand: null,
    mmx: false,
  },
  // Family 4 model 8 (IntelDX4, which has CPUID).
  '486': {
    signature: 0x480,
    features: FEAT_FPU,
    cacheDescriptors: null,
    brand: null,
    mmx: false,
  },
};

/** Whether the model implements MMX (Pentium II yes; Pentium Pro, P54C Pentium and 486 no). */
export function modelHasMmx(model: CpuModelName): boolean {
  return CPU_MODELS[model].mmx;
}

/** Feature bits as reported by leaf 1 for a model on a given platform. */
export function modelFeatures(model: CpuModelName, hasApic: boolean, hasMmx: boolean): number {
  const info = CPU_MODELS[model];
  let f = info.features;
  if (hasApic && info.signature >= 0x500) f |= FEAT_APIC;
  if (hasMmx && info.mmx) f |= FEAT_MMX;
  return f | 0;
}

function packAscii(s: string, at: number): number {
  let v = 0;
  for (let i = 3; i >= 0; i--) v = (v << 8) | (at + i < s.length ? s.charCodeAt(at + i) & 0x7f : 0);
  return v | 0;
}

const VENDOR = 'GenuineIntel';

/**
 * Fill out[0..3] with EAX, EBX, ECX, EDX for CPUID leaf `leaf`. `apicId` goes into leaf 1
 * EBX[31:24]. Leaves above the highest supported one answer like the highest basic leaf,
 * as Intel parts do.
 */
export function cpuidLeaf(
  model: CpuModelName,
  hasApic: boolean,
  hasMmx: boolean,
  apicId: number,
  leaf: number,
  out: Int32Array,
): void {
  const info = CPU_MODELS[model];
  const maxBasic = info.cacheDescriptors ? 2 : 1;
  const maxExtended = info.brand ? 0x80000004 : 0;
  leaf >>>= 0;
  if (leaf >= 0x80000000) {
    if (maxExtended === 0 || leaf > maxExtended) {
      leaf = maxBasic;
    } else {
      out[0] = leaf === 0x80000000 ? maxExtended | 0 : 0;
      out[1] = out[2] = out[3] = 0;
      if (leaf >= 0x80000002) {
        // 48 bytes of brand string, NUL padded, 16 per leaf.
        const brand = info.brand ?? '';
        const base = (leaf - 0x80000002) * 16;
        for (let r = 0; r < 4; r++) out[r] = packAscii(brand, base + r * 4);
      }
      return;
    }
  } else if (leaf > maxBasic) {
    leaf = maxBasic;
  }
  switch (leaf) {
    case 0:
      out[0] = maxBasic;
      out[1] = packAscii(VENDOR, 0);
      out[3] = packAscii(VENDOR, 4);
      out[2] = packAscii(VENDOR, 8);
      return;
    case 1:
      out[0] = info.signature;
      out[1] = hasApic ? (apicId & 0xff) << 24 : 0;
      out[2] = 0;
      out[3] = modelFeatures(model, hasApic, hasMmx);
      return;
    default: {
      const d = info.cacheDescriptors!;
      out[0] = d[0];
      out[1] = d[1];
      out[2] = d[2];
      out[3] = d[3];
    }
  }
}
