/* Turns the kernel-time C of compiler/kernel_c/ into C strings for the
 * emitters (run by make; the output is build/gen/kernel_text.c).
 *
 *   embed_text OUT.c INPUT...
 *
 * An input is an ordinary C file, compiled on its own as a check. Only the
 * text between marker lines is embedded, each span as one string:
 *
 *   / * @text NAME * /            starts the string NAME (spaces as written:
 *   / * @text NAME @fns PREFIX * / "/" "*" without the space)
 *   / * @end * /                   ends it
 *
 * Marker lines themselves are not part of any string; lines outside spans
 * (includes and comments for the standalone check) are dropped. With @fns,
 * the span's functions marked NTKC_FN (the image runtime's entry points)
 * also give PREFIX_decls (their prototypes, one a line), PREFIX_names and
 * PREFIX_count. Every string NAME also gets NAME_parts: its pieces and the
 * call graph of its static functions (tools/kernel_calls.c), by which the
 * emitters leave out what a net does not call. Every name is declared in
 * compiler/emit/kernel_text.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_calls.h"

enum { MAX_LINE = 4096, MAX_FNS = 256 };

typedef struct Span {
    char name[128];
    char fns[128]; /* the @fns prefix, or "" */
    int open;
    int nfns;
    char *sig[MAX_FNS]; /* NTKC_FN signatures, whitespace collapsed */
    char *sig_acc;      /* the signature being read, until its '{' */
    char *text;         /* the span's text so far */
} Span;

static void die(const char *file, int line, const char *msg)
{
    fprintf(stderr, "embed_text: %s:%d: %s\n", file, line, msg);
    exit(1);
}

static void put_literal_line(FILE *out, const char *s)
{
    fputs("    \"", out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == '"')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p == '?' && p[1] == '?') /* no trigraphs */
            fputs("\\?", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\%03o", *p);
        else
            fputc(*p, out);
    }
    fputs("\"\n", out);
}

/* Copies s with every run of whitespace as one space, trimmed. */
static char *collapse(const char *s)
{
    char *r = malloc(strlen(s) + 1), *w = r;
    if (!r)
        die("embed_text", 0, "out of memory");
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            if (w > r && w[-1] != ' ')
                *w++ = ' ';
        } else {
            *w++ = *s;
        }
    }
    while (w > r && w[-1] == ' ')
        w--;
    *w = '\0';
    return r;
}

/* *acc with text appended (*acc NULL: empty). */
static void append(char **acc, const char *text, size_t n)
{
    size_t old = *acc ? strlen(*acc) : 0;
    char *r = realloc(*acc, old + n + 1);
    if (!r)
        die("embed_text", 0, "out of memory");
    memcpy(r + old, text, n);
    r[old + n] = '\0';
    *acc = r;
}

static void sig_append(Span *sp, const char *text, size_t n) { append(&sp->sig_acc, text, n); }

/* Collects NTKC_FN signatures: from "NTKC_FN " at a line's start to the first '{'. */
static void scan_fns(Span *sp, const char *line, const char *file, int lineno)
{
    const char *from = NULL;
    if (!sp->sig_acc && strncmp(line, "NTKC_FN ", 8) == 0) {
        from = line + 8;
        sig_append(sp, "", 0);
    } else if (sp->sig_acc) {
        from = line;
    }
    if (!from)
        return;
    const char *brace = strchr(from, '{');
    sig_append(sp, from, brace ? (size_t)(brace - from) : strlen(from));
    if (!brace)
        return;
    if (sp->nfns == MAX_FNS)
        die(file, lineno, "too many NTKC_FN functions");
    sp->sig[sp->nfns++] = collapse(sp->sig_acc);
    free(sp->sig_acc);
    sp->sig_acc = NULL;
}

static void end_span(FILE *out, Span *sp, const char *file, int lineno, KernelCalls *kc)
{
    fputs(";\n", out);
    kc_add_span(kc, sp->name, sp->text ? sp->text : "");
    free(sp->text);
    if (!sp->fns[0])
        return;
    if (sp->sig_acc)
        die(file, lineno, "an NTKC_FN signature without a body");
    fprintf(out, "const char %s_decls[] =\n", sp->fns);
    if (sp->nfns == 0)
        put_literal_line(out, "");
    char *decls = NULL, name[256];
    for (int i = 0; i < sp->nfns; i++) {
        char buf[MAX_LINE];
        snprintf(buf, sizeof buf, "%s;\n", sp->sig[i]);
        put_literal_line(out, buf);
        append(&decls, buf, strlen(buf));
    }
    snprintf(name, sizeof name, "%s_decls", sp->fns);
    kc_add_span(kc, name, decls ? decls : "");
    free(decls);
    fprintf(out, ";\nconst char *const %s_names[] = {\n", sp->fns);
    for (int i = 0; i < sp->nfns; i++) {
        const char *p = sp->sig[i], *name = NULL;
        for (; (p = strstr(p, "ntkc_")) != NULL && !name; p++) {
            size_t n = 5;
            while (isalnum((unsigned char)p[n]) || p[n] == '_')
                n++;
            if (p[n] == '(' && (p == sp->sig[i] || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')))
                name = p, fprintf(out, "    \"%.*s\",\n", (int)n, p);
        }
        if (!name)
            die(file, lineno, "an NTKC_FN function without an ntkc_ name");
        free(sp->sig[i]);
    }
    fprintf(out, "};\nconst unsigned %s_count = %d;\n", sp->fns, sp->nfns);
}

static void embed(FILE *out, const char *file, KernelCalls *kc)
{
    FILE *in = fopen(file, "r");
    if (!in) {
        perror(file);
        exit(1);
    }
    char line[MAX_LINE];
    int lineno = 0, empty = 0;
    Span sp = {0};
    while (fgets(line, sizeof line, in)) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            die(file, lineno, "line too long or without a newline");
        char name[128], fns[128], close[3];
        if (strncmp(line, "/* @", 4) != 0) {
            if (sp.open) {
                put_literal_line(out, line);
                append(&sp.text, line, len);
                empty = 0;
                if (sp.fns[0])
                    scan_fns(&sp, line, file, lineno);
            }
        } else if (strcmp(line, "/* @end */\n") == 0) {
            if (!sp.open)
                die(file, lineno, "@end outside a span");
            if (empty)
                put_literal_line(out, "");
            end_span(out, &sp, file, lineno, kc);
            sp = (Span){0};
        } else if (sscanf(line, "/* @text %127s @fns %127s %2s", name, fns, close) == 3 && strcmp(close, "*/") == 0) {
            if (sp.open)
                die(file, lineno, "@text inside a span");
            sp = (Span){.open = 1};
            strcpy(sp.name, name);
            strcpy(sp.fns, fns);
        } else if (sscanf(line, "/* @text %127s %2s", name, close) == 2 && strcmp(close, "*/") == 0) {
            if (sp.open)
                die(file, lineno, "@text inside a span");
            sp = (Span){.open = 1};
            strcpy(sp.name, name);
        } else {
            die(file, lineno, "unknown marker (expected '/* @text NAME */' or '/* @end */')");
        }
        if (sp.open && strncmp(line, "/* @text", 8) == 0) {
            fprintf(out, "const char %s[] =\n", sp.name);
            empty = 1;
        }
    }
    if (ferror(in))
        die(file, lineno, "read error");
    if (sp.open)
        die(file, lineno, "a span without @end");
    fclose(in);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: embed_text OUT.c INPUT...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fputs("/* Generated by tools/embed_text from compiler/kernel_c/. Do not edit. */\n"
          "#include \"kernel_text.h\"\n\n",
          out);
    KernelCalls *kc = kc_new();
    for (int i = 2; i < argc; i++)
        embed(out, argv[i], kc);
    kc_write(kc, out);
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
