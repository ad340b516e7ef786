/*
 * image.c - the ELF file: sections, function symbols, PLT stubs and GOT slots
 * of external functions, and DWARF line tables (libelf, libdw).
 * Everything read from the file is bounds-checked: a truncated or corrupt file
 * gives an error, never a crash.
 */
#include <capstone/capstone.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wcet_internal.h"

static int sym_cmp(const void *a, const void *b) {
    const wc_symbol *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* a global name before a local one at the same address: keep the size */
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int line_cmp(const void *a, const void *b) {
    const wc_line *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return 0;
}

static const char *intern_file(wc_image *img, const char *f) {
    for (int i = img->nfiles - 1; i >= 0; i--)
        if (strcmp(img->files[i], f) == 0)
            return img->files[i];
    WC_GROW(img->files, img->nfiles, img->capfiles);
    img->files[img->nfiles] = wc_xstrdup(f);
    return img->files[img->nfiles++];
}

static void load_lines(wc_image *img) {
    Dwarf *dw = dwarf_begin_elf((Elf *)img->elf, DWARF_C_READ, NULL);
    if (!dw)
        return;
    img->dwarf = dw;
    Dwarf_Off off = 0, next;
    size_t hsize;
    while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + hsize, &cu)) {
            Dwarf_Lines *lines;
            size_t n;
            if (dwarf_getsrclines(&cu, &lines, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                    Dwarf_Line *l = dwarf_onesrcline(lines, i);
                    Dwarf_Addr a;
                    int ln;
                    bool end = false;
                    if (!l || dwarf_lineaddr(l, &a) || dwarf_lineno(l, &ln))
                        continue;
                    dwarf_lineendsequence(l, &end);
                    const char *f = dwarf_linesrc(l, NULL, NULL);
                    WC_GROW(img->lines, img->nlines, img->caplines);
                    img->lines[img->nlines].addr = a;
                    img->lines[img->nlines].file = end || !f ? NULL : intern_file(img, f);
                    img->lines[img->nlines].line = end ? 0 : ln;
                    img->nlines++;
                }
            }
        }
        off = next;
    }
    if (img->nlines)
        qsort(img->lines, (size_t)img->nlines, sizeof *img->lines, line_cmp);
}

/* The PLT: stubs `jmp [rip+GOT]` in .plt, .plt.sec and .plt.got, named by the
 * relocation of their GOT slot. */
static void load_plt(wc_image *img) {
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return;
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    for (int s = 0; s < img->nsecs; s++) {
        wc_section *sec = &img->secs[s];
        if (strncmp(sec->name, ".plt", 4) != 0 || sec->nobits)
            continue;
        size_t avail;
        const unsigned char *code = wc_image_bytes(img, sec->addr, &avail);
        if (!code)
            continue;
        size_t len = sec->size < avail ? sec->size : avail;
        for (uint64_t ent = 0; ent + 4 <= len; ent += 16) {
            /* each entry is 16 bytes; the jmp may follow an endbr64 */
            const uint8_t *p = code + ent;
            uint64_t a = sec->addr + ent;
            size_t left = len - ent < 16 ? len - ent : 16;
            cs_insn *insn = NULL;
            size_t cnt = cs_disasm(cs, p, left, a, 3, &insn);
            for (size_t i = 0; i < cnt; i++) {
                cs_x86 *x = &insn[i].detail->x86;
                if (insn[i].id == X86_INS_JMP && x->op_count == 1 &&
                    x->operands[0].type == X86_OP_MEM && x->operands[0].mem.base == X86_REG_RIP) {
                    uint64_t got =
                        insn[i].address + insn[i].size + (uint64_t)x->operands[0].mem.disp;
                    const char *name = wc_image_got_name(img, got);
                    if (name) {
                        WC_GROW(img->plts, img->nplts, img->capplts_);
                        img->plts[img->nplts].addr = a;
                        img->plts[img->nplts].name = wc_xstrdup(name);
                        img->nplts++;
                    }
                    break;
                }
            }
            if (cnt)
                cs_free(insn, cnt);
        }
    }
    cs_close(&cs);
}

static int load(wc_image *img, char *err, size_t errlen) {
    elf_version(EV_CURRENT);
    if (img->size < 64 || memcmp(img->data, ELFMAG, SELFMAG) != 0) {
        snprintf(err, errlen, "%s: not an ELF file", img->path);
        return -1;
    }
    if (img->data[EI_CLASS] != ELFCLASS64) {
        snprintf(err, errlen, "%s: a 32-bit ELF file; keel-wcet analyses x86-64 binaries",
                 img->path);
        return -1;
    }
    Elf *elf = elf_memory((char *)img->data, img->size);
    if (!elf) {
        snprintf(err, errlen, "%s: corrupt ELF file (%s)", img->path, elf_errmsg(-1));
        return -1;
    }
    img->elf = elf;
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf, &eh)) {
        snprintf(err, errlen, "%s: corrupt ELF header (%s)", img->path, elf_errmsg(-1));
        return -1;
    }
    if (eh.e_machine != EM_X86_64) {
        snprintf(err, errlen,
                 "%s: ELF for another architecture (e_machine %u); keel-wcet analyses x86-64",
                 img->path, (unsigned)eh.e_machine);
        return -1;
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        snprintf(err, errlen, "%s: not an executable or shared object (ELF type %u)", img->path,
                 (unsigned)eh.e_type);
        return -1;
    }
    img->pie = eh.e_type == ET_DYN;
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
        snprintf(err, errlen, "%s: corrupt ELF file: no section name table (%s)", img->path,
                 elf_errmsg(-1));
        return -1;
    }
    Elf_Scn *scn = NULL;
    int capsecs = 0;
    img->text_lo = UINT64_MAX;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
        WC_GROW(img->secs, img->nsecs, capsecs);
        wc_section *s = &img->secs[img->nsecs++];
        s->name = wc_xstrdup(name ? name : "?");
        s->addr = sh.sh_addr;
        s->size = sh.sh_size;
        s->offset = sh.sh_offset;
        s->alloc = (sh.sh_flags & SHF_ALLOC) != 0;
        s->exec = (sh.sh_flags & SHF_EXECINSTR) != 0;
        s->write = (sh.sh_flags & SHF_WRITE) != 0;
        s->nobits = sh.sh_type == SHT_NOBITS;
        if (!s->nobits && (sh.sh_offset > img->size || sh.sh_size > img->size - sh.sh_offset)) {
            /* truncated: keep the section but never read past the file */
            s->size = sh.sh_offset > img->size ? 0 : img->size - sh.sh_offset;
            s->nobits = s->size == 0;
        }
        if (s->exec && s->alloc && s->size) {
            if (s->addr < img->text_lo)
                img->text_lo = s->addr;
            if (s->addr + s->size > img->text_hi)
                img->text_hi = s->addr + s->size;
        }
        /* dynamic: shared object or PIE */
        if (sh.sh_type == SHT_DYNAMIC && eh.e_type == ET_DYN) {
            Elf_Data *d = elf_getdata(scn, NULL);
            GElf_Dyn dyn;
            bool pie = false;
            for (int i = 0; d && gelf_getdyn(d, i, &dyn); i++)
                if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE))
                    pie = true;
            img->shared = !pie;
        }
        if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d || sh.sh_entsize == 0)
                continue;
            size_t n = sh.sh_size / sh.sh_entsize;
            for (size_t i = 0; i < n; i++) {
                GElf_Sym sym;
                if (!gelf_getsym(d, (int)i, &sym))
                    break;
                int type = GELF_ST_TYPE(sym.st_info);
                if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
                    sym.st_value == 0)
                    continue;
                const char *nm = elf_strptr(elf, sh.sh_link, sym.st_name);
                if (!nm || !*nm)
                    continue;
                WC_GROW(img->syms, img->nsyms, img->capsyms_);
                img->syms[img->nsyms].name = wc_xstrdup(nm);
                img->syms[img->nsyms].addr = sym.st_value;
                img->syms[img->nsyms].size = sym.st_size;
                img->syms[img->nsyms].func = true;
                img->nsyms++;
            }
        }
        if (sh.sh_type == SHT_RELA) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d || sh.sh_entsize == 0)
                continue;
            Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
            GElf_Shdr symsh;
            if (!symscn || !gelf_getshdr(symscn, &symsh))
                continue;
            Elf_Data *sd = elf_getdata(symscn, NULL);
            size_t n = sh.sh_size / sh.sh_entsize;
            for (size_t i = 0; i < n && sd; i++) {
                GElf_Rela r;
                if (!gelf_getrela(d, (int)i, &r))
                    break;
                unsigned long type = GELF_R_TYPE(r.r_info);
                if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                    continue;
                GElf_Sym sym;
                if (!gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &sym))
                    continue;
                const char *nm = elf_strptr(elf, symsh.sh_link, sym.st_name);
                if (!nm || !*nm)
                    continue;
                WC_GROW(img->gots, img->ngots, img->capgots_);
                img->gots[img->ngots].addr = r.r_offset;
                img->gots[img->ngots].name = wc_xstrdup(nm);
                img->ngots++;
            }
        }
    }
    if (img->nsecs == 0) {
        snprintf(err, errlen, "%s: corrupt or truncated ELF file: no sections", img->path);
        return -1;
    }
    if (img->text_lo == UINT64_MAX) {
        snprintf(err, errlen, "%s: no executable code", img->path);
        return -1;
    }
    if (img->nsyms) {
        qsort(img->syms, (size_t)img->nsyms, sizeof *img->syms, sym_cmp);
        /* one symbol per address */
        int k = 0;
        for (int i = 0; i < img->nsyms; i++) {
            if (k && img->syms[k - 1].addr == img->syms[i].addr) {
                free(img->syms[i].name);
                continue;
            }
            img->syms[k++] = img->syms[i];
        }
        img->nsyms = k;
    }
    load_plt(img);
    load_lines(img);
    return 0;
}

int wc_image_open_mem(wc_image *img, const void *data, size_t size, char *err, size_t errlen) {
    memset(img, 0, sizeof *img);
    img->fd = -1;
    if (!img->path)
        img->path = wc_xstrdup("<memory>");
    img->data = wc_xcalloc(size ? size : 1, 1);
    if (size)
        memcpy(img->data, data, size);
    img->size = size;
    return load(img, err, errlen);
}

int wc_image_open(wc_image *img, const char *path, char *err, size_t errlen) {
    memset(img, 0, sizeof *img);
    img->fd = -1;
    img->path = wc_xstrdup(path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    img->size = (size_t)st.st_size;
    img->data = wc_xcalloc(img->size ? img->size : 1, 1);
    size_t got = 0;
    while (got < img->size) {
        ssize_t r = read(fd, img->data + got, img->size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != img->size) {
        snprintf(err, errlen, "%s: cannot read the file", path);
        return -1;
    }
    return load(img, err, errlen);
}

void wc_image_close(wc_image *img) {
    if (img->dwarf)
        dwarf_end((Dwarf *)img->dwarf);
    if (img->elf)
        elf_end((Elf *)img->elf);
    for (int i = 0; i < img->nsecs; i++)
        free(img->secs[i].name);
    for (int i = 0; i < img->nsyms; i++)
        free(img->syms[i].name);
    for (int i = 0; i < img->nplts; i++)
        free(img->plts[i].name);
    for (int i = 0; i < img->ngots; i++)
        free(img->gots[i].name);
    for (int i = 0; i < img->nfiles; i++)
        free(img->files[i]);
    free(img->secs);
    free(img->syms);
    free(img->plts);
    free(img->gots);
    free(img->lines);
    free(img->files);
    free(img->data);
    free(img->path);
    memset(img, 0, sizeof *img);
}

const unsigned char *wc_image_bytes(const wc_image *img, uint64_t addr, size_t *avail) {
    for (int i = 0; i < img->nsecs; i++) {
        const wc_section *s = &img->secs[i];
        if (!s->alloc || s->nobits || addr < s->addr || addr - s->addr >= s->size)
            continue;
        *avail = (size_t)(s->size - (addr - s->addr));
        return img->data + s->offset + (addr - s->addr);
    }
    *avail = 0;
    return NULL;
}

bool wc_image_is_exec(const wc_image *img, uint64_t addr) {
    for (int i = 0; i < img->nsecs; i++) {
        const wc_section *s = &img->secs[i];
        if (s->alloc && s->exec && !s->nobits && addr >= s->addr && addr - s->addr < s->size)
            return true;
    }
    return false;
}

bool wc_image_is_readonly(const wc_image *img, uint64_t addr) {
    for (int i = 0; i < img->nsecs; i++) {
        const wc_section *s = &img->secs[i];
        if (s->alloc && !s->nobits && addr >= s->addr && addr - s->addr < s->size)
            return !s->write && !s->exec && strncmp(s->name, ".rodata", 7) == 0;
    }
    return false;
}

const wc_symbol *wc_image_symbol(const wc_image *img, const char *name) {
    for (int i = 0; i < img->nsyms; i++)
        if (strcmp(img->syms[i].name, name) == 0)
            return &img->syms[i];
    return NULL;
}

const wc_symbol *wc_image_symbol_at(const wc_image *img, uint64_t addr) {
    int lo = 0, hi = img->nsyms - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (img->syms[mid].addr == addr)
            return &img->syms[mid];
        if (img->syms[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const wc_symbol *wc_image_symbol_containing(const wc_image *img, uint64_t addr) {
    int lo = 0, hi = img->nsyms - 1, best = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (img->syms[mid].addr <= addr) {
            best = mid;
            lo = mid + 1;
        } else
            hi = mid - 1;
    }
    if (best < 0)
        return NULL;
    const wc_symbol *s = &img->syms[best];
    if (addr < s->addr + (s->size ? s->size : 1))
        return s;
    return NULL;
}

const char *wc_image_plt_name(const wc_image *img, uint64_t addr) {
    for (int i = 0; i < img->nplts; i++)
        if (img->plts[i].addr == addr)
            return img->plts[i].name;
    return NULL;
}

const char *wc_image_got_name(const wc_image *img, uint64_t addr) {
    for (int i = 0; i < img->ngots; i++)
        if (img->gots[i].addr == addr)
            return img->gots[i].name;
    return NULL;
}

int wc_image_line(const wc_image *img, uint64_t addr, const char **file) {
    *file = NULL;
    int lo = 0, hi = img->nlines - 1, best = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (img->lines[mid].addr <= addr) {
            best = mid;
            lo = mid + 1;
        } else
            hi = mid - 1;
    }
    /* several rows at one address: the last one with a file wins */
    while (best >= 0 && !img->lines[best].file && best > 0 &&
           img->lines[best - 1].addr == img->lines[best].addr)
        best--;
    if (best < 0 || !img->lines[best].file)
        return 0;
    *file = img->lines[best].file;
    return img->lines[best].line;
}

static int die_size(Dwarf_Die *die) {
    Dwarf_Attribute at;
    Dwarf_Die type;
    if (!dwarf_attr_integrate(die, DW_AT_type, &at) || !dwarf_formref_die(&at, &type))
        return 8;
    for (int guard = 0; guard < 16; guard++) {
        Dwarf_Word sz;
        if (dwarf_attr(&type, DW_AT_byte_size, &at) && dwarf_formudata(&at, &sz) == 0)
            return (int)sz;
        if (!dwarf_attr(&type, DW_AT_type, &at) || !dwarf_formref_die(&at, &type))
            return 8;
    }
    return 8;
}

static bool die_is_float(Dwarf_Die *die) {
    Dwarf_Attribute at;
    Dwarf_Die type;
    if (!dwarf_attr_integrate(die, DW_AT_type, &at) || !dwarf_formref_die(&at, &type))
        return false;
    for (int guard = 0; guard < 16; guard++) {
        int tag = dwarf_tag(&type);
        if (tag == DW_TAG_base_type) {
            Dwarf_Word enc;
            if (dwarf_attr(&type, DW_AT_encoding, &at) && dwarf_formudata(&at, &enc) == 0)
                return enc == DW_ATE_float;
            return false;
        }
        if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type)
            return false;
        if (!dwarf_attr(&type, DW_AT_type, &at) || !dwarf_formref_die(&at, &type))
            return false;
    }
    return false;
}

static int params_in_cu(Dwarf_Die *cu, uint64_t addr, char names[][64], bool isfloat[], int sizes[],
                        int max);

int wc_image_params(const wc_image *img, uint64_t addr, char names[][64], bool isfloat[],
                    int sizes[], int max) {
    if (!img->dwarf)
        return -1;
    Dwarf *dw = (Dwarf *)img->dwarf;
    Dwarf_Off off = 0, next;
    size_t hsize;
    /* every CU (clang emits no .debug_aranges for dwarf_addrdie) */
    while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        Dwarf_Off cuoff = off + hsize;
        off = next;
        if (!dwarf_offdie(dw, cuoff, &cu))
            continue;
        int n = params_in_cu(&cu, addr, names, isfloat, sizes, max);
        if (n >= 0)
            return n;
    }
    return -1;
}

static int params_in_cu(Dwarf_Die *cu, uint64_t addr, char names[][64], bool isfloat[], int sizes[],
                        int max) {
    Dwarf_Die child;
    if (dwarf_child(cu, &child) != 0)
        return -1;
    do {
        if (dwarf_tag(&child) != DW_TAG_subprogram)
            continue;
        Dwarf_Addr low;
        bool match = dwarf_lowpc(&child, &low) == 0 && low == addr;
        if (!match) {
            /* split functions (hot and .cold parts) have DW_AT_ranges */
            Dwarf_Addr base, start, end;
            ptrdiff_t o = 0;
            while (!match && (o = dwarf_ranges(&child, o, &base, &start, &end)) > 0)
                match = start == addr;
        }
        if (!match)
            continue;
        int n = 0;
        Dwarf_Die p;
        if (dwarf_child(&child, &p) != 0)
            return 0;
        do {
            if (dwarf_tag(&p) != DW_TAG_formal_parameter || n >= max)
                continue;
            const char *nm = dwarf_diename(&p);
            snprintf(names[n], 64, "%s", nm ? nm : "");
            isfloat[n] = die_is_float(&p);
            sizes[n] = die_size(&p);
            n++;
        } while (dwarf_siblingof(&p, &p) == 0);
        return n;
    } while (dwarf_siblingof(&child, &child) == 0);
    return -1;
}
