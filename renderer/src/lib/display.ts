// Where the guest's frame goes on the page: the scaling modes of the console and the
// display aspect of the guest's mode. A PC monitor showed every standard mode at 4:3, so
// modes whose pixels were not square (720×400 text, 640×400, 320×200, 640×350) are stretched
// vertically to 4:3; modes with square pixels (640×480, 800×600, 1024×768, 1280×1024) keep it.

export type ScaleMode = '1:1' | 'fit' | 'stretch' | 'integer';
export const SCALE_MODES: readonly ScaleMode[] = ['fit', '1:1', 'integer', 'stretch'];
export const SCALE_LABELS: Record<ScaleMode, string> = {
  fit: 'Fit (keep aspect)',
  '1:1': '1:1 pixels',
  integer: 'Integer multiple',
  stretch: 'Stretch',
};

export interface Size { width: number; height: number }

/** The width/height ratio the guest's mode was meant to be seen at. */
export function displayAspect(width: number, height: number): number {
  if (width <= 0 || height <= 0) return 4 / 3;
  const square = width / height;
  // 640×480 and up with square pixels; the 200/350/400-line modes were shown at 4:3.
  if (height <= 400 && Math.abs(square - 4 / 3) > 0.01) return 4 / 3;
  return square;
}

/**
 * The CSS size of the canvas for a frame of `frame` pixels in a box of `box` CSS pixels
 * (device pixel ratio `dpr`, so 1:1 and integer mean physical screen pixels).
 */
export function canvasSize(mode: ScaleMode, frame: Size, box: Size, dpr = 1): Size {
  const aspect = displayAspect(frame.width, frame.height);
  // The frame's size at its display aspect, one guest pixel wide per screen pixel.
  const natural = { width: frame.width, height: Math.round(frame.width / aspect) };
  switch (mode) {
    case '1:1':
      return { width: natural.width / dpr, height: natural.height / dpr };
    case 'stretch':
      return { width: Math.max(1, box.width), height: Math.max(1, box.height) };
    case 'integer': {
      const k = Math.max(1, Math.floor(Math.min((box.width * dpr) / natural.width, (box.height * dpr) / natural.height)));
      return { width: (natural.width * k) / dpr, height: (natural.height * k) / dpr };
    }
    case 'fit':
    default: {
      const s = Math.min(box.width / natural.width, box.height / natural.height);
      if (!Number.isFinite(s) || s <= 0) return { width: natural.width, height: natural.height };
      return { width: Math.floor(natural.width * s), height: Math.floor(natural.height * s) };
    }
  }
}

/** A pointer position on the canvas as the 0..1 coordinates of an absolute pointer. */
export function absolutePosition(clientX: number, clientY: number, rect: { left: number; top: number; width: number; height: number }): { x: number; y: number } {
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return {
    x: clamp(rect.width > 0 ? (clientX - rect.left) / rect.width : 0),
    y: clamp(rect.height > 0 ? (clientY - rect.top) / rect.height : 0),
  };
}
