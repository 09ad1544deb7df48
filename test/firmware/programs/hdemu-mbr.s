# MBR of the El Torito hard-disk-emulation image built by test/firmware/eltorito.test.ts.
# Prints a marker and the drive it was booted from, reads the first sector of its own
# partition with CHS (AH=02h, the partition entry's start CHS) and the next one with the LBA
# extensions (AH=42h) and prints the text in each, tries a write (prints AH), reads sector 0 of
# drive 81h (the IDE disk that moved up) and prints its text, and stores AH=08h's CX/DX at
# 0:0602, the write's AH at 0:0606 and the 4B01h specification packet at 0:0700 (CF at 0:0601).
# as --32 -o x.o x.s && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o x.bin x.o
        .code16
        .text
        .globl _start
_start:
        cli
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x7c00, %sp
        sti
        mov %dl, 0x600
        mov $msg_mbr, %si
        call print
        mov 0x600, %al
        call hex8
        mov $crlf, %si
        call print
        # Geometry (AH=08h).
        mov $0x08, %ah
        mov $0x80, %dl
        int $0x13
        mov %cx, 0x602
        mov %dx, 0x604
        # CHS read of the partition's first sector.
        mov 0x7dbf, %dh
        mov 0x7dc0, %cx
        mov $0x80, %dl
        mov $0x8000, %bx
        mov $0x0201, %ax
        int $0x13
        jc fail
        mov $0x8000, %si
        call print
        mov $crlf, %si
        call print
        # LBA read (AH=42h) of the next one.
        mov 0x7dc6, %eax
        inc %eax
        mov %eax, dap+8
        mov $dap, %si
        mov $0x42, %ah
        mov $0x80, %dl
        int $0x13
        jc fail
        mov $0x8200, %si
        call print
        mov $crlf, %si
        call print
        # A write must be refused (write-protected).
        mov $0x0301, %ax
        mov $0x0001, %cx
        xor %dh, %dh
        mov $0x80, %dl
        mov $0x8000, %bx
        int $0x13
        mov %ah, 0x606
        mov $msg_w, %si
        call print
        mov 0x606, %al
        call hex8
        mov $crlf, %si
        call print
        # The IDE disk is drive 81h now.
        mov $0x0201, %ax
        mov $0x0001, %cx
        xor %dh, %dh
        mov $0x81, %dl
        mov $0x8400, %bx
        int $0x13
        jc fail
        mov $0x8400, %si
        call print
        mov $crlf, %si
        call print
        # El Torito status (4B01h).
        mov $0x4b01, %ax
        mov $0x80, %dl
        mov $0x700, %si
        int $0x13
        setc 0x601
        mov $msg_done, %si
        call print
halt:   hlt
        jmp halt
fail:
        mov $msg_fail, %si
        call print
        jmp halt

print:
        lodsb
        or %al, %al
        jz 1f
        mov $0x0e, %ah
        mov $0x0007, %bx
        int $0x10
        jmp print
1:      ret

hex8:
        push %ax
        shr $4, %al
        call nib
        pop %ax
        and $0x0f, %al
nib:
        add $0x30, %al
        cmp $0x39, %al
        jbe 1f
        add $7, %al
1:      mov $0x0e, %ah
        mov $0x0007, %bx
        int $0x10
        ret

dap:    .byte 0x10, 0
        .word 1, 0x8200, 0
        .long 0, 0
msg_mbr:  .asciz "HDEMU-MBR DL="
msg_w:    .asciz "WRITE AH="
msg_done: .asciz "HDEMU-DONE"
msg_fail: .asciz "HDEMU-FAIL"
crlf:     .asciz "\r\n"
