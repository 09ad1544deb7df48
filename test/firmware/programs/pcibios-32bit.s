.code16
.globl _start
_start:
  cli
  xorw %ax,%ax
  movw %ax,%ds
  lgdtl gdtr
  movl %cr0,%eax
  orb $1,%al
  movl %eax,%cr0
  ljmpl $0x08,$pm32
.code32
pm32:
  movw $0x10,%ax
  movw %ax,%ds
  movw %ax,%es
  movw %ax,%ss
  movl $0x7000,%esp
  movl $0x49435024,%eax
  xorl %ebx,%ebx
  lcall *0x5f0
  movl %eax,0x600
  movl %ebx,0x604
  movl %ecx,0x608
  movl %edx,0x60c
  addl %edx,%ebx
  movl %ebx,0x5f8
  movw $0x08,0x5fc
  movl $0xb101,%eax
  lcall *0x5f8
  movl %eax,0x610
  movl %ebx,0x614
  movl %ecx,0x618
  movl %edx,0x61c
  movl $0xb10a,%eax
  movl $0x0008,%ebx
  xorl %edi,%edi
  lcall *0x5f8
  movl %ecx,0x620
  setc 0x624
  movl %eax,0x628
  movl $0xb102,%eax
  movl $0x7113,%ecx
  movl $0x8086,%edx
  xorl %esi,%esi
  lcall *0x5f8
  movl %ebx,0x62c
  movl %eax,0x630
  movl $0xb102,%eax
  movl $0x1234,%ecx
  movl $0x5678,%edx
  xorl %esi,%esi
  lcall *0x5f8
  setc 0x634
  movl %eax,0x638
  movl $0x600d600d,0x63c
1: hlt
  jmp 1b
.align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtr:
  .word 23
  .long gdt
