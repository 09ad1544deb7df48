.code16
.globl _start
_start:
  cli
  xorw %ax,%ax
  movw %ax,%ds
  movw %ax,%es
  movw %ax,%ss
  movw $0x7000,%sp
  sti
  # PCI BIOS installation check
  movw $0xb101,%ax
  xorl %edi,%edi
  int $0x1a
  movl %eax,0x600
  movl %ebx,0x604
  movl %ecx,0x608
  movl %edx,0x60c
  movl %edi,0x610
  # find device 8086:7000 (PIIX3), index 0
  movw $0xb102,%ax
  movw $0x7000,%cx
  movw $0x8086,%dx
  xorw %si,%si
  int $0x1a
  movw %bx,0x614
  setc 0x616
  # find class 030000 (VGA)
  movw $0xb103,%ax
  movl $0x030000,%ecx
  xorw %si,%si
  int $0x1a
  movw %bx,0x618
  setc 0x61a
  # read dword: VGA (devfn 10h) BAR0
  movw $0xb10a,%ax
  movw $0x0010,%bx
  movw $0x10,%di
  int $0x1a
  movl %ecx,0x61c
  # write byte 5Ah to VGA config 3Ch, read it back
  movw $0xb10b,%ax
  movw $0x0010,%bx
  movw $0x3c,%di
  movb $0x5a,%cl
  int $0x1a
  movw $0xb108,%ax
  movw $0x0010,%bx
  movw $0x3c,%di
  xorw %cx,%cx
  int $0x1a
  movb %cl,0x620
  # bad register number for a word read: CF and AH=87h
  movw $0xb109,%ax
  movw $0x0010,%bx
  movw $0x3d,%di
  int $0x1a
  setc 0x621
  movb %ah,0x622
  # IRQ routing options into 0000:0800
  movw $256,0x700
  movw $0x800,0x702
  movw $0,0x704
  movw $0xb10e,%ax
  xorw %bx,%bx
  movw $0x700,%di
  int $0x1a
  movw %bx,0x624
  movw %ax,0x626
  # E820 map to 0000:0900
  xorl %ebx,%ebx
  movw $0x900,%di
e820:
  movl $0xe820,%eax
  movl $0x534d4150,%edx
  movl $20,%ecx
  int $0x15
  jc e820done
  addw $20,%di
  testl %ebx,%ebx
  jnz e820
e820done:
  movw %di,0x628
  # mouse: handler, 3-byte packets (resets the mouse), enable
  movw $0xc207,%ax
  movw $handler,%bx
  int $0x15
  setc 0x62a
  movw $0xc205,%ax
  movb $3,%bh
  int $0x15
  setc 0x62b
  movw %bx,0x62c
  movw $0xc200,%ax
  movb $1,%bh
  int $0x15
  setc 0x62e
  movb %ah,0x62f
  # RTC: set 12:34:56, read it back
  movb $0x03,%ah
  movw $0x1234,%cx
  movw $0x5600,%dx
  int $0x1a
  movb $0x02,%ah
  int $0x1a
  movw %cx,0x630
  movb %dh,0x632
  # INT 14h: send 'Z' on COM1
  movw $0x015a,%ax
  xorw %dx,%dx
  int $0x14
  movb %ah,0x633
  # INT 15h 83h: set bit 7 of 0000:0650 after 200 ms
  movw $0x8300,%ax
  movw $0x0003,%cx
  movw $0x0d40,%dx
  movw $0x650,%bx
  int $0x15
  setc 0x634
wait:
  hlt
  testb $0x80,0x650
  jz wait
  movl $0x600d600d,0x63c
idle:
  hlt
  jmp idle
handler:
  pushw %bp
  movw %sp,%bp
  pushw %ds
  pushw %ax
  xorw %ax,%ax
  movw %ax,%ds
  movw 12(%bp),%ax
  movw %ax,0x640
  movw 10(%bp),%ax
  movw %ax,0x642
  movw 8(%bp),%ax
  movw %ax,0x644
  movw 6(%bp),%ax
  movw %ax,0x646
  incw 0x648
  popw %ax
  popw %ds
  popw %bp
  lret
