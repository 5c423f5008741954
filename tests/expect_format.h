/*
 * expect_format.h - the value syntax of tests/fixtures/NAME.expect files,
 * shared by the tests that read them: C-style escapes \n \r \t \0 \\ \"
 * and \xHH, decoded in place.
 */
#ifndef EXPECT_FORMAT_H
#define EXPECT_FORMAT_H

#include <stddef.h>

static int expect_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the n bytes at s in place, NUL-terminates, returns the length. */
static size_t expect_unescape(char *s, size_t n)
{
    size_t i = 0, o = 0;
    while (i < n) {
        char c = s[i++];
        if (c == '\\' && i < n) {
            char e = s[i++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case '0': c = '\0'; break;
            case 'x':
                if (i + 1 < n && expect_hexval(s[i]) >= 0 && expect_hexval(s[i + 1]) >= 0) {
                    c = (char)(expect_hexval(s[i]) * 16 + expect_hexval(s[i + 1]));
                    i += 2;
                }
                break;
            default: c = e; break; /* \\ and \" */
            }
        }
        s[o++] = c;
    }
    s[o] = '\0';
    return o;
}

#endif /* EXPECT_FORMAT_H */
