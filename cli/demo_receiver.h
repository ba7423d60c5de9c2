/*
 * demo_receiver.h - the receiving application of `hookline demo`: a real
 * HTTP server on 127.0.0.1 (libmicrohttpd) that does what a customer's
 * endpoint should do - verify the signature before parsing, drop batches it
 * has already processed (by batch id), count each event once - and that
 * misbehaves on purpose so the sender's retries show:
 *   - every `fail_every`-th new batch is answered 500 on its first arrival;
 *   - every `slow_every`-th new batch is processed but answered only after
 *     `slow_ms`, longer than the sender's timeout: the sender retries a batch
 *     the receiver already has, and the receiver must drop the duplicate.
 */
#ifndef HOOKLINE_DEMO_RECEIVER_H
#define HOOKLINE_DEMO_RECEIVER_H

#include "hookline.h"

typedef struct demo_receiver demo_receiver;

typedef struct demo_receiver_options {
    const char *secret;   /* the endpoint's secret text */
    hl_scheme scheme;
    unsigned fail_every;  /* 0: never fail */
    unsigned slow_every;  /* 0: never slow */
    unsigned slow_ms;
} demo_receiver_options;

typedef struct demo_stats {
    unsigned long requests;          /* every POST */
    unsigned long rejected;          /* signature failures (401) */
    unsigned long failed_on_purpose; /* 500s */
    unsigned long slow_on_purpose;   /* answered after the sender gave up */
    unsigned long duplicate_batches; /* batch ids seen before: dropped, 200 */
    unsigned long batches;           /* new batches processed */
    unsigned long events;            /* events handed to the application */
    unsigned long duplicate_events;  /* event ids seen twice inside new batches (must be 0) */
} demo_stats;

/* Start on 127.0.0.1, an ephemeral port (written to *port). 0 or -1. */
int demo_receiver_start(demo_receiver **out, const demo_receiver_options *opts, uint16_t *port);
void demo_receiver_stats(demo_receiver *r, demo_stats *out);
void demo_receiver_stop(demo_receiver *r);

#endif
