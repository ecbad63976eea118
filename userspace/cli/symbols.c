// SPDX-License-Identifier: GPL-2.0
/*
 * Resolve user instruction addresses to "file symbol+offset" without
 * libelf: the ELF64 headers and symbol tables are read with pread().
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols.h"

struct sym {
	uint64_t value, size;
	char *name;
};

struct load {
	uint64_t offset, vaddr, filesz;
};

/* One ELF file's function symbols, sorted by value. */
struct elf_syms {
	char *path;
	struct sym *syms;
	size_t n;
	struct load *loads;
	size_t nloads;
	struct elf_syms *next;
};

struct mapping {
	uint64_t start, end, offset;
	char *path;
};

/* One process's file mappings. */
struct proc_maps {
	pid_t pid;
	struct mapping *maps;
	size_t n;
	int err;
	struct proc_maps *next;
};

struct sym_cache {
	struct elf_syms *files;
	struct proc_maps *procs;
};

struct sym_cache *sym_cache_new(void)
{
	return calloc(1, sizeof(struct sym_cache));
}

static void free_maps(struct proc_maps *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->maps[i].path);
	free(p->maps);
	free(p);
}

void sym_cache_forget_maps(struct sym_cache *cache)
{
	struct proc_maps *p, *next;

	for (p = cache->procs; p; p = next) {
		next = p->next;
		free_maps(p);
	}
	cache->procs = NULL;
}

void sym_cache_free(struct sym_cache *cache)
{
	struct elf_syms *f, *next;
	size_t i;

	if (!cache)
		return;
	sym_cache_forget_maps(cache);
	for (f = cache->files; f; f = next) {
		next = f->next;
		for (i = 0; i < f->n; i++)
			free(f->syms[i].name);
		free(f->syms);
		free(f->loads);
		free(f->path);
		free(f);
	}
	free(cache);
}

static struct proc_maps *read_maps(pid_t pid)
{
	struct proc_maps *p = calloc(1, sizeof(*p));
	char file[64], *line = NULL;
	size_t cap = 0, len = 0;
	FILE *f;

	if (!p)
		return NULL;
	p->pid = pid;
	snprintf(file, sizeof(file), "/proc/%d/maps", (int)pid);
	f = fopen(file, "re");
	if (!f) {
		p->err = -errno;
		return p;
	}
	while (getline(&line, &len, f) > 0) {
		uint64_t start, end, offset;
		struct mapping *m;
		int path_at = 0;
		char *path;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %n",
			   &start, &end, &offset, &path_at) < 3 || !path_at)
			continue;
		path = line + path_at;
		path[strcspn(path, "\n")] = '\0';
		if (p->n == cap) {
			cap = cap ? 2 * cap : 64;
			m = realloc(p->maps, cap * sizeof(*m));
			if (!m)
				break;
			p->maps = m;
		}
		m = &p->maps[p->n];
		m->start = start;
		m->end = end;
		m->offset = offset;
		m->path = strdup(path);
		if (m->path)
			p->n++;
	}
	free(line);
	fclose(f);
	return p;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : -EIO;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->value < y->value ? -1 : x->value > y->value;
}

/* Append the function symbols of symbol table @sh (strings in @strh). */
static int load_symtab(int fd, const Elf64_Shdr *sh, const Elf64_Shdr *strh,
		       struct elf_syms *f)
{
	size_t count = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	Elf64_Sym *syms = NULL;
	char *strs = NULL;
	struct sym *grown;
	size_t i;
	int ret = -ENOMEM;

	if (!count || sh->sh_entsize != sizeof(Elf64_Sym) ||
	    count > (1u << 24) || strh->sh_size > (1u << 28))
		return 0;
	syms = malloc(count * sizeof(*syms));
	strs = malloc(strh->sh_size + 1);
	grown = realloc(f->syms, (f->n + count) * sizeof(*f->syms));
	if (!syms || !strs || !grown)
		goto out;
	f->syms = grown;
	ret = -EIO;
	if (read_at(fd, syms, count * sizeof(*syms), sh->sh_offset) ||
	    read_at(fd, strs, strh->sh_size, strh->sh_offset))
		goto out;
	strs[strh->sh_size] = '\0';
	for (i = 0; i < count; i++) {
		int type = ELF64_ST_TYPE(syms[i].st_info);
		struct sym *s;

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    !syms[i].st_value || syms[i].st_shndx == SHN_UNDEF ||
		    syms[i].st_name >= strh->sh_size)
			continue;
		s = &f->syms[f->n];
		s->value = syms[i].st_value;
		s->size = syms[i].st_size;
		s->name = strdup(strs + syms[i].st_name);
		if (s->name)
			f->n++;
	}
	ret = 0;
out:
	free(syms);
	free(strs);
	return ret;
}

static void load_elf(int fd, struct elf_syms *f)
{
	Elf64_Shdr *sh = NULL;
	Elf64_Phdr ph;
	Elf64_Ehdr eh;
	int i, have_symtab = 0;

	if (read_at(fd, &eh, sizeof(eh), 0) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph) || eh.e_shentsize != sizeof(*sh))
		return;
	f->loads = calloc(eh.e_phnum ? eh.e_phnum : 1, sizeof(*f->loads));
	for (i = 0; f->loads && i < eh.e_phnum; i++) {
		if (read_at(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)))
			break;
		if (ph.p_type != PT_LOAD)
			continue;
		f->loads[f->nloads].offset = ph.p_offset;
		f->loads[f->nloads].vaddr = ph.p_vaddr;
		f->loads[f->nloads].filesz = ph.p_filesz;
		f->nloads++;
	}
	sh = calloc(eh.e_shnum ? eh.e_shnum : 1, sizeof(*sh));
	if (!sh || read_at(fd, sh, eh.e_shnum * sizeof(*sh), eh.e_shoff))
		goto out;
	for (i = 0; i < eh.e_shnum; i++)
		have_symtab |= sh[i].sh_type == SHT_SYMTAB;
	/* .symtab is a superset of .dynsym when the file is not stripped. */
	for (i = 0; i < eh.e_shnum; i++) {
		int want = have_symtab ? SHT_SYMTAB : SHT_DYNSYM;

		if (sh[i].sh_type == (Elf64_Word)want && sh[i].sh_link < eh.e_shnum)
			load_symtab(fd, &sh[i], &sh[sh[i].sh_link], f);
	}
	qsort(f->syms, f->n, sizeof(*f->syms), sym_cmp);
out:
	free(sh);
}

static struct elf_syms *get_elf(struct sym_cache *cache, pid_t pid,
				const char *path)
{
	char rooted[600];
	struct elf_syms *f;
	int fd;

	for (f = cache->files; f; f = f->next)
		if (!strcmp(f->path, path))
			return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	/* The process's own root first: it may live in a container. */
	snprintf(rooted, sizeof(rooted), "/proc/%d/root%s", (int)pid, path);
	fd = open(rooted, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		load_elf(fd, f);
		close(fd);
	}
	f->next = cache->files;
	cache->files = f;
	return f;
}

static struct proc_maps *get_maps(struct sym_cache *cache, pid_t pid)
{
	struct proc_maps *p;

	for (p = cache->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	p = read_maps(pid);
	if (p) {
		p->next = cache->procs;
		cache->procs = p;
	}
	return p;
}

/* The symbol covering @vaddr, or NULL. */
static const struct sym *find_sym(const struct elf_syms *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->n;
	const struct sym *s;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].value <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &f->syms[lo - 1];
	return !s->size || vaddr < s->value + s->size ? s : NULL;
}

int sym_resolve(struct sym_cache *cache, pid_t pid, uint64_t ip,
		struct sym_loc *loc)
{
	struct proc_maps *p = get_maps(cache, pid);
	const struct mapping *m = NULL;
	const struct elf_syms *f;
	uint64_t file_off;
	size_t i;

	memset(loc, 0, sizeof(*loc));
	loc->offset = ip;
	if (!p)
		return -ENOMEM;
	if (p->err)
		return p->err;
	for (i = 0; i < p->n && !m; i++)
		if (ip >= p->maps[i].start && ip < p->maps[i].end)
			m = &p->maps[i];
	if (!m)
		return -ENOENT;
	if (m->path[0] != '/') {
		/* Anonymous or special: [heap], JIT code... */
		snprintf(loc->path, sizeof(loc->path), "%s", m->path);
		loc->offset = ip - m->start;
		return 0;
	}
	snprintf(loc->path, sizeof(loc->path), "%s", m->path);
	file_off = ip - m->start + m->offset;
	loc->offset = file_off;
	f = get_elf(cache, pid, m->path);
	if (!f)
		return 0;
	for (i = 0; i < f->nloads; i++) {
		const struct load *l = &f->loads[i];
		const struct sym *s;

		if (file_off < l->offset || file_off - l->offset >= l->filesz)
			continue;
		s = find_sym(f, l->vaddr + (file_off - l->offset));
		if (s) {
			snprintf(loc->symbol, sizeof(loc->symbol), "%s", s->name);
			loc->offset = l->vaddr + (file_off - l->offset) - s->value;
		}
		break;
	}
	return 0;
}
