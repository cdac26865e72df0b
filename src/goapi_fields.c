/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_fields.c — a configuration record's fields, made unset, merged
 * and given their defaults from the table that declares them.
 */
#include <string.h>

#include "goapi_fields.h"

static void *goapi_field_at(const void *rec, const goapi_field *f)
{
    return (char *)(apr_uintptr_t)rec + f->offset;
}

/* Is the field set in rec? */
static int goapi_field_is_set(const void *rec, const goapi_field *f)
{
    const void *at = goapi_field_at(rec, f);

    switch (f->kind) {
    case GOAPI_FIELD_INT:   return *(const int *)at != -1;
    case GOAPI_FIELD_I64:   return *(const apr_int64_t *)at != -1;
    case GOAPI_FIELD_INT0:  return *(const int *)at != 0;
    case GOAPI_FIELD_I64_0: return *(const apr_int64_t *)at != 0;
    default:                return *(const void *const *)at != NULL;
    }
}

static apr_size_t goapi_field_size(const goapi_field *f)
{
    switch (f->kind) {
    case GOAPI_FIELD_INT:
    case GOAPI_FIELD_INT0:  return sizeof(int);
    case GOAPI_FIELD_I64:
    case GOAPI_FIELD_I64_0: return sizeof(apr_int64_t);
    default:                return sizeof(void *);
    }
}

/* goapi_fields.h */
void goapi_fields_unset(void *rec, const goapi_field *f, apr_size_t n)
{
    for (; n > 0; f++, n--) {
        if (f->kind == GOAPI_FIELD_INT) {
            *(int *)goapi_field_at(rec, f) = -1;
        }
        else if (f->kind == GOAPI_FIELD_I64) {
            *(apr_int64_t *)goapi_field_at(rec, f) = -1;
        }
    }
}

/* goapi_fields.h */
void goapi_fields_merge(void *conf, const void *base, const void *add,
                        const goapi_field *f, apr_size_t n)
{
    const void *from = base;

    for (; n > 0; f++, n--) {
        switch (f->scope) {
        case GOAPI_SCOPE_MERGED:
            from = goapi_field_is_set(add, f) ? add : base;
            break;
        case GOAPI_SCOPE_MAIN:
            from = base;
            break;
        case GOAPI_SCOPE_OWN:
            from = add;
            break;
        case GOAPI_SCOPE_WITH_PREVIOUS:
            break;
        }
        memcpy(goapi_field_at(conf, f), goapi_field_at(from, f), goapi_field_size(f));
    }
}

/* goapi_fields.h */
void goapi_fields_resolve(void *rec, const goapi_field *f, apr_size_t n)
{
    for (; n > 0; f++, n--) {
        void *at = goapi_field_at(rec, f);

        if (!f->has_default || goapi_field_is_set(rec, f)) {
            continue;
        }
        switch (f->kind) {
        case GOAPI_FIELD_INT:
        case GOAPI_FIELD_INT0:
            *(int *)at = (int)f->def;
            break;
        case GOAPI_FIELD_I64:
        case GOAPI_FIELD_I64_0:
            *(apr_int64_t *)at = f->def;
            break;
        default:
            *(const char **)at = f->sdef;
            break;
        }
    }
}
