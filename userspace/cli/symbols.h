/* SPDX-License-Identifier: GPL-2.0 */
/* Instruction addresses of a process to file + symbol, from
 * /proc/PID/maps and the ELF symbol tables (.symtab, else .dynsym).
 */
#ifndef CG_CLI_SYMBOLS_H
#define CG_CLI_SYMBOLS_H

#include <stdint.h>
#include <sys/types.h>

struct sym_loc {
	char path[512];		/* the mapped file; "" for anonymous memory */
	char symbol[256];	/* "" when no symbol covers the address */
	uint64_t offset;	/* from the symbol, else from the file's start */
};

struct sym_cache;

struct sym_cache *sym_cache_new(void);
void sym_cache_free(struct sym_cache *cache);
/* Forget the processes' mappings (they change); keep the ELF files. */
void sym_cache_forget_maps(struct sym_cache *cache);
/* Return 0 with @loc filled, or -errno when the process's maps cannot be
 * read or no mapping holds @ip.
 */
int sym_resolve(struct sym_cache *cache, pid_t pid, uint64_t ip,
		struct sym_loc *loc);

#endif /* CG_CLI_SYMBOLS_H */
