/*
 * hookline - the command-line front end of the library.
 *
 * Noun-verb commands, as the stripe and svix CLIs have them. Every command
 * takes --help, --json (one JSON object per line) and the global options;
 * colours only on a terminal and never with NO_COLOR; live progress on
 * stderr only when it is a terminal. Exit codes: 0 ok, 1 failure, 2 usage.
 * The command reads the clock and files; the library never does.
 */
#define _DEFAULT_SOURCE
#include "cli.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *usage;
} command;

static const command COMMANDS[] = {
    {"demo", cmd_demo,
     "hookline demo\n"
     "  Deliver a few hundred signed email events to a local receiver that fails some\n"
     "  requests on purpose, and show each event reaching the application exactly once.\n"},
    {"endpoint", cmd_endpoint,
     "hookline endpoint add ID --url URL [--events a.*,b] [--scheme S] [--secret X]...\n"
     "                         [--header 'Name: value']... [--basic USER:PASS]\n"
     "                         [--timeout-ms N] [--config FILE|-] [--skip-test]\n"
     "hookline endpoint update ID [same options]     (a changed URL is tested again)\n"
     "hookline endpoint list | show ID [--reveal] | remove ID | enable ID | disable ID\n"
     "hookline endpoint test ID [--replay-check]     (--replay-check: is a stale request refused?)\n"
     "hookline endpoint rotate-secret ID [--secret X] [--grace SECONDS]   (default grace 86400)\n"
     "  Registration runs the SSRF check and sends a signed webhook.test that must get a 2xx.\n"},
    {"send", cmd_send,
     "hookline send [FILE]\n"
     "  Enqueue NDJSON events (stdin when no FILE): {\"type\": ..., \"data\": {...},\n"
     "  \"id\"?, \"created_at\"?, \"ordering_key\"?} per line. Bad lines are reported with\n"
     "  their number and skipped; exit 1 if there were any.\n"},
    {"run", cmd_run,
     "hookline run [--metrics-addr 127.0.0.1:9464] [--until-idle] [--duration SECONDS]\n"
     "             [--lease-ms N]   (PostgreSQL: this worker's lease, default 30000)\n"
     "             [--max-connections N]   (attempts in flight at once, default 64)\n"
     "  Deliver until SIGTERM/SIGINT, then finish what is in flight. With --store\n"
     "  postgres://... any number of workers on any hosts share the work.\n"},
    {"migrate", cmd_migrate,
     "hookline migrate --store postgresql://USER:PASS@HOST/DB\n"
     "  Create or upgrade the PostgreSQL schema `hookline` (idempotent). Workers, the\n"
     "  application's INSERTs and every command then share that database.\n"},
    {"status", cmd_status, "hookline status BATCH_ID\n  A batch's state and its attempts.\n"},
    {"attempts", cmd_attempts,
     "hookline attempts [--endpoint ID] [--batch ID] [--since SECONDS] [--limit N]\n"
     "  The attempt log (kept 24 h), newest first.\n"},
    {"dlq", cmd_dlq,
     "hookline dlq list [--endpoint ID] [--limit N] | show BATCH_ID\n"
     "hookline dlq redrive BATCH_ID|--all | purge BATCH_ID|--all\n"
     "  The dead-letter queue. Redrive keeps the batch id, with a fresh attempt budget.\n"},
    {"secret", cmd_secret, "hookline secret generate [--scheme standard|hookline|stripe|github]\n"},
    {"sign", cmd_sign,
     "hookline sign --secret X [--scheme S] [--id ID] [--timestamp T] [--body FILE]\n"
     "  Print the signature headers for a body (stdin by default).\n"},
    {"verify", cmd_verify,
     "hookline verify --secret X... [--scheme S] [--now T] [--tolerance N]\n"
     "                [--header 'name: value']... [--headers FILE] [--body FILE]\n"
     "  Check a saved request. Exit 0 when it verifies, 1 when not.\n"},
};

static const char GLOBAL_HELP[] =
    "global options: --db PATH | --store PATH-OR-postgres://URL (default $HOOKLINE_STORE,\n"
    "                $HOOKLINE_DB or ./hookline.db)  --json\n"
    "                --allow-cidr CIDR --allow-port N --allow-http  (SSRF allowances; the\n"
    "                default refuses internal addresses and ports other than 443)\n"
    "                --ca-file PEM (an extra CA bundle)\n"
    "exit codes: 0 ok, 1 failure, 2 usage\n";

static int help(FILE *out, const command *only)
{
    if (only) {
        fprintf(out, "usage: %s\n%s", only->usage, GLOBAL_HELP);
        return 0;
    }
    fprintf(out, "hookline %s - signed, batched, retried, SSRF-safe webhooks\n\n", hl_version());
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "%s\n", COMMANDS[i].usage);
    fputs(GLOBAL_HELP, out);
    return 0;
}

int main(int argc, char **argv)
{
    cli c;
    int rc;
    memset(&c, 0, sizeof c);
    c.stderr_tty = isatty(STDERR_FILENO);
    c.color = c.stderr_tty && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    if (argc < 2)
        return help(stderr, NULL), EXIT_USAGE;
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        if (argc > 2)
            for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
                if (!strcmp(argv[2], COMMANDS[i].name))
                    return help(stdout, &COMMANDS[i]);
        return help(stdout, NULL);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("hookline %s\n", hl_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) != 0)
            continue;
        for (int a = 2; a < argc; a++)
            if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h"))
                return help(stdout, &COMMANDS[i]);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = COMMANDS[i].run(&c, argc - 2, argv + 2);
        curl_global_cleanup();
        return rc;
    }
    return cli_usage("unknown command '%s'", argv[1]);
}
