/*
 * cli.h - what the hookline command's source files share: the parsed
 * command line, output helpers (human or --json lines, colours only on a
 * terminal and never with NO_COLOR), and opening the worker.
 *
 * Exit codes: 0 success, 1 failure, 2 usage.
 */
#ifndef HOOKLINE_CLI_H
#define HOOKLINE_CLI_H

#include "hookline.h"
#include "hookline/worker.h"

#include <jansson.h>
#include <stdio.h>

#define EXIT_USAGE 2
#define CLI_MAX_OPTS 64
#define CLI_MAX_POS 16

/* An option a command accepts: "--name VALUE" or a flag "--name". */
typedef struct cli_opt_spec {
    const char *name; /* without the dashes */
    int takes_value;
} cli_opt_spec;

typedef struct cli {
    /* global options, accepted by every command */
    const char *db; /* --db / --store: a file, or a postgres:// URL */
    int json;
    uint64_t lease_ms; /* hookline run --lease-ms (PostgreSQL) */
    unsigned int max_connections; /* hookline run --max-connections (0: default) */
    int allow_http;
    const char *ca_file;
    const char *allow_cidrs[64];
    size_t n_allow_cidrs;
    uint16_t allow_ports[64];
    size_t n_allow_ports;
    /* where output goes and how */
    int color;
    int stderr_tty;
    /* the command's own options and positional arguments */
    struct {
        const char *name;
        const char *value; /* NULL for flags */
    } opts[CLI_MAX_OPTS];
    size_t n_opts;
    const char *pos[CLI_MAX_POS];
    size_t n_pos;
} cli;

/* Parse argv (after the command words) against `spec` plus the global
 * options. Returns 0, or prints the problem and returns EXIT_USAGE. */
int cli_parse(cli *c, int argc, char **argv, const cli_opt_spec *spec);
/* The last value of --name, or NULL. */
const char *cli_opt(const cli *c, const char *name);
/* Every value of a repeatable --name, in order; returns how many. */
size_t cli_opts(const cli *c, const char *name, const char **out, size_t cap);
int cli_flag(const cli *c, const char *name);
/* --name as a non-negative integer (dflt when absent); -1 on bad syntax
 * after printing why. */
long long cli_opt_int(const cli *c, const char *name, long long dflt);

/* Report a failed call on stderr ("hookline: what: message (code)"); returns 1. */
int cli_fail(const char *what, const hl_error *err);
/* Report a usage problem on stderr; returns EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a JSON value as one line on stdout and release it. */
void cli_print_json(json_t *value);
/* ANSI colour codes when colour is on, "" otherwise. */
const char *cli_color(const cli *c, const char *code);
/* Unix ms as "2026-11-23T18:04:05.123Z" into buf (32 bytes). */
const char *cli_time(uint64_t ms, char *buf, size_t cap);

/* The outbox file: --db, else $HOOKLINE_DB, else ./hookline.db. */
const char *cli_db_path(const cli *c);
/* 1 when the store is a PostgreSQL URL. */
int cli_is_postgres(const char *store);
/* Open the worker on --db with the global SSRF allowances. */
int cli_open_worker(const cli *c, hl_worker **w, hl_attempt_fn on_attempt, void *user);

/* Commands: each gets argv after its command words; returns an exit code. */
int cmd_secret(cli *c, int argc, char **argv);
int cmd_sign(cli *c, int argc, char **argv);
int cmd_verify(cli *c, int argc, char **argv);
int cmd_endpoint(cli *c, int argc, char **argv);
int cmd_send(cli *c, int argc, char **argv);
int cmd_run(cli *c, int argc, char **argv);
int cmd_status(cli *c, int argc, char **argv);
int cmd_attempts(cli *c, int argc, char **argv);
int cmd_dlq(cli *c, int argc, char **argv);
int cmd_demo(cli *c, int argc, char **argv);
int cmd_migrate(cli *c, int argc, char **argv);

#endif
