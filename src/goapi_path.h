/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_path.h — request paths in their escaped form, as Go's ServeMux sees
 * them: extraction from the request target, cleanliness, percent-decoding.
 */
#ifndef GOAPI_PATH_H
#define GOAPI_PATH_H

#include <apr_pools.h>

/* The escaped path of a request target, without query or fragment:
 * "/a/b?q" gives "/a/b"; the absolute form "http://h:1/a?q" gives "/a";
 * a target with no path gives "/".  *path points into target (or to a
 * static "/"), *len is its length. */
void goapi_path_of_target(const char *target, const char **path,
                          apr_size_t *len);

/* 1 when path is what Go's cleanPath would leave unchanged: rooted, no empty
 * segment but a final one (a trailing slash), no "." or ".." segment. */
int goapi_path_is_clean(const char *path, apr_size_t len);

/* Go's cleanPath: path.Clean of the rooted path, keeping a trailing slash. */
char *goapi_path_clean(apr_pool_t *p, const char *path, apr_size_t len);

/* Percent-decode len bytes of s into out (room for len + 1 bytes; the
 * result is NUL-terminated but may contain NUL bytes).  Returns the decoded
 * length, or -1 when a '%' is not followed by two hex digits. */
apr_ssize_t goapi_pct_decode(const char *s, apr_size_t len, char *out);

/* The byte that the path's character at s stands for, as Go matches a
 * fixed part of a pattern: a "%XX" escape gives the byte it encodes
 * (*used = 3), any other character itself (*used = 1). */
unsigned char goapi_path_byte(const char *s, apr_size_t left, apr_size_t *used);

/* s with every byte outside printable ASCII percent-encoded (once: a '%'
 * stays as it is), for a Location header, which must be ASCII. */
char *goapi_path_ascii(apr_pool_t *p, const char *s);

/* 1 when the query string (without '?', may be NULL) has the key, with or
 * without a value: "verbose", "verbose=1", "a=b&verbose". */
int goapi_query_has(const char *args, const char *key);

/* 1 when an Accept header value (may be NULL) names the media type with a
 * non-zero quality: "application/health+json", "text/plain, application/
 * health+json;q=0.9".  Wildcards do not count: the type must be asked for. */
int goapi_accepts(const char *accept, const char *type);

#endif /* GOAPI_PATH_H */
