export declare const DEMO_GREETING: string;
export declare const DEMO_SPLASH: string;
export declare const FLOPPY_BYTES: number;
export declare function demoBootSector(): Uint8Array;
export declare function demoFloppyImage(): Uint8Array;
export declare function writeDemoFloppy(path: string): string;
