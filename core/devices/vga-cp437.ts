// Code page 437 (the VGA ROM font's character set) to Unicode, for text extraction.
// NUL and 0xFF (non-breaking space) map to a plain space so trailing blanks trim away.

const LOW = ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼';
const HIGH =
  'ÇüéâäàåçêëèïîìÄÅ' +
  'ÉæÆôöòûùÿÖÜ¢£¥₧ƒ' +
  'áíóúñÑªº¿⌐¬½¼¡«»' +
  '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧' +
  '╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩' +
  '≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

/** CP437 byte → Unicode string (one code point each). */
export const CP437: readonly string[] = (() => {
  const table: string[] = new Array(256);
  const low = Array.from(LOW);
  const high = Array.from(HIGH);
  if (low.length !== 32 || high.length !== 128) throw new Error('cp437 table is malformed');
  for (let i = 0; i < 32; i++) table[i] = low[i];
  for (let i = 32; i < 127; i++) table[i] = String.fromCharCode(i);
  table[127] = '⌂';
  for (let i = 0; i < 128; i++) table[128 + i] = high[i];
  return table;
})();
