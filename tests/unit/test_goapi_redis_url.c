/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Redis store URLs: every form with its fields, the defaults, hostile and
 * malformed values refused with a message that never repeats a secret, and
 * the display form that never shows one.
 */
#include <string.h>

#include "unit.h"
#include "goapi_redis_url.h"

static goapi_redis_target parse_ok(const char *text)
{
    goapi_redis_target t;
    const char *err = goapi_redis_url_parse(unit_pool, text, &t);

    if (err) {
        fail_msg("%s: refused: %s", text, err);
    }
    return t;
}

static void test_tcp(void **state)
{
    goapi_redis_target t;

    (void)state;
    t = parse_ok("redis://127.0.0.1:6380/2");
    assert_int_equal(t.kind, GOAPI_REDIS_TCP);
    assert_string_equal(t.addr.host, "127.0.0.1");
    assert_int_equal(t.addr.port, 6380);
    assert_int_equal(t.db, 2);
    assert_null(t.user);
    assert_null(t.password);

    t = parse_ok("redis://redis.internal");
    assert_string_equal(t.addr.host, "redis.internal");
    assert_int_equal(t.addr.port, GOAPI_REDIS_PORT);
    assert_int_equal(t.db, 0);
    t = parse_ok("redis://redis.internal/");
    assert_int_equal(t.db, 0);

    t = parse_ok("redis://goapi:s3cr%40t%3A%2F@[::1]:7000/15");
    assert_string_equal(t.user, "goapi");
    assert_string_equal(t.password, "s3cr@t:/");
    assert_string_equal(t.addr.host, "::1");
    assert_int_equal(t.addr.port, 7000);
    assert_int_equal(t.db, 15);

    t = parse_ok("redis://:only-a-password@h:1");
    assert_null(t.user);
    assert_string_equal(t.password, "only-a-password");
    t = parse_ok("redis://just-a-user@h");
    assert_string_equal(t.user, "just-a-user");
    assert_null(t.password);
    t = parse_ok("redis://h:65535/1048575");
    assert_int_equal(t.addr.port, 65535);
    assert_int_equal(t.db, GOAPI_REDIS_MAX_DB);
}

static void test_unix(void **state)
{
    goapi_redis_target t;

    (void)state;
    t = parse_ok("unix:/run/redis/redis-server.sock");
    assert_int_equal(t.kind, GOAPI_REDIS_UNIX);
    assert_string_equal(t.path, "/run/redis/redis-server.sock");
    assert_int_equal(t.db, 0);
    t = parse_ok("unix:/tmp/r.sock?db=3&user=app&password=p%26w");
    assert_string_equal(t.path, "/tmp/r.sock");
    assert_int_equal(t.db, 3);
    assert_string_equal(t.user, "app");
    assert_string_equal(t.password, "p&w");
}

static void test_sentinel(void **state)
{
    goapi_redis_target t;

    (void)state;
    t = parse_ok("redis-sentinel://10.0.0.1:26379,10.0.0.2,[fe80::1]:5000/mymaster/4");
    assert_int_equal(t.kind, GOAPI_REDIS_SENTINEL);
    assert_int_equal(t.nsentinels, 3);
    assert_string_equal(t.sentinels[0].host, "10.0.0.1");
    assert_int_equal(t.sentinels[1].port, GOAPI_REDIS_SENTINEL_PORT);
    assert_string_equal(t.sentinels[2].host, "fe80::1");
    assert_int_equal(t.sentinels[2].port, 5000);
    assert_string_equal(t.master, "mymaster");
    assert_int_equal(t.db, 4);
    t = parse_ok("redis-sentinel://u:p@s1:1/m");
    assert_string_equal(t.user, "u");
    assert_string_equal(t.password, "p");
    assert_string_equal(t.master, "m");
    assert_int_equal(t.db, 0);
}

static void test_refused(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        { "lmdb:/x", "expected redis://" },
        { "redis:/h", "expected redis://" },
        { "REDIS://h", "expected redis://" },
        { "redis://", "host is missing" },
        { "redis://:6379", "host is missing" },
        { "redis://h:0", "port must be" },
        { "redis://h:65536", "port must be" },
        { "redis://h:-1", "port must be" },
        { "redis://h:63x", "port must be" },
        { "redis://h:", "port must be" },
        { "redis://h/16x", "database must be" },
        { "redis://h/-1", "database must be" },
        { "redis://h/1048576", "database must be" },
        { "redis://h/1/2", "database must be" },
        { "redis://ho st", "host name holds" },
        { "redis://h\r\n:1", "host name holds" },
        { "redis://::1:6379", "brackets" },
        { "redis://[::1", "brackets" },
        { "redis://[]:1", "brackets" },
        { "redis://[::g]:1", "IPv6 address holds" },
        { "redis://u:@h", "password after ':' is empty" },
        { "redis://u:p%zz@h", "'%' not followed" },
        { "redis://u:p%0a@h", "control character" },
        { "redis://u:p%00@h", "control character" },
        { "unix:redis.sock", "must be absolute" },
        { "unix:/", "socket's path" },
        { "unix:/r.sock?db=x", "database must be" },
        { "unix:/r.sock?timeout=1", "after '?'" },
        { "unix:/r.sock?db=1&", "after '?'" },
        { "redis-sentinel://s1:1", "master's name must follow" },
        { "redis-sentinel://s1:1/", "master's name must follow" },
        { "redis-sentinel:///m", "at least one sentinel" },
        { "redis-sentinel://s1,/m", "sentinel is missing" },
        { "redis-sentinel://a,b,c,d,e,f,g,h,i/m", "at most 8" },
        { "redis-sentinel://s/m a", "master's name holds only" },
        { "redis-sentinel://s/m?password=x", "master's name holds only" },
        { "redis-sentinel://s/m&x", "master's name holds only" },
        { "unix:/r.sock&password=x", "socket's path holds only" },
        { "unix:/r.sock;password=x", "socket's path holds only" },
        { "unix:/r.sock password=x", "socket's path holds only" },
        { "unix:/r:sock", "socket's path holds only" },
        { "unix:/r@sock", "socket's path holds only" },
        { "redis-sentinel://s/m/x", "database must be" },
    };
    goapi_redis_target t;
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *err = goapi_redis_url_parse(unit_pool, cases[i].text, &t);

        if (!err || !strstr(err, cases[i].why)) {
            fail_msg("%s: got %s, want ...%s...", cases[i].text, err ? err : "accepted",
                     cases[i].why);
        }
    }
}

/* Secrets never come back: not in a refusal, not in the display form. */
static void test_secrets_never_shown(void **state)
{
    static const char *const texts[] = {
        "redis://admin:hunter2@h:1/0", "redis://admin:hunter2@h:0/0",
        "redis://admin:hunter2%zz@h", "unix:/s?password=hunter2&user=admin",
        "unix:/s?password=hunter2&x=1", "redis-sentinel://admin:hunter2@s:1/m",
        "redis-sentinel://admin:hunter2@s:1",
    };
    goapi_redis_target t;
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(texts); i++) {
        const char *err = goapi_redis_url_parse(unit_pool, texts[i], &t);
        const char *shown = err ? err : goapi_redis_url_display(unit_pool, &t);

        if (strstr(shown, "hunter2") || strstr(shown, "admin")) {
            fail_msg("%s: shown as %s", texts[i], shown);
        }
    }
    t = parse_ok("redis://admin:hunter2@[::1]:7000/3");
    assert_string_equal(goapi_redis_url_display(unit_pool, &t), "redis://***:***@[::1]:7000/3");
    t = parse_ok("redis://:pw@h");
    assert_string_equal(goapi_redis_url_display(unit_pool, &t), "redis://:***@h:6379/0");
    t = parse_ok("redis://h");
    assert_string_equal(goapi_redis_url_display(unit_pool, &t), "redis://h:6379/0");
    t = parse_ok("unix:/s?password=pw");
    assert_string_equal(goapi_redis_url_display(unit_pool, &t), "unix:/s?db=0&password=***");
    t = parse_ok("redis-sentinel://u:p@a:1,b/m/2");
    assert_string_equal(goapi_redis_url_display(unit_pool, &t),
                        "redis-sentinel://***:***@a:1,b:26379/m/2");
}

/* Every kind of mistake, each value holding the password "Pw-8c1f": the
 * refusal (the parser's, or the one of a value that names no store) never
 * repeats it, and says what was wrong. */
static void test_malformed_never_repeat_the_password(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        /* schemes */
        { "rediss://:Pw-8c1f@h:6380", "unknown scheme 'rediss': TLS is not supported" },
        { "rediss://u:Pw-8c1f@h", "TLS is not supported" },
        { "valkeys://:Pw-8c1f@h", "TLS is not supported" },
        { "valkey://:Pw-8c1f@h", "unknown scheme 'valkey': a Valkey server is written "
                                 "redis://host" },
        { "http://:Pw-8c1f@h", "unknown scheme 'http'; expected lmdb:<path>" },
        { "https://u:Pw-8c1f@h/0", "unknown scheme 'https'" },
        { "tcp://u:Pw-8c1f@h:1", "unknown scheme 'tcp'" },
        { "redis+sentinel://:Pw-8c1f@s:1/m", "sentinels are written redis-sentinel://" },
        { "REDIS://:Pw-8c1f@h", "unknown scheme 'REDIS': schemes are written in lower "
                                "case ('redis')" },
        { "Redis-Sentinel://:Pw-8c1f@s/m", "lower case ('redis-sentinel')" },
        { "redis:/:Pw-8c1f@h", "'redis:' is not followed by '//' (redis://host)" },
        { "redis::Pw-8c1f@h", "'redis:' is not followed by '//'" },
        { "redis-sentinel:Pw-8c1f@s/m", "'redis-sentinel:' is not followed by '//'" },
        { "lmdb:", "'lmdb:' is not followed by a path" },
        { ":Pw-8c1f@h", "it has no scheme" },
        { "Pw-8c1f@h:6379", "it has no scheme" },
        { "//u:Pw-8c1f@h", "it has no scheme" },
        { "u:Pw-8c1f@h", "unknown scheme 'u'" },
        { "", "it has no scheme" },
        /* ports, databases, hosts */
        { "redis://:Pw-8c1f@h:99999", "port must be" },
        { "redis://:Pw-8c1f@h:0", "port must be" },
        { "redis://:Pw-8c1f@h:port", "port must be" },
        { "redis://:Pw-8c1f", "host is missing" },
        { "redis://u:Pw-8c1f", "port must be" },
        { "redis://:Pw-8c1f@h/db1", "database must be" },
        { "redis://:Pw-8c1f@h/16/0", "database must be" },
        { "redis://:Pw-8c1f@h/0?password=Pw-8c1f", "database must be" },
        { "redis://:Pw-8c1f@", "host is missing" },
        { "redis://:Pw-8c1f@ho st", "host name holds" },
        { "redis://:Pw-8c1f@h@", "host is missing" },
        { "redis://:Pw/8c1f@h", "host is missing" },
        /* escapes */
        { "redis://:Pw-8c1f%@h", "'%' not followed" },
        { "redis://:Pw-8c1f%4@h", "'%' not followed" },
        { "redis://:Pw-8c1f%0d%0a@h", "control character" },
        { "redis://Pw-8c1f%zz:x@h", "'%' not followed" },
        { "unix:/s?password=Pw-8c1f%", "'%' not followed" },
        /* brackets */
        { "redis://:Pw-8c1f@[::1:6379", "brackets" },
        { "redis://:Pw-8c1f@::1:6379", "brackets" },
        { "redis://:Pw-8c1f@[]:1", "brackets" },
        { "redis://:Pw-8c1f@[::1]x", "port must be" },
        { "redis://:Pw-8c1f@[Pw-8c1f]:1", "IPv6 address holds" },
        { "redis-sentinel://:Pw-8c1f@[::1/m", "brackets" },
        /* the socket and the sentinels */
        { "unix:run/redis.sock?password=Pw-8c1f", "must be absolute" },
        { "unix:/run/redis.sock&password=Pw-8c1f", "socket's path holds only" },
        { "unix:/s?password=Pw-8c1f&timeout=1", "after '?'" },
        { "unix:/s?pass=Pw-8c1f", "after '?'" },
        { "unix:/s?password=Pw-8c1f&db=x", "database must be" },
        { "redis-sentinel://:Pw-8c1f@s:1", "master's name must follow" },
        { "redis-sentinel://:Pw-8c1f@s:1/m?password=Pw-8c1f", "master's name holds only" },
        { "redis-sentinel://:Pw-8c1f@s:1,/m", "sentinel is missing" },
        { "redis-sentinel://:Pw-8c1f@s:x/m", "port must be" },
        { "redis-sentinel://u:@s/m", "password after ':' is empty" },
    };
    goapi_redis_target t;
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *text = cases[i].text;
        const char *err = goapi_redis_url_is(text) ? goapi_redis_url_parse(unit_pool, text, &t)
                                                   : goapi_redis_url_unknown(unit_pool, text);

        if (!err) {
            fail_msg("%s: accepted", text);
            continue;
        }
        if (strstr(err, "Pw-8c1f") || strstr(err, "8c1f")) {
            fail_msg("%s: the refusal repeats the password: %s", text, err);
        }
        if (!strstr(err, cases[i].why)) {
            fail_msg("%s: got %s, want ...%s...", text, err, cases[i].why);
        }
    }
}

/* A value that names no store always ends with the forms expected. */
static void test_unknown_lists_the_forms(void **state)
{
    const char *msg = goapi_redis_url_unknown(unit_pool, "rediss://h");
    const char *tail = "; expected " GOAPI_STORE_FORMS;

    (void)state;
    assert_string_equal(msg + strlen(msg) - strlen(tail), tail);
    assert_string_equal(goapi_redis_url_unknown(unit_pool, "mysql://h"),
                        "unknown scheme 'mysql'; expected " GOAPI_STORE_FORMS);
    /* a scheme longer than any is not shown */
    assert_string_equal(goapi_redis_url_unknown(unit_pool, "abcdefghijklmnopqrstuvwxyzabcdefgh://h"),
                        "it has no scheme; expected " GOAPI_STORE_FORMS);
}

static void test_is(void **state)
{
    (void)state;
    assert_true(goapi_redis_url_is("redis://h"));
    assert_true(goapi_redis_url_is("unix:/x"));
    assert_true(goapi_redis_url_is("redis-sentinel://s/m"));
    assert_false(goapi_redis_url_is("lmdb:/x"));
    assert_false(goapi_redis_url_is("rediss://h"));
    assert_false(goapi_redis_url_is(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_sentinel),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_secrets_never_shown),
        cmocka_unit_test(test_malformed_never_repeat_the_password),
        cmocka_unit_test(test_unknown_lists_the_forms),
        cmocka_unit_test(test_is),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
