# APM's 16-bit protected-mode interface: 5302h in real mode (AX, BX, CX, SI, DI saved at
# 0:0600-0609), a descriptor for the returned code segment (18h), then in 16-bit protected
# mode far calls through the entry: 530Ah power status (BX, CX and CF at 0:0620-0624) and
# 5307h "off". 600D600Dh at 0:063C before "off", BAD0BAD0h if it returned.
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
        mov $0x5302, %ax
        xor %bx, %bx
        int $0x15
        jc fail
        mov %ax, 0x600
        mov %bx, 0x602
        mov %cx, 0x604
        mov %si, 0x606
        mov %di, 0x608
        # Code segment base = AX * 16 into descriptor 18h.
        mov %ax, %dx
        shl $4, %dx
        mov %dx, gdt+0x18+2
        shr $12, %ax
        mov %al, gdt+0x18+4
        # Far pointer for the calls: offset BX, selector 18h.
        mov 0x602, %ax
        mov %ax, 0x5f0
        movw $0x18, 0x5f2
        lgdtl gdtr
        mov %cr0, %eax
        or $1, %al
        mov %eax, %cr0
        ljmp $0x08, $pm16
pm16:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x530a, %ax
        mov $1, %bx
        lcall *0x5f0
        setc 0x624
        mov %bx, 0x620
        mov %cx, 0x622
        movl $0x600d600d, 0x63c
        mov $0x5307, %ax
        mov $1, %bx
        mov $3, %cx
        lcall *0x5f0
fail:
        movl $0xbad0bad0, 0x63c
1:      hlt
        jmp 1b
        .align 8
gdt:
        .quad 0
        .quad 0x00009a000000ffff
        .quad 0x000092000000ffff
        .quad 0x00009a000000ffff
gdtr:
        .word 31
        .long gdt
