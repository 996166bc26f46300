#include "editdist.h"

#include <string.h>

int edit_distance(const char *s, const char *t, int cap)
{
    enum { MAXLEN = 64 };
    size_t m = strlen(s), n = strlen(t);
    if (m >= MAXLEN || n >= MAXLEN)
        return cap + 1;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= m; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= n; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= m; i++)
        for (size_t j = 1; j <= n; j++) {
            int best = d[i - 1][j - 1] + (s[i - 1] != t[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && s[i - 1] == t[j - 2] && s[i - 2] == t[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[m][n] > cap ? cap + 1 : d[m][n];
}
