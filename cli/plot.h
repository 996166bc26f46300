/* Figures through gnuplot (Debian gnuplot-nox): a command writes its data to
 * BASE.dat (and siblings) and the drawing to BASE.gp; plot_render runs
 * `gnuplot BASE.gp`, which writes BASE.svg and BASE.png. Without gnuplot the
 * data and script stay and the message says how to render them. gnuplot was
 * chosen over PLplot and cairo because one short script gives both formats,
 * log axes and legends, and the user can edit and re-run it. */
#ifndef NTKC_CLI_PLOT_H
#define NTKC_CLI_PLOT_H

#include <stdio.h>

#include "ntkc.h"

typedef struct Plot {
    char base[4096]; /* FILE of --plot FILE without a trailing .svg or .png */
} Plot;

/* Takes --plot's value; refuses control characters (the names go into a
 * gnuplot script). Returns 0 or the error code. */
int plot_init(Plot *p, const char *value, ntkc_error *err);
/* base + suffix, e.g. ".dat"; returns buf. */
const char *plot_path(const Plot *p, const char *suffix, char *buf, size_t size);
/* Writes s as a gnuplot single-quoted string ('' stands for '). */
void plot_quote(FILE *f, const char *s);
/* Writes BASE.gp: for each of svg and png, the terminal, the output, then
 * body(f, ctx) (which draws, using plot_quote for every name). */
int plot_write_script(const Plot *p, int width, int height, void (*body)(FILE *f, const Plot *p, void *ctx),
                      void *ctx, ntkc_error *err);
/* Runs gnuplot on BASE.gp; prints where the figures went, or how to render. */
int plot_render(const Plot *p, int quiet, ntkc_error *err);

#endif
