# APM's 32-bit protected-mode interface: 5303h in real mode (AX, EBX, CX, DX, ESI, DI saved at
# 0:0600-0613), descriptors built from the returned segments (18h 32-bit code, 20h 16-bit
# code, 28h data), then in 32-bit protected mode far calls through the entry: 530Ah power
# status (BX, CX and CF at 0:0620-0624) and 5307h "off". 600D600Dh at 0:063C before "off",
# BAD0BAD0h if it returned.
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
        mov $0x5303, %ax
        xor %bx, %bx
        int $0x15
        jc fail16
        mov %ax, 0x600
        mov %ebx, 0x604
        mov %cx, 0x608
        mov %dx, 0x60a
        mov %esi, 0x60c
        mov %di, 0x610
        # Segment bases into the descriptors: base = segment * 16.
        mov $gdt+0x18, %bp
        call setbase
        mov 0x608, %ax
        mov $gdt+0x20, %bp
        call setbase
        mov 0x60a, %ax
        mov $gdt+0x28, %bp
        call setbase
        # Far pointer for the calls: offset EBX, selector 18h.
        mov 0x604, %eax
        mov %eax, 0x5f0
        movw $0x18, 0x5f4
        lgdtl gdtr
        mov %cr0, %eax
        or $1, %al
        mov %eax, %cr0
        ljmpl $0x08, $pm32
setbase:
        # AX = real-mode segment; BP = descriptor.
        mov %ax, %dx
        shl $4, %dx
        mov %dx, 2(%bp)
        shr $12, %ax
        mov %al, 4(%bp)
        ret
fail16:
        movl $0xbad0bad0, 0x63c
1:      hlt
        jmp 1b
        .code32
pm32:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x7000, %esp
        mov $0x530a, %eax
        mov $1, %ebx
        lcall *0x5f0
        setc 0x624
        mov %bx, 0x620
        mov %cx, 0x622
        movl $0x600d600d, 0x63c
        mov $0x5307, %eax
        mov $1, %ebx
        mov $3, %ecx
        lcall *0x5f0
        movl $0xbad0bad0, 0x63c
2:      hlt
        jmp 2b
        .align 8
gdt:
        .quad 0
        .quad 0x00cf9a000000ffff
        .quad 0x00cf92000000ffff
        .quad 0x00409a000000ffff
        .quad 0x00009a000000ffff
        .quad 0x004092000000ffff
gdtr:
        .word 47
        .long gdt
