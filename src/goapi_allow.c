/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_allow.c — which clients may see something (see goapi_allow.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "goapi_allow.h"

void goapi_allow_init(goapi_allow *a)
{
    memset(a, 0, sizeof(*a));
    a->mode = GOAPI_ALLOW_UNSET;
}

/* One network word into a: "ip", "ip/bits" or "ip/mask". */
static const char *goapi_allow_net(apr_pool_t *p, const char *word, goapi_allow *a)
{
    const char *slash = strchr(word, '/');
    char *ip = slash ? apr_pstrmemdup(p, word, (apr_size_t)(slash - word))
                     : apr_pstrdup(p, word);
    apr_ipsubnet_t *net = NULL;

    if (!*ip || (slash && !slash[1])
        || apr_ipsubnet_create(&net, ip, slash ? slash + 1 : NULL, p) != APR_SUCCESS) {
        return apr_psprintf(p, "'%s' is neither local, all, off nor an IP address or "
                            "network (10.0.0.0/8, fd00::/8)", word);
    }
    APR_ARRAY_PUSH(a->nets, apr_ipsubnet_t *) = net;
    return NULL;
}

static const char *goapi_allow_local(apr_pool_t *p, goapi_allow *a)
{
    apr_ipsubnet_t *net = NULL;

    a->local = 1;
    if (apr_ipsubnet_create(&net, "127.0.0.0", "8", p) == APR_SUCCESS) {
        APR_ARRAY_PUSH(a->nets, apr_ipsubnet_t *) = net;
    }
#if APR_HAVE_IPV6
    if (apr_ipsubnet_create(&net, "::1", NULL, p) == APR_SUCCESS) {
        APR_ARRAY_PUSH(a->nets, apr_ipsubnet_t *) = net;
    }
#endif
    return NULL;
}

const char *goapi_allow_parse(apr_pool_t *p, const char *const *words, int n,
                              goapi_allow *out)
{
    goapi_allow a;
    const char *err = NULL;
    int i;

    goapi_allow_init(out);
    if (n < 1) {
        return "expected local, all, off, or networks such as 10.0.0.0/8";
    }
    goapi_allow_init(&a);
    a.nets = apr_array_make(p, n + 2, sizeof(apr_ipsubnet_t *));
    a.shown = apr_pstrdup(p, words[0]);
    for (i = 1; i < n; i++) {
        a.shown = apr_pstrcat(p, a.shown, " ", words[i], NULL);
    }
    for (i = 0; i < n && !err; i++) {
        const char *w = words[i];

        if (strcmp(w, "all") == 0 || strcmp(w, "off") == 0) {
            if (n != 1) {
                return apr_psprintf(p, "'%s' stands alone", w);
            }
            a.mode = w[0] == 'a' ? GOAPI_ALLOW_ALL : GOAPI_ALLOW_NONE;
            *out = a;
            return NULL;
        }
        err = strcmp(w, "local") == 0 ? goapi_allow_local(p, &a)
                                      : goapi_allow_net(p, w, &a);
    }
    if (err) {
        return err;
    }
    a.mode = GOAPI_ALLOW_LISTED;
    *out = a;
    return NULL;
}

int goapi_allow_match(const goapi_allow *a, apr_sockaddr_t *client,
                      apr_sockaddr_t *server)
{
    int i;

    if (a->mode == GOAPI_ALLOW_ALL) {
        return 1;
    }
    if (a->mode != GOAPI_ALLOW_LISTED || !client) {
        return 0;
    }
    if (a->local && server && apr_sockaddr_equal(client, server)) {
        return 1;
    }
    for (i = 0; i < a->nets->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(a->nets, i, apr_ipsubnet_t *), client)) {
            return 1;
        }
    }
    return 0;
}
