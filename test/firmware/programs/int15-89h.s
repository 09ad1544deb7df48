.code16
.globl _start
_start:
  cli
  xorw %ax,%ax
  movw %ax,%ds
  movw %ax,%es
  movw %ax,%ss
  movw $0x7000,%sp
  movb $0x89,%ah
  movw $0x2820,%bx
  movw $gdt,%si
  int $0x15
  jc fail
  movw %cs,0x600
  movw %ds,0x602
  movw %ss,0x604
  movw %es,0x606
  movl %cr0,%eax
  movl %eax,0x608
  pushfw
  popw 0x60c
  movw $0x1f50,%es:0
  movl $0x600d600d,0x63c
fail:
  hlt
  jmp fail
.align 8
gdt:
  .quad 0
  .word 63, gdt
  .byte 0, 0x93, 0, 0
  .word 0x7ff, 0x2000
  .byte 0, 0x93, 0, 0
  .word 0xffff, 0
  .byte 0, 0x93, 0, 0
  .word 0xffff, 0x8000
  .byte 0x0b, 0x93, 0, 0
  .word 0xffff, 0
  .byte 0, 0x93, 0, 0
  .word 0xffff, 0
  .byte 0, 0x9b, 0, 0
  .quad 0
