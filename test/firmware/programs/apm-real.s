# APM through INT 15h AH=53h in real mode: installation check, connect, the second connect's
# error, driver version, enable, engage, power status, idle, busy, a refused suspend, then
# "off" for all devices. Results at 0:0600-061B, 600D600Dh at 0:063C just before "off";
# BAD0BAD0h there if "off" returned.
# as --32 -o x.o x.s && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o x.bin x.o
        .code16
        .globl _start
_start:
        cli
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x7c00, %sp
        sti
        mov $0x5300, %ax
        xor %bx, %bx
        int $0x15
        setc 0x600
        mov %ax, 0x602
        mov %bx, 0x604
        mov %cx, 0x606
        mov $0x5301, %ax
        xor %bx, %bx
        int $0x15
        setc 0x608
        mov $0x5301, %ax
        xor %bx, %bx
        int $0x15
        setc 0x609
        mov %ah, 0x60a
        mov $0x530e, %ax
        xor %bx, %bx
        mov $0x0102, %cx
        int $0x15
        setc 0x60c
        mov %ax, 0x60e
        mov $0x5308, %ax
        mov $1, %bx
        mov $1, %cx
        int $0x15
        setc 0x610
        mov $0x530f, %ax
        mov $1, %bx
        mov $1, %cx
        int $0x15
        setc 0x611
        mov $0x530a, %ax
        mov $1, %bx
        int $0x15
        setc 0x612
        mov %bx, 0x614
        mov %cx, 0x616
        mov $0x5305, %ax
        int $0x15
        setc 0x618
        mov $0x5306, %ax
        int $0x15
        setc 0x619
        mov $0x5307, %ax
        mov $1, %bx
        mov $2, %cx
        int $0x15
        setc 0x61a
        mov %ah, 0x61b
        movl $0x600d600d, 0x63c
        mov $0x5307, %ax
        mov $1, %bx
        mov $3, %cx
        int $0x15
        movl $0xbad0bad0, 0x63c
1:      hlt
        jmp 1b
