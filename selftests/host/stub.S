/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Template that test_emulate copies into an executable page, puts one
 * instruction into the slot, and calls as void (*)(void). It loads all
 * sixteen registers and RFLAGS from its data block, runs the slot, and
 * stores them all back. Every data access is RIP-relative so the copy works
 * anywhere and needs no free register or stack while the test state is
 * live (%rsp is just another operand then).
 */
	.section .rodata.cgstub,"a"
	.balign 64
	.globl cg_stub_start, cg_stub_slot, cg_stub_data, cg_stub_end
cg_stub_start:
	mov	%rbx, d_host+0(%rip)
	mov	%rbp, d_host+8(%rip)
	mov	%r12, d_host+16(%rip)
	mov	%r13, d_host+24(%rip)
	mov	%r14, d_host+32(%rip)
	mov	%r15, d_host+40(%rip)
	mov	%rsp, d_host+48(%rip)
	pushq	d_in_flags(%rip)
	popfq
	/* mov leaves the flags alone */
	mov	d_in+0*8(%rip), %rax
	mov	d_in+1*8(%rip), %rcx
	mov	d_in+2*8(%rip), %rdx
	mov	d_in+3*8(%rip), %rbx
	mov	d_in+5*8(%rip), %rbp
	mov	d_in+6*8(%rip), %rsi
	mov	d_in+7*8(%rip), %rdi
	mov	d_in+8*8(%rip), %r8
	mov	d_in+9*8(%rip), %r9
	mov	d_in+10*8(%rip), %r10
	mov	d_in+11*8(%rip), %r11
	mov	d_in+12*8(%rip), %r12
	mov	d_in+13*8(%rip), %r13
	mov	d_in+14*8(%rip), %r14
	mov	d_in+15*8(%rip), %r15
	mov	d_in+4*8(%rip), %rsp
cg_stub_slot:
	.fill	16, 1, 0x90
	mov	%rax, d_out+0*8(%rip)
	mov	%rcx, d_out+1*8(%rip)
	mov	%rdx, d_out+2*8(%rip)
	mov	%rbx, d_out+3*8(%rip)
	mov	%rsp, d_out+4*8(%rip)
	mov	%rbp, d_out+5*8(%rip)
	mov	%rsi, d_out+6*8(%rip)
	mov	%rdi, d_out+7*8(%rip)
	mov	%r8, d_out+8*8(%rip)
	mov	%r9, d_out+9*8(%rip)
	mov	%r10, d_out+10*8(%rip)
	mov	%r11, d_out+11*8(%rip)
	mov	%r12, d_out+12*8(%rip)
	mov	%r13, d_out+13*8(%rip)
	mov	%r14, d_out+14*8(%rip)
	mov	%r15, d_out+15*8(%rip)
	mov	d_host+48(%rip), %rsp
	pushfq
	popq	d_out_flags(%rip)
	cld
	mov	d_host+0(%rip), %rbx
	mov	d_host+8(%rip), %rbp
	mov	d_host+16(%rip), %r12
	mov	d_host+24(%rip), %r13
	mov	d_host+32(%rip), %r14
	mov	d_host+40(%rip), %r15
	ret
	.balign 64
/* Layout must match struct stub_data in test_emulate.c. */
cg_stub_data:
d_in:		.fill	16, 8, 0
d_in_flags:	.quad	0
d_out:		.fill	16, 8, 0
d_out_flags:	.quad	0
d_host:		.fill	8, 8, 0
cg_stub_end:
	.section .note.GNU-stack,"",@progbits
