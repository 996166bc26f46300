/* gnuplot scripts and their rendering (plot.h). */
#include "plot.h"

#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "ntkc_tool.h"

extern char **environ;

int plot_init(Plot *p, const char *value, ntkc_error *err)
{
    size_t len = strlen(value);
    for (const char *c = value; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            err_user(err, "--plot: the name has a control character at byte %zu", (size_t)(c - value));
            return err->code;
        }
    if (len == 0 || len + 16 >= sizeof p->base) {
        err_user(err, "--plot: the name is %s", len ? "too long" : "empty");
        return err->code;
    }
    memcpy(p->base, value, len + 1);
    if (len > 4 && (strcmp(value + len - 4, ".svg") == 0 || strcmp(value + len - 4, ".png") == 0))
        p->base[len - 4] = '\0';
    return NTKC_OK;
}

const char *plot_path(const Plot *p, const char *suffix, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s", p->base, suffix);
    return buf;
}

void plot_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

int plot_write_script(const Plot *p, int width, int height, void (*body)(FILE *f, const Plot *p, void *ctx),
                      void *ctx, ntkc_error *err)
{
    char path[4200], out[4200];
    FILE *f = fopen(plot_path(p, ".gp", path, sizeof path), "w");
    if (f == NULL) {
        err_user(err, "--plot: cannot write %s: %s", path, strerror(errno));
        return err->code;
    }
    fprintf(f, "# written by ntkc; render with: gnuplot %s\n", path);
    const char *terms[2] = {"svg dynamic enhanced background rgb 'white' font 'Helvetica,12'",
                            "pngcairo enhanced background rgb 'white' font 'Helvetica,10'"};
    const char *ext[2] = {".svg", ".png"};
    for (int t = 0; t < 2; t++) {
        fprintf(f, "\nreset\nset terminal %s size %d,%d\nset output ", terms[t], width, height);
        plot_quote(f, plot_path(p, ext[t], out, sizeof out));
        fputc('\n', f);
        body(f, p, ctx);
        fputs("unset multiplot\nset output\n", f);
    }
    if (fclose(f) != 0) {
        err_user(err, "--plot: cannot write %s: %s", path, strerror(errno));
        return err->code;
    }
    return NTKC_OK;
}

int plot_render(const Plot *p, int quiet, ntkc_error *err)
{
    char script[4200], svg[4200], png[4200];
    plot_path(p, ".gp", script, sizeof script);
    char *argv[] = {"gnuplot", script, NULL};
    pid_t pid;
    int status = 0;
    if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "ntkc: gnuplot is not installed (Debian: apt-get install gnuplot-nox); the data and the "
                        "script are written: render with `gnuplot %s`\n", script);
        return NTKC_OK;
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        err_user(err, "gnuplot failed on %s (its messages are above)", script);
        return err->code;
    }
    if (!quiet)
        printf("  figure: %s and %s (data and gnuplot script beside them)\n", plot_path(p, ".svg", svg, sizeof svg),
               plot_path(p, ".png", png, sizeof png));
    return NTKC_OK;
}
