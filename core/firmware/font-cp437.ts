// The CP437 glyphs outside printable ASCII and the generated box/block range (B0h-DFh),
// drawn for this project on the same 5x7 grid as font.ts (one hex byte per row, bit 4 =
// leftmost dot). Accented lower-case letters are composed from a 2-row accent and rows 2-6 of
// the ASCII letter; accented capitals from a 2-row accent and a 5-row capital.

const ACUTE = '0204', GRAVE = '0804', CIRCUMFLEX = '040a', DIAERESIS = '0a00', TILDE = '050a';

/** 5-row capitals under an accent (Ö has its own design: a 5-row O would be ö). */
const CAPS5: Record<string, string> = {
  A: '0e111f1111', E: '1f101e101f', U: '111111110e', N: '1119151311',
};

/** code → 14 hex digits (7 rows); `ascii(c)` is the design of a printable ASCII character. */
export function cp437Glyphs(ascii: (c: string) => string): [number, string][] {
  const lower = (accent: string, c: string) => accent + ascii(c).slice(4);
  const upper = (accent: string, c: string) => accent + CAPS5[c];
  return [
    // 01h-1Fh: faces, card suits, bullets, gender signs, notes, arrows, triangles.
    [0x01, '0e111b111b150e'], [0x02, '0e1f151f151b0e'], [0x03, '000a1f1f0e0400'], [0x04, '00040e1f0e0400'],
    [0x05, '040e0e1f15040e'], [0x06, '04040e1f1f040e'], [0x07, '00000e0e0e0000'], [0x08, '1f1f1111111f1f'],
    [0x09, '000e1111110e00'], [0x0a, '1f110e0e0e111f'], [0x0b, '0703050e11110e'], [0x0c, '0e11110e041f04'],
    [0x0d, '060504040c1c18'], [0x0e, '0f0909091b1b00'], [0x0f, '04150e1b0e1504'], [0x10, '10181c1e1c1810'],
    [0x11, '0103070f070301'], [0x12, '040e1504150e04'], [0x13, '0a0a0a0a0a000a'], [0x14, '0f1d1d0d050505'],
    [0x15, '0e100e110e010e'], [0x16, '000000001f1f00'], [0x17, '040e1504150e1f'], [0x18, '040e1504040404'],
    [0x19, '04040404150e04'], [0x1a, '0004021f020400'], [0x1b, '0004081f080400'], [0x1c, '00001010101f00'],
    [0x1d, '00000a1f0a0000'], [0x1e, '00040e0e1f1f00'], [0x1f, '001f1f0e0e0400'], [0x7f, '00040a11111f00'],
    // 80h-A5h: accented letters.
    [0x80, '0e111010110e04'], [0x81, lower(DIAERESIS, 'u')], [0x82, lower(ACUTE, 'e')], [0x83, lower(CIRCUMFLEX, 'a')],
    [0x84, lower(DIAERESIS, 'a')], [0x85, lower(GRAVE, 'a')], [0x86, '040a040e0f110f'], [0x87, '00000e10100e04'],
    [0x88, lower(CIRCUMFLEX, 'e')], [0x89, lower(DIAERESIS, 'e')], [0x8a, lower(GRAVE, 'e')], [0x8b, lower(DIAERESIS, 'i')],
    [0x8c, lower(CIRCUMFLEX, 'i')], [0x8d, lower(GRAVE, 'i')], [0x8e, upper(DIAERESIS, 'A')], [0x8f, '040a040e111f11'],
    [0x90, upper(ACUTE, 'E')], [0x91, '00001a051f140f'], [0x92, '0f14141f141417'], [0x93, lower(CIRCUMFLEX, 'o')],
    [0x94, lower(DIAERESIS, 'o')], [0x95, lower(GRAVE, 'o')], [0x96, lower(CIRCUMFLEX, 'u')], [0x97, lower(GRAVE, 'u')],
    [0x98, lower(DIAERESIS, 'y')], [0x99, '0a0e111111110e'], [0x9a, upper(DIAERESIS, 'U')],
    // 9Bh-9Fh: cent, pound, yen, peseta, florin.
    [0x9b, '00040e14140e04'], [0x9c, '0609081c08081f'], [0x9d, '11110a1f041f04'], [0x9e, '18141813171312'],
    [0x9f, '02050e04041408'],
    [0xa0, lower(ACUTE, 'a')], [0xa1, lower(ACUTE, 'i')], [0xa2, lower(ACUTE, 'o')], [0xa3, lower(ACUTE, 'u')],
    [0xa4, lower(TILDE, 'n')], [0xa5, upper(TILDE, 'N')],
    // A6h-AFh: ordinals, inverted marks, negation, fractions, guillemets.
    [0xa6, '0e010f110f001f'], [0xa7, '0e1111110e001f'], [0xa8, '0400040810110e'], [0xa9, '0000001f101000'],
    [0xaa, '0000001f010100'], [0xab, '1112140b010207'], [0xac, '1112140a161f02'], [0xad, '04000404040404'],
    [0xae, '00050a140a0500'], [0xaf, '00140a050a1400'],
    // E0h-EFh: Greek and mathematical letters.
    [0xe0, '00000d1212120d'], [0xe1, '0e111611111610'], [0xe2, '1f111010101010'], [0xe3, '00001f0a0a0a0a'],
    [0xe4, '1f10080408101f'], [0xe5, '00000f1212120c'], [0xe6, '00001111111e10'], [0xe7, '00001f04040402'],
    [0xe8, '040e1515150e04'], [0xe9, '0e11111f11110e'], [0xea, '0e1111110a0a1b'], [0xeb, '0608040e11110e'],
    [0xec, '00000a15150a00'], [0xed, '01020e15150e08'], [0xee, '00000e100c100e'], [0xef, '000e1111111100'],
    // F0h-FDh: relations, integral halves, division, degree, dots, root, superscripts.
    [0xf0, '001f001f001f00'], [0xf1, '04041f0404001f'], [0xf2, '0804020408001f'], [0xf3, '0204080402001f'],
    [0xf4, '02050404040404'], [0xf5, '04040404041408'], [0xf6, '0004001f000400'], [0xf7, '00081502081502'],
    [0xf8, '0c12120c000000'], [0xf9, '00000c0c000000'], [0xfa, '00000004000000'], [0xfb, '07040404140c04'],
    [0xfc, '1c121212000000'], [0xfd, '0c02040e000000'],
  ];
}
