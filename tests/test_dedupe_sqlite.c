/* test_dedupe_sqlite.c - the SQLite seen-id store on real files in a
 * temporary directory: the dedupe contract, expiry, persistence across a
 * close and reopen, two handles and two processes on one file, and the
 * errors for bad paths, foreign, corrupt, read-only and full files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"
#include "hookline.h"
#include "hookline/seen_sqlite.h"

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hl_seen_test_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static hl_seen *open_at(const char *name)
{
    hl_seen_sqlite_options o = HL_SEEN_SQLITE_OPTIONS_INIT;
    hl_seen *s = NULL;
    hl_error err = HL_ERROR_INIT;
    o.default_ttl_ms = 1000;
    if (hl_seen_sqlite_open(&s, path_of(name), &o, &err) != HL_OK)
        fail_msg("open %s: %s", name, err.message);
    return s;
}

static int add(hl_seen *s, const char *id, uint64_t now, uint64_t ttl)
{
    int was_new = -1;
    hl_error err = HL_ERROR_INIT;
    if (hl_seen_check_and_add(s, id, strlen(id), now, ttl, &was_new, &err) != HL_OK)
        fail_msg("check_and_add: %s", err.message);
    return was_new;
}

static int has(hl_seen *s, const char *id, uint64_t now)
{
    int present = -1;
    assert_int_equal(hl_seen_contains(s, id, strlen(id), now, &present, NULL), HL_OK);
    return present;
}

static void test_contract_and_expiry(void **state)
{
    hl_seen *s = open_at("contract.db");
    int removed = -1;
    (void)state;
    assert_string_equal(hl_seen_backend_name(s), "sqlite");
    assert_int_equal(add(s, "evt_1", 1000, 0), 1);
    assert_int_equal(add(s, "evt_1", 1999, 0), 0);
    assert_int_equal(has(s, "evt_1", 1999), 1);
    assert_int_equal(has(s, "evt_1", 2000), 0);
    assert_int_equal(add(s, "evt_1", 2000, 0), 1); /* expired: new again */
    assert_int_equal(add(s, "evt_1", 2500, 0), 0);
    assert_int_equal(add(s, "short", 2500, 10), 1);
    assert_int_equal(add(s, "short", 2510, 10), 1);
    assert_int_equal(hl_seen_remove(s, "evt_1", 5, &removed, NULL), HL_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(add(s, "evt_1", 2600, 0), 1);
    assert_int_equal(hl_seen_remove(s, "nope", 4, &removed, NULL), HL_OK);
    assert_int_equal(removed, 0);
    hl_seen_free(s);
}

static void test_binary_ids_at_guard_page(void **state)
{
    hl_seen *s = open_at("binary.db");
    unsigned char src[HL_SEEN_ID_MAX];
    size_t lens[] = {1, 2, 31, HL_SEEN_ID_MAX};
    (void)state;
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)(i * 7); /* includes NUL bytes */
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        guarded g;
        const char *id = guard_copy(&g, src, lens[i]);
        int v = -1;
        assert_int_equal(hl_seen_check_and_add(s, id, lens[i], 0, 0, &v, NULL), HL_OK);
        assert_int_equal(v, 1);
        assert_int_equal(hl_seen_check_and_add(s, id, lens[i], 1, 0, &v, NULL), HL_OK);
        assert_int_equal(v, 0);
        guard_free(&g);
    }
    hl_seen_free(s);
}

static void test_persists_across_reopen(void **state)
{
    hl_seen *s = open_at("persist.db");
    (void)state;
    assert_int_equal(add(s, "batch_1", 100, 0), 1);
    assert_int_equal(add(s, "batch_2", 100, 5000), 1);
    hl_seen_free(s);

    s = open_at("persist.db");
    assert_int_equal(add(s, "batch_1", 200, 0), 0);
    assert_int_equal(has(s, "batch_2", 4000), 1);
    assert_int_equal(add(s, "batch_1", 1100, 0), 1); /* its window ended at 1100 */
    hl_seen_free(s);
}

static void test_two_handles_share_the_file(void **state)
{
    hl_seen *a = open_at("shared.db"), *b = open_at("shared.db");
    int removed;
    (void)state;
    assert_int_equal(add(a, "evt_x", 0, 0), 1);
    assert_int_equal(add(b, "evt_x", 1, 0), 0);
    assert_int_equal(add(b, "evt_y", 1, 0), 1);
    assert_int_equal(add(a, "evt_y", 2, 0), 0);
    assert_int_equal(hl_seen_remove(a, "evt_y", 5, &removed, NULL), HL_OK);
    assert_int_equal(add(b, "evt_y", 3, 0), 1);
    hl_seen_free(a);
    hl_seen_free(b);
}

/* Two processes race on the same ids: each id is "new" exactly once. */
#define RACE_IDS 400
static void test_two_processes_race(void **state)
{
    int fds[2], status, got_child = 0, got_parent = 0;
    pid_t pid;
    (void)state;
    hl_seen_free(open_at("race.db")); /* create the table before the race */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hl_seen *s = open_at("race.db");
        int n = 0;
        char id[32];
        for (int i = 0; i < RACE_IDS; i++) {
            snprintf(id, sizeof id, "id-%d", i);
            n += add(s, id, 10, 0);
        }
        hl_seen_free(s);
        if (write(fds[1], &n, sizeof n) != (ssize_t)sizeof n)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    {
        hl_seen *s = open_at("race.db");
        char id[32];
        for (int i = RACE_IDS - 1; i >= 0; i--) {
            snprintf(id, sizeof id, "id-%d", i);
            got_parent += add(s, id, 10, 0);
        }
        hl_seen_free(s);
    }
    assert_int_equal(read(fds[0], &got_child, sizeof got_child), (ssize_t)sizeof got_child);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(got_child + got_parent, RACE_IDS);
}

static void test_prune(void **state)
{
    hl_seen *s = open_at("prune.db");
    hl_seen_stats st;
    size_t pruned = 0;
    char id[32];
    (void)state;
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "e%d", i);
        assert_int_equal(add(s, id, (uint64_t)i, 50), 1);
    }
    /* Automatic pruning ran every HL_SEEN_SQLITE_PRUNE_EVERY additions. */
    hl_seen_stats_get(s, &st);
    assert_true(st.live < 600);
    assert_int_equal(hl_seen_prune(s, 100000, 0, &pruned, NULL), HL_OK);
    hl_seen_stats_get(s, &st);
    assert_int_equal(st.live, 0);
    assert_int_equal(st.expired, 600);
    hl_seen_free(s);
}

static hl_code open_err(const char *path, hl_error *err)
{
    hl_seen *s = NULL;
    hl_code rc = hl_seen_sqlite_open(&s, path, NULL, err);
    if (rc == HL_OK)
        hl_seen_free(s);
    else
        assert_null(s);
    return rc;
}

static void test_bad_paths(void **state)
{
    hl_error err = HL_ERROR_INIT;
    (void)state;
    assert_int_equal(open_err("/nonexistent-hookline-dir/x/seen.db", &err), HL_E_STORE_IO);
    assert_string_equal(hl_code_name(err.code), "store_io");
    assert_non_null(strstr(err.message, "open"));
    assert_int_equal(open_err(dir, &err), HL_E_STORE_IO); /* a directory */
    assert_int_equal(open_err("", &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(open_err(NULL, &err), HL_E_INVALID_ARGUMENT);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_foreign_and_corrupt_files(void **state)
{
    char junk[8192];
    hl_error err = HL_ERROR_INIT;
    (void)state;
    memset(junk, 'J', sizeof junk);
    write_file(path_of("junk.db"), junk, sizeof junk);
    assert_int_equal(open_err(path_of("junk.db"), &err), HL_E_STORE_CORRUPT);
    assert_string_equal(hl_code_name(err.code), "store_corrupt");

    /* A real store whose pages were overwritten after the header. */
    {
        hl_seen *s = open_at("damaged.db");
        char id[32];
        FILE *f;
        for (int i = 0; i < 2000; i++) {
            snprintf(id, sizeof id, "damaged-%d", i);
            assert_int_equal(add(s, id, 0, 0), 1);
        }
        hl_seen_free(s);
        f = fopen(path_of("damaged.db"), "r+b");
        assert_non_null(f);
        fseek(f, 4096, SEEK_SET);
        fwrite(junk, 1, sizeof junk, f);
        fclose(f);
        s = NULL;
        if (hl_seen_sqlite_open(&s, path_of("damaged.db"), NULL, &err) == HL_OK) {
            int v;
            /* Damage inside the table shows when the pages are read. */
            hl_code rc = HL_OK;
            for (int i = 0; i < 2000 && rc == HL_OK; i++) {
                snprintf(id, sizeof id, "damaged-%d", i);
                rc = hl_seen_check_and_add(s, id, strlen(id), 0, 0, &v, &err);
            }
            assert_int_equal(rc, HL_E_STORE_CORRUPT);
            hl_seen_free(s);
        } else {
            assert_int_equal(err.code, HL_E_STORE_CORRUPT);
        }
    }
}

static void test_foreign_schema(void **state)
{
    sqlite3 *db;
    hl_error err = HL_ERROR_INIT;
    (void)state;
    assert_int_equal(sqlite3_open(path_of("other.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE hl_seen (name TEXT)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(open_err(path_of("other.db"), &err), HL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "another shape"));
}

static void test_read_only_file(void **state)
{
    hl_error err = HL_ERROR_INIT;
    char cmd[192];
    (void)state;
    hl_seen_free(open_at("ro.db"));
    if (geteuid() != 0) {
        assert_int_equal(chmod(path_of("ro.db"), 0444), 0);
    } else {
        /* Root writes through file modes; the immutable attribute stops
         * even root (ext4/xfs; skip where the file system lacks it). */
        snprintf(cmd, sizeof cmd, "chattr +i '%s' 2>/dev/null", path_of("ro.db"));
        if (system(cmd) != 0)
            skip();
    }
    assert_int_equal(open_err(path_of("ro.db"), &err), HL_E_STORE_READONLY);
    assert_string_equal(hl_code_name(err.code), "store_readonly");
    snprintf(cmd, sizeof cmd, "chattr -i '%s' 2>/dev/null", path_of("ro.db"));
    if (geteuid() == 0 && system(cmd) != 0)
        fail_msg("could not clear the immutable attribute of %s", path_of("ro.db"));
    chmod(path_of("ro.db"), 0644);
}

static void test_disk_full(void **state)
{
    hl_seen_sqlite_options o = HL_SEEN_SQLITE_OPTIONS_INIT;
    hl_seen *s = NULL;
    hl_error err = HL_ERROR_INIT;
    char id[HL_SEEN_ID_MAX];
    hl_code rc = HL_OK;
    int v, i, added = 0;
    (void)state;
    o.max_bytes = 64 * 1024;
    assert_int_equal(hl_seen_sqlite_open(&s, path_of("full.db"), &o, &err), HL_OK);
    memset(id, 'f', sizeof id);
    for (i = 0; i < 10000 && rc == HL_OK; i++) {
        snprintf(id, 16, "%08d", i);
        id[8] = 'f';
        rc = hl_seen_check_and_add(s, id, sizeof id, 0, 0, &v, &err);
        added += rc == HL_OK;
    }
    assert_int_equal(rc, HL_E_STORE_NO_SPACE);
    assert_string_equal(hl_code_name(err.code), "store_no_space");
    assert_true(added > 10);
    /* What was marked before the disk filled is still there, and the
     * handle still answers. */
    snprintf(id, 16, "%08d", 0);
    id[8] = 'f';
    assert_int_equal(hl_seen_contains(s, id, sizeof id, 1, &v, NULL), HL_OK);
    assert_int_equal(v, 1);
    hl_seen_free(s);
}

static void test_bad_options(void **state)
{
    hl_seen_sqlite_options o = HL_SEEN_SQLITE_OPTIONS_INIT;
    hl_seen *s = NULL;
    hl_error err = HL_ERROR_INIT;
    (void)state;
    o.version = 7;
    assert_int_equal(hl_seen_sqlite_open(&s, path_of("o.db"), &o, &err), HL_E_INVALID_ARGUMENT);
    o.version = HL_SEEN_SQLITE_OPTIONS_VERSION;
    o.default_ttl_ms = 0;
    assert_int_equal(hl_seen_sqlite_open(&s, path_of("o.db"), &o, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_seen_sqlite_open(NULL, path_of("o.db"), NULL, &err),
                     HL_E_INVALID_ARGUMENT);
    assert_null(s);
}

static void test_busy_when_locked_by_another(void **state)
{
    hl_seen_sqlite_options o = HL_SEEN_SQLITE_OPTIONS_INIT;
    hl_seen *s = NULL;
    hl_error err = HL_ERROR_INIT;
    sqlite3 *db;
    int v;
    (void)state;
    o.busy_timeout_ms = 0;
    assert_int_equal(hl_seen_sqlite_open(&s, path_of("busy.db"), &o, &err), HL_OK);
    assert_int_equal(sqlite3_open(path_of("busy.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(hl_seen_check_and_add(s, "x", 1, 0, 0, &v, &err), HL_E_STORE_BUSY);
    assert_string_equal(hl_code_name(err.code), "store_busy");
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(hl_seen_check_and_add(s, "x", 1, 0, 0, &v, &err), HL_OK);
    assert_int_equal(v, 1);
    sqlite3_close(db);
    hl_seen_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_and_expiry),
        cmocka_unit_test(test_binary_ids_at_guard_page),
        cmocka_unit_test(test_persists_across_reopen),
        cmocka_unit_test(test_two_handles_share_the_file),
        cmocka_unit_test(test_two_processes_race),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_foreign_and_corrupt_files),
        cmocka_unit_test(test_foreign_schema),
        cmocka_unit_test(test_read_only_file),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_busy_when_locked_by_another),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
