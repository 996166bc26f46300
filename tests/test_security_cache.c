/* Issue 15, item 2: the code cache of the cc back end runs nobody else's
 * code. Its directory is created 0700; one that is a symbolic link, belongs
 * to another user or is writable by group or others is refused with a user
 * error naming it (the shared-temp fallback included); an entry is loaded
 * only when it is a regular file of ours, not writable by others, built from
 * our very source, with an intact object — a planted entry whose constructor
 * would leave a marker is never loaded unless it passes all of that (the
 * control shows it would run otherwise), and a corrupt entry is rebuilt. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char src[] = "net fc { dense(1.4, 0.1); relu; dense(1.1); erf; dense }";

static void cache_env(const char *home, const char *xdg, const char *explicit_dir, const char *tmpdir)
{
    home ? setenv("HOME", home, 1) : unsetenv("HOME");
    xdg ? setenv("XDG_CACHE_HOME", xdg, 1) : unsetenv("XDG_CACHE_HOME");
    explicit_dir ? setenv("NTKC_CACHE_DIR", explicit_dir, 1) : unsetenv("NTKC_CACHE_DIR");
    tmpdir ? setenv("TMPDIR", tmpdir, 1) : unsetenv("TMPDIR");
}

/* Compiles src with the cc back end; on success checks its kernel. */
static int compile_cc(ntkc_error *err)
{
    ntkc_compile_options o = {.backend = NTKC_BACKEND_CC};
    ntkc_net *net = ntkc_compile_string(src, "fc.ntk", &o, err);
    if (net == NULL)
        return -1;
    double x[9], k[9], want[9];
    fill_random(x, 9, 1);
    cr_assert_eq(ntkc_kernel(net, 3, x, 0, NULL, 3, NULL, k, NULL, err), 0, "%s", err->message);
    ntkc_net_free(net);
    ntkc_net *ref = compile_or_fail(src, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(ref, 3, x, 0, NULL, 3, NULL, want, NULL, err), 0);
    ntkc_net_free(ref);
    cr_expect(max_rel_diff(k, want, 9) < 1e-12);
    return 0;
}

static void expect_refused(const char *dir, const char *why)
{
    ntkc_error err = {0};
    cr_expect_eq(compile_cc(&err), -1, "the cache %s was used", dir);
    cr_expect_eq(err.code, 1, "%s", err.message);
    cr_expect(strstr(err.message, dir) && strstr(err.message, why), "message \"%s\" lacks %s / %s", err.message, dir,
              why);
}

Test(security_cache, new_cache_is_private, .timeout = TIMEOUT(60))
{
    char dir[256], home[300], cache[400];
    make_temp_dir(dir, sizeof dir);
    snprintf(home, sizeof home, "%s/home", dir);
    cache_env(home, NULL, NULL, NULL);
    ntkc_error err = {0};
    cr_assert_eq(compile_cc(&err), 0, "%s", err.message);
    snprintf(cache, sizeof cache, "%s/.cache/ntkc", home);
    struct stat st;
    cr_assert_eq(lstat(cache, &st), 0);
    cr_expect(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "mode %o", st.st_mode & 0777);
}

Test(security_cache, shared_temp_cache_planted_by_others_is_refused)
{
    char dir[256], cache[400], other[400];
    make_temp_dir(dir, sizeof dir);
    cache_env(NULL, NULL, NULL, dir); /* HOME and XDG unset: $TMPDIR/ntkc-cache-UID */
    snprintf(cache, sizeof cache, "%s/ntkc-cache-%ld", dir, (long)geteuid());
    cr_assert_eq(mkdir(cache, 0700), 0);
    chmod(cache, 0777);
    expect_refused(cache, "writable by group or others");
    chmod(cache, 0720);
    expect_refused(cache, "writable by group or others");
    rmdir(cache);
    snprintf(other, sizeof other, "%s/elsewhere", dir);
    cr_assert_eq(mkdir(other, 0700), 0);
    cr_assert_eq(symlink(other, cache), 0);
    expect_refused(cache, "symbolic link");
    unlink(cache);
    if (geteuid() == 0) { /* CI runs as root: a directory of another user */
        cr_assert_eq(mkdir(cache, 0700), 0);
        cr_assert_eq(chown(cache, 4242, 4242), 0);
        expect_refused(cache, "another user");
    }
}

Test(security_cache, symlinked_xdg_cache_is_refused)
{
    char dir[256], xdg[300], link[400], target[400];
    make_temp_dir(dir, sizeof dir);
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    snprintf(target, sizeof target, "%s/victim", dir);
    snprintf(link, sizeof link, "%s/ntkc", xdg);
    cr_assert_eq(mkdir(xdg, 0700), 0);
    cr_assert_eq(mkdir(target, 0700), 0);
    cr_assert_eq(symlink(target, link), 0);
    cache_env("/nonexistent", xdg, NULL, NULL);
    expect_refused(link, "symbolic link");
}

/* ---- entries ---------------------------------------------------------- */

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static unsigned char *slurp_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *p = malloc(*n);
    cr_assert_eq(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

static void spit_file(const char *path, const void *p, size_t n, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
    chmod(path, mode);
}

/* The one entry in cache (its path in out). */
static void find_entry(const char *cache, char *out, size_t size)
{
    DIR *d = opendir(cache);
    cr_assert_not_null(d);
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".jit")) {
            snprintf(out, size, "%s/%s", cache, e->d_name);
            found++;
        }
    closedir(d);
    cr_assert_eq(found, 1, "%d entries in %s", found, cache);
}

/* The entry with its object replaced by obj (checksum fixed): well formed,
 * for our source. */
static unsigned char *with_object(const unsigned char *entry, const unsigned char *obj, size_t olen, size_t *n)
{
    uint64_t klen = 0;
    for (int i = 0; i < 8; i++)
        klen |= (uint64_t)entry[8 + i] << (8 * i);
    *n = 32 + klen + olen;
    unsigned char *p = malloc(*n);
    memcpy(p, entry, 32 + klen);
    uint64_t sum = fnv1a(obj, olen);
    for (int i = 0; i < 8; i++)
        p[16 + i] = (unsigned char)(olen >> (8 * i)), p[24 + i] = (unsigned char)(sum >> (8 * i));
    memcpy(p + 32 + klen, obj, olen);
    return p;
}

/* The entry at path is a fresh build: our file, 0600, the key of the good
 * one (objects differ between builds: the temp source's name is in them),
 * and not the planted bytes. */
static void expect_rebuilt(const char *path, const unsigned char *good, const unsigned char *planted, size_t plen,
                           const char *what)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 0077) == 0, "%s: mode %o uid %d", what,
              st.st_mode, (int)st.st_uid);
    size_t n;
    unsigned char *now = slurp_file(path, &n);
    uint64_t klen = 0;
    for (int i = 0; i < 8; i++)
        klen |= (uint64_t)good[8 + i] << (8 * i);
    cr_expect(n > 32 + klen && memcmp(now, good, 16) == 0 && memcmp(now + 32, good + 32, klen) == 0,
              "%s: not an entry for our source", what);
    cr_expect(n != plen || memcmp(now, planted, n) != 0, "%s: the planted entry is still there", what);
    free(now);
}

Test(security_cache, planted_and_corrupt_entries_are_rebuilt, .timeout = TIMEOUT(120))
{
    char dir[256], cache[300], entry_path[600], marker[300], cmd[1200], evil_so[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(marker, sizeof marker, "%s/planted-code-ran", dir);
    cache_env(NULL, NULL, cache, NULL);
    ntkc_error err = {0};
    cr_assert_eq(compile_cc(&err), 0, "%s", err.message);
    find_entry(cache, entry_path, sizeof entry_path);
    size_t elen, olen, plen;
    unsigned char *good = slurp_file(entry_path, &elen);

    /* a shared object whose constructor leaves the marker */
    snprintf(evil_so, sizeof evil_so, "%s/evil.so", dir);
    snprintf(cmd, sizeof cmd,
             "printf '#include <stdio.h>\\n__attribute__((constructor)) static void f(void) "
             "{ fclose(fopen(\"%s\", \"w\")); }\\n' | cc -x c -shared -fPIC -o %s -",
             marker, evil_so);
    cr_assert_eq(system(cmd), 0);
    unsigned char *obj = slurp_file(evil_so, &olen);
    unsigned char *planted = with_object(good, obj, olen, &plen);

    /* planted entries that fail one check each: never loaded, rebuilt */
    struct {
        const char *what;
        mode_t mode;
        int foreign, symlinked, other_source;
    } cases[] = {
        {"writable by others", 0666, 0, 0, 0},
        {"another user's", 0600, 1, 0, 0},
        {"a symbolic link", 0600, 0, 1, 0},
        {"built from another source", 0600, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].foreign && geteuid() != 0)
            continue;
        char elsewhere[400];
        snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere.jit", dir);
        if (cases[i].other_source)
            planted[32 + 40] ^= 1; /* a byte of the source text in the key */
        spit_file(cases[i].symlinked ? elsewhere : entry_path, planted, plen, cases[i].mode);
        if (cases[i].other_source)
            planted[32 + 40] ^= 1;
        if (cases[i].symlinked) {
            unlink(entry_path);
            cr_assert_eq(symlink(elsewhere, entry_path), 0);
        }
        if (cases[i].foreign)
            cr_assert_eq(chown(entry_path, 4242, 4242), 0);
        cr_expect_eq(compile_cc(&err), 0, "%s: %s", cases[i].what, err.message);
        cr_expect(!file_exists(marker), "a planted entry (%s) was loaded", cases[i].what);
        expect_rebuilt(entry_path, good, planted, plen, cases[i].what);
    }

    /* corrupt entries: rebuilt, not an error forever */
    for (int k = 0; k < 2; k++) {
        unsigned char *bad = malloc(elen);
        memcpy(bad, good, elen);
        if (k == 0)
            bad[elen - 100] ^= 0x55; /* inside the object */
        spit_file(entry_path, bad, k == 0 ? elen : elen / 2, 0600); /* or truncated */
        free(bad);
        cr_expect_eq(compile_cc(&err), 0, "corrupt entry %d: %s", k, err.message);
        expect_rebuilt(entry_path, good, planted, plen, k ? "truncated" : "corrupt");
    }

    /* control: the same planted object in an entry that passes every check is
     * loaded (the test above would have seen it run) */
    spit_file(entry_path, planted, plen, 0600);
    ntkc_error e2 = {0};
    compile_cc(&e2); /* fails: the planted object lacks the net's symbols */
    cr_expect(file_exists(marker), "the control entry was not loaded: the test proves nothing");
    free(good);
    free(obj);
    free(planted);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
}
