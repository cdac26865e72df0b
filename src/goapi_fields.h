/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_fields.h — the fields of a configuration record declared once, in
 * a table: each field's kind (and so its unset value), its scope and its
 * default.  The table drives the making of a record (every field unset),
 * the merging of a record with its parent, and the defaults applied once,
 * as nginx's merge-with-default does.  Pure: APR and libc only.
 */
#ifndef GOAPI_FIELDS_H
#define GOAPI_FIELDS_H

#include <apr.h>

typedef enum {
    GOAPI_FIELD_INT,                    /* int; unset -1 */
    GOAPI_FIELD_I64,                    /* apr_int64_t, apr_interval_time_t;
                                         * unset -1 */
    GOAPI_FIELD_INT0,                   /* int; unset 0 */
    GOAPI_FIELD_I64_0,                  /* apr_int64_t; unset 0 */
    GOAPI_FIELD_PTR                     /* a string or another pointer; unset NULL */
} goapi_field_kind;

typedef enum {
    GOAPI_SCOPE_MERGED,                 /* the record's own value when set, else
                                         * its parent's */
    GOAPI_SCOPE_MAIN,                   /* the main server's (its directive is
                                         * refused in a virtual host) */
    GOAPI_SCOPE_OWN,                    /* the record's own, never inherited */
    GOAPI_SCOPE_WITH_PREVIOUS           /* from the record the field before it
                                         * came from: the two go together */
} goapi_field_scope;

typedef struct {
    apr_size_t offset;
    goapi_field_kind kind;
    goapi_field_scope scope;
    int has_default;                    /* 0: an unset field stays unset */
    apr_int64_t def;                    /* a number's default */
    const char *sdef;                   /* a string's default */
} goapi_field;

/* The rows of a table t. */
#define GOAPI_FIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Every field of rec (zeroed) unset. */
void goapi_fields_unset(void *rec, const goapi_field *f, apr_size_t n);

/* Each field of conf from add or from base, as its scope says. */
void goapi_fields_merge(void *conf, const void *base, const void *add,
                        const goapi_field *f, apr_size_t n);

/* Each unset field of rec that has a default gets it. */
void goapi_fields_resolve(void *rec, const goapi_field *f, apr_size_t n);

#endif /* GOAPI_FIELDS_H */
